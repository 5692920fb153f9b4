// Package app is everything the registry's ports may ask of it: commands that change state
// and queries that read it, each checking who may do it.
package app

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/registry/domain"
)

// Repository is where the registry keeps regions, CoPs and charters. Every method that
// changes state owns its transaction and writes the events of the change to the outbox in
// it, so state and events never disagree.
type Repository interface {
	// AddRegion stores a region and publishes region_created; an id in use is a 409.
	AddRegion(ctx context.Context, reg domain.Region) error
	Regions(ctx context.Context) ([]domain.Region, error)
	RegionExists(ctx context.Context, id string) (bool, error)
	// AddCoP stores a proposed CoP with its event.
	AddCoP(ctx context.Context, c *domain.CoP, ev events.Event) error
	// CoP loads one CoP; an unknown id is a 404.
	CoP(ctx context.Context, id string) (*domain.CoP, error)
	// Update changes one CoP under a row lock and publishes the event fn returns (none
	// when nil).
	Update(ctx context.Context, id string, fn func(*domain.CoP) (events.Event, error)) (*domain.CoP, error)
	// PublishCharter stores the next charter version (ch gets its CoP id, version and
	// publication time) and moves the CoP to it.
	PublishCharter(ctx context.Context, id string, ch *domain.Charter) (*domain.CoP, error)
	// Charter loads version of a CoP's charter; version 0 means the current one.
	Charter(ctx context.Context, copID string, version int) (*domain.Charter, error)
	// Charters lists every version of a CoP's charter, the newest first.
	Charters(ctx context.Context, copID string) ([]domain.Charter, error)
	// ListCoPs returns one page of CoPs and the cursor of the next, empty on the last.
	ListCoPs(ctx context.Context, f Filter) ([]*domain.CoP, string, error)
	// ForgetApplicant scrubs an erased person's applicant id and contact details.
	ForgetApplicant(ctx context.Context, person string) error
}

// Filter selects CoPs for a listing. Empty fields do not filter.
type Filter struct {
	Region   string
	Statuses []domain.Status
	Stage    string
	Topic    string
	// Applicant selects the CoPs one person applied for.
	Applicant string
	Limit     int
	Cursor    string
}

// Application is the registry's use cases.
type Application struct {
	repo Repository
}

// New returns the application over repo.
func New(repo Repository) *Application { return &Application{repo: repo} }

// NewRegion is the input of CreateRegion.
type NewRegion struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CreateRegion adds a region (national only).
func (a *Application) CreateRegion(ctx context.Context, c httpx.Claims, in NewRegion) (domain.Region, error) {
	if err := httpx.Authorize(c, c.IsNational(), "create regions"); err != nil {
		return domain.Region{}, err
	}
	var v apperr.Validator
	v.Check(config.ValidToken(in.ID), "id", "must be 1-64 lower-case letters, digits, '-' or '_'")
	v.Check(strings.TrimSpace(in.Name) != "" && len(in.Name) <= 200, "name", "is required (at most 200 characters)")
	if err := v.Err(); err != nil {
		return domain.Region{}, err
	}
	reg := domain.Region{ID: in.ID, Name: strings.TrimSpace(in.Name)}
	return reg, a.repo.AddRegion(ctx, reg)
}

// Regions lists regions to any signed-in caller.
func (a *Application) Regions(ctx context.Context, c httpx.Claims) ([]domain.Region, error) {
	if err := httpx.Authorize(c, c.Signed(), "list regions"); err != nil {
		return nil, err
	}
	return a.repo.Regions(ctx)
}

// NewCoP is the input of ProposeCoP.
type NewCoP struct {
	Name              string         `json:"name"`
	Region            string         `json:"region"`
	Scope             string         `json:"scope"`
	Purpose           string         `json:"purpose"`
	Topics            []string       `json:"topics"`
	HostOrganisations []string       `json:"host_organisations"`
	Meeting           domain.Meeting `json:"meeting"`
}

func (in NewCoP) validate() error {
	var v apperr.Validator
	in.check(&v)
	return v.Err()
}

