package app

// Applications: a group applies to become a CoP in a region (any signed-in person may),
// the region's hub asks for changes or decides (Decide), and the applicant edits and
// resubmits while changes are asked. The applicant is the proposal's proposer: they see it
// in any status, with its contact, and nobody else edits it.

import (
	"context"
	"net/mail"
	"strings"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/registry/domain"
)

// ApplicationInput is a group's application: the proposal and who to talk to about it. An
// edit sends the same fields; its region, when given, must be the application's own.
type ApplicationInput struct {
	NewCoP
	Contact domain.Contact `json:"contact"`
}

func (in ApplicationInput) validate() error {
	var v apperr.Validator
	in.NewCoP.check(&v)
	v.Check(len(in.HostOrganisations) <= 20, "host_organisations", "has more than 20 organisations")
	v.Check(len(in.Meeting.Frequency) <= 100, "meeting.frequency", "is at most 100 characters")
	v.Check(len(in.Meeting.When) <= 200, "meeting.when", "is at most 200 characters")
	v.Check(len(in.Meeting.Format) <= 10, "meeting.format", "has more than 10 parts")
	for _, p := range in.Meeting.Format {
		v.Check(strings.TrimSpace(p) != "" && len(p) <= 100, "meeting.format", "parts must be non-empty names of at most 100 characters")
	}
	v.Check(strings.TrimSpace(in.Contact.Name) != "" && len(in.Contact.Name) <= 200, "contact.name", "is required (at most 200 characters)")
	addr, err := mail.ParseAddress(in.Contact.Email)
	v.Check(err == nil && addr.Address == strings.TrimSpace(in.Contact.Email) && len(in.Contact.Email) <= 254,
		"contact.email", "must be one e-mail address, like name@example.org")
	v.Check(len(in.Contact.Role) <= 200, "contact.role", "is at most 200 characters")
	return v.Err()
}

// tidy trims what people type and normalises topics.
func (in ApplicationInput) tidy() domain.Edit {
	trim := func(list []string) []string {
		out := make([]string, 0, len(list))
		for _, s := range list {
			out = append(out, strings.TrimSpace(s))
		}
		return out
	}
	m := in.Meeting
	m.Frequency, m.When, m.Format = strings.TrimSpace(m.Frequency), strings.TrimSpace(m.When), trim(m.Format)
	return domain.Edit{Name: strings.TrimSpace(in.Name), Scope: in.Scope, Purpose: strings.TrimSpace(in.Purpose),
		Topics: normalise(in.Topics), HostOrganisations: trim(in.HostOrganisations), Meeting: m,
		Contact: domain.Contact{Name: strings.TrimSpace(in.Contact.Name), Email: strings.TrimSpace(in.Contact.Email),
			Role: strings.TrimSpace(in.Contact.Role)}}
}

// Apply records a group's application to become a CoP in a region: any signed-in person
// may apply, and becomes its applicant.
func (a *Application) Apply(ctx context.Context, c httpx.Claims, in ApplicationInput) (*domain.CoP, error) {
	if err := httpx.Authorize(c, c.Signed(), "apply to become a CoP"); err != nil {
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
	e := in.tidy()
	cop, ev := domain.Propose(strings.ToLower(events.NewID()), domain.CoP{
		Region: in.Region, Name: e.Name, Scope: e.Scope, Purpose: e.Purpose, Topics: e.Topics,
		HostOrganisations: e.HostOrganisations, Meeting: e.Meeting, Contact: e.Contact, ApplicantID: c.Subject,
	})
	return cop, a.repo.AddCoP(ctx, cop, ev)
}

// MyApplications lists the CoPs the caller applied for, oldest first.
func (a *Application) MyApplications(ctx context.Context, c httpx.Claims) ([]*domain.CoP, error) {
	if err := httpx.Authorize(c, c.Signed(), "list your applications"); err != nil {
		return nil, err
	}
	cops, _, err := a.repo.ListCoPs(ctx, Filter{Applicant: c.Subject, Limit: maxApplications})
	return cops, err
}

// maxApplications bounds one person's listing; nobody applies for hundreds of CoPs.
const maxApplications = 200

// Resubmit applies the applicant's edit to their application and puts it back in the hub's
// queue. Only the applicant may, and only while the hub asks for changes (else 409).
func (a *Application) Resubmit(ctx context.Context, c httpx.Claims, id string, in ApplicationInput) (*domain.CoP, error) {
	if err := httpx.Authorize(c, c.Signed(), "edit an application"); err != nil {
		return nil, err
	}
	cop, err := a.repo.CoP(ctx, id)
	if err != nil {
		return nil, err
	}
	// Those who may not see the application learn nothing of it; those who may (its hub)
	// are told that only the applicant edits it.
	if !seesAll(c, cop) {
		return nil, apperr.NotFound("CoP %q does not exist", id)
	}
	if !c.IsPerson(cop.ApplicantID) {
		return nil, apperr.Forbidden("only the person who applied for %s may edit the application", cop.Name)
	}
	if in.Region == "" {
		in.Region = cop.Region
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if in.Region != cop.Region {
		return nil, apperr.Unprocessable("region", "cannot change: the hub of region "+cop.Region+" is deciding on this application")
	}
	e := in.tidy()
	return a.update(ctx, id, func(cop *domain.CoP) (events.Event, error) { return cop.Resubmit(e) })
}

// OnPersonErased scrubs an erased person from the applications they made: their id and the
// contact details go, the CoP stays.
func (a *Application) OnPersonErased(ctx context.Context, ev events.PersonErased, _ events.Envelope) error {
	return a.repo.ForgetApplicant(ctx, ev.PersonID)
}