func (in NewCoP) check(v *apperr.Validator) {
	v.Check(strings.TrimSpace(in.Name) != "" && len(in.Name) <= 200, "name", "is required (at most 200 characters)")
	v.Check(in.Region != "", "region", "is required")
	v.Check(slices.Contains(domain.Scopes, in.Scope), "scope", "must be local, regional or national")
	v.Check(strings.TrimSpace(in.Purpose) != "" && len(in.Purpose) <= 4000, "purpose", "is required (at most 4000 characters)")
	v.Check(len(in.Topics) <= 50, "topics", "has more than 50 topics")
	for _, t := range in.Topics {
		v.Check(strings.TrimSpace(t) != "" && len(t) <= 100, "topics", "must be non-empty names of at most 100 characters")
	}
	for _, o := range in.HostOrganisations {
		v.Check(strings.TrimSpace(o) != "" && len(o) <= 200, "host_organisations", "must be non-empty names of at most 200 characters")
	}
	v.Check(strings.TrimSpace(in.Meeting.Frequency) != "", "meeting.frequency", "is required (e.g. monthly)")
	v.Check(in.Meeting.DurationMinutes > 0 && in.Meeting.DurationMinutes <= 24*60, "meeting.duration_minutes", "must be between 1 and 1440")
}

// ProposeCoP starts a CoP's onboarding (the hub of its region, or national).
func (a *Application) ProposeCoP(ctx context.Context, c httpx.Claims, in NewCoP) (*domain.CoP, error) {
	if err := httpx.Authorize(c, c.IsNational() || c.IsHubOf(in.Region), "propose a CoP in region "+in.Region); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	ok, err := a.repo.RegionExists(ctx, in.Region)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Unprocessable("region", "region "+in.Region+" does not exist")
	}
	cop, ev := domain.Propose(strings.ToLower(events.NewID()), domain.CoP{
		Region: in.Region, Name: strings.TrimSpace(in.Name), Scope: in.Scope, Purpose: in.Purpose,
		Topics: normalise(in.Topics), HostOrganisations: in.HostOrganisations, Meeting: in.Meeting,
	})
	if cop.Meeting.Format == nil {
		cop.Meeting.Format = []string{}
	}
	return cop, a.repo.AddCoP(ctx, cop, ev)
}

// normalise lower-cases and de-duplicates topics so that filters match regardless of case.
func normalise(topics []string) []string {
	out := []string{}
	for _, t := range topics {
		t = strings.ToLower(strings.TrimSpace(t))
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Decision is the input of Decide.
type Decision struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// Decide approves or declines a proposed CoP, or asks its applicant for changes (the hub of
// its region, or national).
func (a *Application) Decide(ctx context.Context, c httpx.Claims, id string, in Decision) (*domain.CoP, error) {
	var v apperr.Validator
	v.Check(in.Decision == "approve" || in.Decision == "decline" || in.Decision == "request_changes", "decision", "must be approve, decline or request_changes")
	v.Check(in.Decision != "decline" || strings.TrimSpace(in.Reason) != "", "reason", "is required when declining")
	v.Check(in.Decision != "request_changes" || strings.TrimSpace(in.Reason) != "", "reason", "is required when asking for changes: say what to change")
	v.Check(len(in.Reason) <= 2000, "reason", "is at most 2000 characters")
	if err := a.authorizeRegion(ctx, c, id, "decide on this CoP"); err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return a.update(ctx, id, func(cop *domain.CoP) (events.Event, error) {
		if in.Decision == "request_changes" {
			return cop.RequestChanges(strings.TrimSpace(in.Reason))
		}
		return cop.Decide(in.Decision == "approve", in.Reason)
	})
}

// CharterInput is a new charter version.
type CharterInput struct {
	Aims             string `json:"aims"`
	TermsOfReference string `json:"terms_of_reference"`
	CodeOfPractice   string `json:"code_of_practice"`
}

// PublishCharter stores the next charter version (the CoP's coordinator or working group,
// its hub, national): the working group writes the charter with the coordinator.
func (a *Application) PublishCharter(ctx context.Context, c httpx.Claims, id string, in CharterInput) (*domain.Charter, error) {
	if !slices.Contains(c.Grants, httpx.Grant{Role: httpx.RoleWorkingGroup, CoP: id}) {
		if err := a.authorizeCoP(ctx, c, id, "publish this CoP's charter"); err != nil {
			return nil, err
		}
	}
	var v apperr.Validator
	for field, text := range map[string]string{"aims": in.Aims, "terms_of_reference": in.TermsOfReference, "code_of_practice": in.CodeOfPractice} {
		v.Check(strings.TrimSpace(text) != "" && len(text) <= 50_000, field, "is required (at most 50000 characters)")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ch := &domain.Charter{Aims: in.Aims, TermsOfReference: in.TermsOfReference, CodeOfPractice: in.CodeOfPractice}
	_, err := a.repo.PublishCharter(ctx, id, ch)
	return ch, conflict(err)
}

// Charter returns version (0: current) of a CoP's charter to anyone who may see the CoP.
func (a *Application) Charter(ctx context.Context, c httpx.Claims, id string, version int) (*domain.Charter, error) {
	if _, err := a.CoP(ctx, c, id); err != nil {
		return nil, err
	}
	return a.repo.Charter(ctx, id, version)
}

// Charters returns every version of a CoP's charter, the newest first, to anyone who may
// see the CoP: members compare what changed before they accept a new Code of Practice.
func (a *Application) Charters(ctx context.Context, c httpx.Claims, id string) ([]domain.Charter, error) {
	if _, err := a.CoP(ctx, c, id); err != nil {
		return nil, err
	}
	return a.repo.Charters(ctx, id)
}

// ChangeStage records the CoP's self-assessed stage (its coordinator, its hub, national).
func (a *Application) ChangeStage(ctx context.Context, c httpx.Claims, id, stage string) (*domain.CoP, error) {
	if err := a.authorizeCoP(ctx, c, id, "change this CoP's stage"); err != nil {
		return nil, err
	}
	if !domain.ValidStage(stage) {
		return nil, apperr.Invalid("stage", "must be potential, coalescing, maturing, stewardship or transformation")
	}
	return a.update(ctx, id, func(cop *domain.CoP) (events.Event, error) { return cop.ChangeStage(domain.Stage(stage)) })
}

// Retire closes a CoP for good (its hub, national).
func (a *Application) Retire(ctx context.Context, c httpx.Claims, id, reason string) (*domain.CoP, error) {
	if err := a.authorizeRegion(ctx, c, id, "retire this CoP"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" || len(reason) > 2000 {
		return nil, apperr.Invalid("reason", "is required (at most 2000 characters)")
	}
	return a.update(ctx, id, func(cop *domain.CoP) (events.Event, error) { return cop.Retire(reason) })
}

// CoP returns one CoP. National and the CoP's hub and coordinator see it in any status;
// other signed-in people see it only once approved, as a directory entry to join.
func (a *Application) CoP(ctx context.Context, c httpx.Claims, id string) (*domain.CoP, error) {
	if err := httpx.Authorize(c, c.Signed(), "see CoPs"); err != nil {
		return nil, err
	}
	cop, err := a.repo.CoP(ctx, id)
	if err != nil {
		return nil, err
	}
	// A hub officer sees their own region's CoPs; another region's only through a grant
	// of their own in that CoP (a hub officer of vic who is a member of a wa CoP).
	if c.Holds(httpx.RoleHub) && !seesAll(c, cop) && !c.IsMemberOf(cop.ID) {
		return nil, apperr.Forbidden("your hub grants (%s) do not cover CoPs of region %s", strings.Join(c.Scopes(httpx.RoleHub), ", "), cop.Region)
	}
	if !seesAll(c, cop) && !cop.Running() {
		return nil, apperr.NotFound("CoP %q does not exist", id)
	}
	return private(c, cop), nil
}

// seesAll: national, the CoP's hub and coordinator, and the person who applied for it see
// it in any status, with its contact.
func seesAll(c httpx.Claims, cop *domain.CoP) bool {
	return manages(c, cop) || c.IsPerson(cop.ApplicantID)
}

// manages: national, the CoP's hub and its coordinator act on a CoP; its applicant only
// edits the application.
func manages(c httpx.Claims, cop *domain.CoP) bool {
	return c.IsNational() || c.IsHubOf(cop.Region) || c.IsCoordinatorOf(cop.ID)
}

// private hides who applied and their contact details from those who see a CoP only as a
// directory entry.
func private(c httpx.Claims, cop *domain.CoP) *domain.CoP {
	if !seesAll(c, cop) {
		cop.ApplicantID, cop.Contact = "", domain.Contact{}
	}
	return cop
}

// ListQuery is the input of ListCoPs.
type ListQuery struct {
	Region, Status, Stage, Topic, Cursor string
	Limit                                int
}

// ListCoPs pages through CoPs. A hub lists its own region (asking for another is 403);
// coordinators and members see the directory of running CoPs.
func (a *Application) ListCoPs(ctx context.Context, c httpx.Claims, q ListQuery) ([]*domain.CoP, string, error) {
	if err := httpx.Authorize(c, c.Signed(), "list CoPs"); err != nil {
		return nil, "", err
	}
	var v apperr.Validator
	v.Check(q.Status == "" || slices.Contains(domain.Statuses, domain.Status(q.Status)), "status", "is not a CoP status")
	v.Check(q.Stage == "" || domain.ValidStage(q.Stage), "stage", "is not a Wenger stage")
	v.Check(q.Limit >= 0 && q.Limit <= 500, "limit", "must be between 1 and 500")
	if err := v.Err(); err != nil {
		return nil, "", err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	f := Filter{Region: q.Region, Stage: q.Stage, Topic: strings.ToLower(q.Topic), Limit: q.Limit, Cursor: q.Cursor}
	if q.Status != "" {
		f.Statuses = []domain.Status{domain.Status(q.Status)}
	}
	switch {
	case c.IsNational():
	// A hub officer lists their own region in any status; one who also takes part in CoPs
	// (coordinator, member) and asks for another region gets its directory like anyone.
	case c.Holds(httpx.RoleHub) && (q.Region == "" || c.IsHubOf(q.Region) || len(c.Grants) == len(c.Scopes(httpx.RoleHub))):
		region, err := c.Narrow(httpx.RoleHub, "region", q.Region, "list CoPs")
		if err != nil {
			return nil, "", err
		}
		f.Region = region
	default:
		running := []domain.Status{domain.StatusApproved}
		if len(f.Statuses) == 1 && !slices.Contains(running, f.Statuses[0]) {
			return []*domain.CoP{}, "", nil
		}
		if len(f.Statuses) == 0 {
			f.Statuses = running
		}
	}
	cops, next, err := a.repo.ListCoPs(ctx, f)
	for _, cop := range cops {
		private(c, cop)
	}
	return cops, next, err
}

// authorizeRegion lets national and the hub of the CoP's region through.
func (a *Application) authorizeRegion(ctx context.Context, c httpx.Claims, id, what string) error {
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub), what); err != nil {
		return err
	}
	cop, err := a.repo.CoP(ctx, id)
	if err != nil {
		return err
	}
	return httpx.Authorize(c, c.IsNational() || c.IsHubOf(cop.Region), what)
}

// authorizeCoP also lets the CoP's own coordinator through.
func (a *Application) authorizeCoP(ctx context.Context, c httpx.Claims, id, what string) error {
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.IsCoordinatorOf(id), what); err != nil {
		return err
	}
	cop, err := a.repo.CoP(ctx, id)
	if err != nil {
		return err
	}
	return httpx.Authorize(c, manages(c, cop), what)
}

func (a *Application) update(ctx context.Context, id string, fn func(*domain.CoP) (events.Event, error)) (*domain.CoP, error) {
	cop, err := a.repo.Update(ctx, id, fn)
	return cop, conflict(err)
}

// conflict turns a refused transition into a 409 that says why.
func conflict(err error) error {
	if errors.Is(err, domain.ErrTransition) {
		return apperr.Conflict("%s", err.Error())
	}
	return err
}
