// Package app is everything the knowledge service does: commands that change the map and
// queries that read it, each checking who may do it, and one On<Event> method per consumed
// event (events.go). The rules live here and in domain; the Repository it declares only
// loads, stores and publishes.
package app

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/knowledge/domain"
)

// Application is the knowledge service's use cases.
type Application struct {
	repo Repository
	// node and tier place this node in the federation: which overlaps it reports.
	node, tier string
	rule       domain.OverlapRule
}

// New returns the application of node (at tier) over repo, detecting overlaps with rule.
func New(repo Repository, node, tier string, rule domain.OverlapRule) *Application {
	return &Application{repo: repo, node: node, tier: tier, rule: rule}
}

func newID() string { return strings.ToLower(events.NewID()) }

// checkTopics validates a list of topic terms under field.
func checkTopics(v *apperr.Validator, field string, topics []string, required bool) {
	v.Check(!required || len(topics) > 0, field, "needs at least one topic")
	v.Check(len(topics) <= 20, field, "has more than 20 topics")
	for _, t := range topics {
		n := domain.Normalise(t)
		v.Check(n != "" && len(n) <= 100, field, "must be non-empty names of at most 100 characters")
	}
}

func text(v *apperr.Validator, field, s string, max int, required bool) {
	s = strings.TrimSpace(s)
	if required {
		v.Check(s != "" && len(s) <= max, field, "is required (at most "+itoa(max)+" characters)")
		return
	}
	v.Check(len(s) <= max, field, "is at most "+itoa(max)+" characters")
}

func itoa(n int) string { return strconv.Itoa(n) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// canonical names terms by their topics (see domain.Taxonomy).
func (a *Application) canonical(ctx context.Context, terms []string) ([]string, error) {
	tax, err := a.repo.Taxonomy(ctx, terms)
	if err != nil {
		return nil, err
	}
	return tax.Canonical(terms), nil
}

// canonicalTopic names a filter's topic through the taxonomy ("" stays "": no filter).
func (a *Application) canonicalTopic(ctx context.Context, topic string) (string, error) {
	topics, err := a.canonical(ctx, []string{topic})
	if err != nil || len(topics) == 0 {
		return "", err
	}
	return topics[0], nil
}

// canonicalise names a project's topics and population groups through the taxonomy; two
// groups of a place that name one topic become one community.
func (a *Application) canonicalise(ctx context.Context, p *domain.Project) error {
	groups := make([]string, len(p.Communities))
	for i, c := range p.Communities {
		groups[i] = c.Group
	}
	tax, err := a.repo.Taxonomy(ctx, p.Topics, groups)
	if err != nil {
		return err
	}
	p.Topics = tax.Canonical(p.Topics)
	var cs []domain.Community
	for _, c := range p.Communities {
		c.Group = tax.One(c.Group)
		if !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	p.Communities = cs
	return nil
}

// NewTopic is the input of AddTopic.
type NewTopic struct {
	Name     string   `json:"name"`
	Synonyms []string `json:"synonyms"`
}

// AddTopic adds a topic to the shared taxonomy (national only).
func (a *Application) AddTopic(ctx context.Context, c httpx.Claims, in NewTopic) (Topic, error) {
	if err := httpx.Authorize(c, c.IsNational(), "add topics"); err != nil {
		return Topic{}, err
	}
	var v apperr.Validator
	name := domain.Normalise(in.Name)
	v.Check(name != "" && len(name) <= 100, "name", "is required (at most 100 characters)")
	checkTopics(&v, "synonyms", in.Synonyms, false)
	synonyms := []string{}
	for _, s := range in.Synonyms {
		if s = domain.Normalise(s); s != name && !slices.Contains(synonyms, s) {
			synonyms = append(synonyms, s)
		}
	}
	if err := v.Err(); err != nil {
		return Topic{}, err
	}
	t := Topic{ID: newID(), Name: name, Synonyms: synonyms}
	return t, a.repo.InTx(ctx, func(ctx context.Context) error {
		// What was stored under a synonym is stored under the name now, and meets what is
		// stored from now on: the gaps of every region with demand on the topic, and the
		// overlaps of every project renamed, are judged again (a pair is still reported once).
		projects, regions, err := a.repo.AddTopic(ctx, &t)
		if err != nil {
			return err
		}
		for _, region := range regions {
			if err := a.repo.RefreshGaps(ctx, region, []string{t.Name}); err != nil {
				return err
			}
		}
		for _, id := range projects {
			if err := a.detectOverlaps(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Topics lists the taxonomy to any signed-in caller.
func (a *Application) Topics(ctx context.Context, c httpx.Claims) ([]Topic, error) {
	if err := httpx.Authorize(c, c.Signed(), "list topics"); err != nil {
		return nil, err
	}
	return a.repo.Topics(ctx)
}

// NewProject is the input of MapProject.
type NewProject struct {
	CoPID        string             `json:"cop_id"`
	Title        string             `json:"title"`
	Organisation string             `json:"organisation"`
	Topics       []string           `json:"topics"`
	Communities  []domain.Community `json:"communities"`
	StartsOn     string             `json:"starts_on"`
	EndsOn       string             `json:"ends_on"`
	Methods      []string           `json:"methods"`
	// Contact is how CoPs whose work overlaps may reach the team behind the project.
	Contact string `json:"contact"`
}

// MapProject puts a CoP's project on the map: its coordinator, its hub, national, and its
// members, who map their own work (see authorizeWork).
func (a *Application) MapProject(ctx context.Context, c httpx.Claims, in NewProject) (*Project, error) {
	var v apperr.Validator
	v.Check(in.CoPID != "" && len(in.CoPID) <= 64, "cop_id", "is required")
	text(&v, "title", in.Title, 200, true)
	text(&v, "organisation", in.Organisation, 200, false)
	checkTopics(&v, "topics", in.Topics, true)
	v.Check(len(in.Communities) > 0 && len(in.Communities) <= 20, "communities", "needs 1 to 20 communities")
	for i, cm := range in.Communities {
		v.Check(domain.ValidPlace(cm.Place), "communities["+itoa(i)+"].place", `must be a place code such as "au.vic.geelong"`)
		g := domain.Normalise(cm.Group)
		v.Check(g != "" && len(g) <= 200, "communities["+itoa(i)+"].group", "is required (at most 200 characters)")
	}
	from, errFrom := time.Parse(time.DateOnly, in.StartsOn)
	to, errTo := time.Parse(time.DateOnly, in.EndsOn)
	v.Check(errFrom == nil, "starts_on", "must be a date (YYYY-MM-DD)")
	v.Check(errTo == nil, "ends_on", "must be a date (YYYY-MM-DD)")
	v.Check(errFrom != nil || errTo != nil || !to.Before(from), "ends_on", "must not be before starts_on")
	v.Check(len(in.Methods) <= 20, "methods", "has more than 20 methods")
	for _, m := range in.Methods {
		v.Check(strings.TrimSpace(m) != "" && len(m) <= 100, "methods", "must be non-empty names of at most 100 characters")
	}
	text(&v, "contact", in.Contact, 300, false)
	region, err := a.authorizeWork(ctx, c, &v, in.CoPID, "cop_id", "map this CoP's projects")
	if err != nil {
		return nil, err
	}
	p := &Project{
		Project: domain.Project{ID: newID(), CoPID: in.CoPID, Region: region, Organisation: strings.TrimSpace(in.Organisation),
			Topics: in.Topics, StartsOn: from, EndsOn: to},
		Title: strings.TrimSpace(in.Title), Methods: nonNil(in.Methods),
		MappedBy: c.Subject, Contact: strings.TrimSpace(in.Contact),
	}
	for _, cm := range in.Communities {
		p.Communities = append(p.Communities, domain.Community{Place: cm.Place, Group: domain.Normalise(cm.Group)})
	}
	// Overlaps are found by OnProjectMapped, the same way for projects of this node and
	// of child nodes.
	return p, a.repo.InTx(ctx, func(ctx context.Context) error {
		if err := a.canonicalise(ctx, &p.Project); err != nil {
			return err
		}
		return a.repo.AddProject(ctx, p)
	})
}

// ProjectQuery is the input of Projects.
type ProjectQuery struct {
	CoP, Region, Topic string
	// Limit is the page size; Cursor the next_cursor of the previous page ("" for the first).
	Limit  int
	Cursor string
}

// Projects lists the map. National sees all; a hub its region; a coordinator its CoP; a
// member the projects they mapped in their CoP.
//
// The list is paged, newest window first: next is the cursor of the page after this one,
// "" on the last page.
func (a *Application) Projects(ctx context.Context, c httpx.Claims, q ProjectQuery) (ps []*Project, next string, err error) {
	f := ProjectFilter{CoP: q.CoP, Region: q.Region, Limit: q.Limit + 1}
	if f.After, err = DecodeProjectCursor(q.Cursor); err != nil {
		return nil, "", err
	}
	if f.MappedBy, err = a.scopeWork(ctx, c, &f.Region, &f.CoP, "see the project map"); err != nil {
		return nil, "", err
	}
	if f.Topic, err = a.canonicalTopic(ctx, q.Topic); err != nil {
		return nil, "", err
	}
	if ps, err = a.repo.Projects(ctx, f); err != nil {
		return nil, "", err
	}
	// One row more than the page says whether another page follows.
	if len(ps) > q.Limit {
		ps = ps[:q.Limit]
		last := ps[len(ps)-1]
		next = ProjectCursor{StartsOn: last.StartsOn, ID: last.ID}.Encode()
	}
	return ps, next, nil
}

// scope narrows a listing filtered by region and CoP to what the caller may see: national
// anything, a hub its own region, a coordinator its own CoP. Asking for more is a 403.
func (a *Application) scope(ctx context.Context, c httpx.Claims, region, cop *string, what string) error {
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub) || c.Holds(httpx.RoleCoordinator), what); err != nil {
		return err
	}
	switch {
	case c.IsNational():
	case *cop != "" && c.IsCoordinatorOf(*cop):
	case *cop != "" && c.Holds(httpx.RoleHub):
		r, err := a.repo.CoPRegion(ctx, *cop, "cop")
		if err != nil {
			return err
		}
		if !c.IsHubOf(r) {
			return apperr.Forbidden("your hub grants do not let you %s of a CoP in %s", what, r)
		}
		if *region != "" && *region != r {
			return apperr.Forbidden("CoP %s is not in region %s", *cop, *region)
		}
	case c.Holds(httpx.RoleHub):
		r, err := c.Narrow(httpx.RoleHub, "region", *region, what)
		if err != nil {
			return err
		}
		*region = r
	default:
		id, err := c.Narrow(httpx.RoleCoordinator, "cop", *cop, what)
		if err != nil {
			return err
		}
		*cop = id
	}
	return nil
}

// OverlapQuery is the input of Overlaps.
type OverlapQuery struct {
	Region, CoP, Kind, Status string
}

var statuses = []string{"acknowledged", "coordinated", "dismissed"}

// Overlaps lists overlaps the caller may see: national all, a hub those touching its
// region, a coordinator those touching its CoP, a member those touching their own projects.
func (a *Application) Overlaps(ctx context.Context, c httpx.Claims, q OverlapQuery) ([]Overlap, error) {
	f := OverlapFilter{Region: q.Region, CoP: q.CoP, Kind: q.Kind, Status: q.Status, Limit: 500}
	var err error
	if f.MappedBy, err = a.scopeWork(ctx, c, &f.Region, &f.CoP, "see overlaps"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(q.Kind == "" || slices.Contains(domain.Kinds, domain.Kind(q.Kind)), "kind", "must be fatigue or duplication")
	v.Check(q.Status == "" || q.Status == "open" || slices.Contains(statuses, q.Status), "status", "must be open, acknowledged, coordinated or dismissed")
	if err := v.Err(); err != nil {
		return nil, err
	}
	return a.repo.Overlaps(ctx, f)
}

// Resolution is the input of ResolveOverlap.
type Resolution struct {
	Status string `json:"status"`
	Note   string `json:"note"`
}

// ResolveOverlap records what was done about an overlap (national, the hub of a region it
// touches, the coordinator of a CoP it touches, a member who mapped one of its projects).
func (a *Application) ResolveOverlap(ctx context.Context, c httpx.Claims, id string, in Resolution) (Overlap, error) {
	const what = "act on this overlap"
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return Overlap{}, err
	}
	var v apperr.Validator
	v.Check(slices.Contains(statuses, in.Status), "status", "must be acknowledged, coordinated or dismissed")
	text(&v, "note", in.Note, 2000, false)
	return a.repo.ResolveOverlap(ctx, id, in.Status, strings.TrimSpace(in.Note), func(o Overlap) error {
		ok, err := a.maySeeOverlap(ctx, c, o)
		if err != nil {
			return err
		}
		if err := httpx.Authorize(c, ok, what); err != nil {
			return err
		}
		return v.Err()
	})
}

// NewExpertise is the input of DeclareExpertise. CoPID, optional, is the CoP the person
// declares from; it places them for routing (same CoP, then region) and is required for
// cop and region visibility.
type NewExpertise struct {
	PersonID   string   `json:"person_id"`
	CoPID      string   `json:"cop_id"`
	Topics     []string `json:"topics"`
	Level      string   `json:"level"`
	Visibility string   `json:"visibility"`
	// Name, Organisation and Description, optional, are the card shown with the expertise to
	// the people whose requests reach the expert (and to national, hubs and coordinators
	// overseeing those requests).
	Name         string `json:"name"`
	Organisation string `json:"organisation"`
	Description  string `json:"description"`
}

// Levels of expertise a person may declare.
var Levels = []string{"practitioner", "experienced", "expert"}

// DeclareExpertise records expertise: the person themselves, from a CoP they belong to (see
// authorizeIn), or without a CoP when they are a member somewhere.
func (a *Application) DeclareExpertise(ctx context.Context, c httpx.Claims, in NewExpertise) (*Expertise, error) {
	if err := httpx.Authorize(c, in.PersonID != "" && c.IsPerson(in.PersonID), "declare expertise for someone else"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(len(in.PersonID) <= 64, "person_id", "is at most 64 characters")
	checkTopics(&v, "topics", in.Topics, true)
	v.Check(slices.Contains(Levels, in.Level), "level", "must be practitioner, experienced or expert")
	v.Check(slices.Contains(domain.Visibilities, domain.Visibility(in.Visibility)), "visibility", "must be cop, region or national")
	v.Check(in.CoPID != "" || in.Visibility == string(domain.VisibleNational), "cop_id", "is required unless visibility is national")
	text(&v, "name", in.Name, 200, false)
	text(&v, "organisation", in.Organisation, 200, false)
	text(&v, "description", in.Description, 500, false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	e := &Expertise{ID: newID(), PersonID: in.PersonID, CoPID: in.CoPID, Topics: in.Topics, Level: in.Level, Visibility: in.Visibility,
		Name: strings.TrimSpace(in.Name), Organisation: strings.TrimSpace(in.Organisation), Description: strings.TrimSpace(in.Description)}
	if in.CoPID != "" {
		region, err := a.repo.CoPRegion(ctx, in.CoPID, "cop_id")
		if err != nil {
			return nil, err
		}
		if err := a.authorizeIn(ctx, c, in.PersonID, in.CoPID, region, "declare expertise in CoP "+in.CoPID); err != nil {
			return nil, err
		}
		e.Region = region
	} else {
		// Without a CoP, the person is placed by their memberships (supply in every region
		// they are a member in): someone who belongs nowhere has nowhere to be placed.
		ok := c.IsNational() || c.Holds(httpx.RoleHub) || c.Holds(httpx.RoleCoordinator)
		if !ok {
			var err error
			if ok, err = a.repo.IsMemberAnywhere(ctx, in.PersonID); err != nil {
				return nil, err
			}
		}
		if err := httpx.Authorize(c, ok, "declare expertise without being a member of any CoP"); err != nil {
			return nil, err
		}
	}
	return e, a.repo.InTx(ctx, func(ctx context.Context) error {
		var err error
		if e.Topics, err = a.canonical(ctx, e.Topics); err != nil {
			return err
		}
		if err := a.repo.DeclareExpertise(ctx, e); err != nil {
			return err
		}
		// Declared without a CoP, the expertise is supply wherever the person is a member;
		// the gaps it fills there are retired.
		regions := []string{e.Region}
		if e.Region == "" {
			if regions, err = a.repo.MemberRegions(ctx, e.PersonID); err != nil {
				return err
			}
		}
		for _, region := range regions {
			if err := a.repo.RefreshGaps(ctx, region, e.Topics); err != nil {
				return err
			}
		}
		return nil
	})
}

// authorizeIn lets a person act in a CoP (declare expertise from it, raise a request in it)
// when they belong to it: a current member (as membership's events say), its coordinator,
// the hub of its region, or national.
func (a *Application) authorizeIn(ctx context.Context, c httpx.Claims, person, cop, region, what string) error {
	ok := c.IsNational() || c.IsHubOf(region) || c.IsCoordinatorOf(cop)
	if !ok {
		var err error
		if ok, err = a.repo.IsMember(ctx, person, cop); err != nil {
			return err
		}
	}
	return httpx.Authorize(c, ok, what+": only its members, its coordinator, its region's hub and national may")
}

// NewRequest is the input of RaiseRequest.
type NewRequest struct {
	CoPID    string   `json:"cop_id"`
	PersonID string   `json:"person_id"`
	Topics   []string `json:"topics"`
	Question string   `json:"question"`
}

// RaiseRequest asks for information (the person themselves, in a CoP they belong to) and
// returns the matched experts, nearest first: experts visible only in a CoP are shown only
// to those who belong to it.
func (a *Application) RaiseRequest(ctx context.Context, c httpx.Claims, in NewRequest) (*Request, error) {
	if err := httpx.Authorize(c, in.PersonID != "" && c.IsPerson(in.PersonID), "raise a request for someone else"); err != nil {
		return nil, err
	}
	var v apperr.Validator
	v.Check(in.CoPID != "", "cop_id", "is required")
	v.Check(len(in.PersonID) <= 64, "person_id", "is at most 64 characters")
	checkTopics(&v, "topics", in.Topics, true)
	text(&v, "question", in.Question, 4000, true)
	if err := v.Err(); err != nil {
		return nil, err
	}
	region, err := a.repo.CoPRegion(ctx, in.CoPID, "cop_id")
	if err != nil {
		return nil, err
	}
	if err := a.authorizeIn(ctx, c, in.PersonID, in.CoPID, region, "raise a request in CoP "+in.CoPID); err != nil {
		return nil, err
	}
	q := &Request{ID: newID(), CoPID: in.CoPID, Region: region, PersonID: in.PersonID, Topics: in.Topics,
		Question: strings.TrimSpace(in.Question), Status: "open"}
	return q, a.repo.InTx(ctx, func(ctx context.Context) error {
		var err error
		if q.Topics, err = a.canonical(ctx, q.Topics); err != nil {
			return err
		}
		experts, err := a.repo.Experts(ctx, q.Topics, q.Region)
		if err != nil {
			return err
		}
		q.Experts = []Matched{}
		for _, m := range domain.MatchExperts(q.PersonID, q.CoPID, q.Region, q.Topics, experts) {
			q.Experts = append(q.Experts, Matched{PersonID: m.PersonID, ExpertiseID: m.ExpertiseID,
				Proximity: string(m.Proximity), Level: m.Level, Topics: m.Topics})
		}
		if err := a.repo.RaiseRequest(ctx, q); err != nil {
			return err
		}
		// The new demand may open a gap.
		return a.repo.RefreshGaps(ctx, q.Region, q.Topics)
	})
}

// NewAnswer is the input of AnswerRequest.
type NewAnswer struct {
	Body string `json:"body"`
}

// AnswerRequest answers an open request (an expert it was routed to, its CoP's
// coordinator, its region's hub, national).
func (a *Application) AnswerRequest(ctx context.Context, c httpx.Claims, id string, in NewAnswer) (*Answer, error) {
	const what = "answer this request"
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return nil, err
	}
	var v apperr.Validator
	text(&v, "body", in.Body, 8000, true)
	ans := &Answer{ID: newID(), RequestID: id, PersonID: c.Subject, Body: strings.TrimSpace(in.Body)}
	return ans, a.repo.InTx(ctx, func(ctx context.Context) error {
		r, err := a.repo.LockRequest(ctx, id, c.Subject)
		if err != nil {
			return err
		}
		if err := httpx.Authorize(c, r.Matched || c.IsNational() || c.IsHubOf(r.Region) || c.IsCoordinatorOf(r.CoPID), what); err != nil {
			return err
		}
		if err := v.Err(); err != nil {
			return err
		}
		if r.Status != "open" {
			return apperr.Conflict("request %s is closed", id)
		}
		return a.repo.AnswerRequest(ctx, ans)
	})
}

// CloseRequest closes a request (the person who raised it, its CoP's coordinator, its
// region's hub, national).
func (a *Application) CloseRequest(ctx context.Context, c httpx.Claims, id string) error {
	const what = "close this request"
	if err := httpx.Authorize(c, c.Signed(), what); err != nil {
		return err
	}
	return a.repo.InTx(ctx, func(ctx context.Context) error {
		r, err := a.repo.LockRequest(ctx, id, c.Subject)
		if err != nil {
			return err
		}
		if err := httpx.Authorize(c, (r.PersonID != "" && c.IsPerson(r.PersonID)) || c.IsNational() ||
			c.IsHubOf(r.Region) || c.IsCoordinatorOf(r.CoPID), what); err != nil {
			return err
		}
		if r.Status != "open" {
			return apperr.Conflict("request %s is already closed", id)
		}
		if err := a.repo.CloseRequest(ctx, id); err != nil {
			return err
		}
		// Its topics stop counting as demand.
		return a.repo.RefreshGaps(ctx, r.Region, r.Topics)
	})
}

// NewAsset is the input of ShareAsset.
type NewAsset struct {
	CoPID   string   `json:"cop_id"`
	Title   string   `json:"title"`
	URL     string   `json:"url"`
	Topics  []string `json:"topics"`
	Licence string   `json:"licence"`
	// Visibility is who sees it: cop, region or national (the default, as before).
	Visibility string `json:"visibility"`
}

// ShareAsset shares a CoP's reusable link (its members, its coordinator, its hub, national).
func (a *Application) ShareAsset(ctx context.Context, c httpx.Claims, in NewAsset) (*Asset, error) {
	return a.share(ctx, c, in, nil)
}

// share stores a link (file nil) or an uploaded file as a CoP's asset.
func (a *Application) share(ctx context.Context, c httpx.Claims, in NewAsset, file *AssetFile) (*Asset, error) {
	var v apperr.Validator
	v.Check(in.CoPID != "", "cop_id", "is required")
	text(&v, "title", in.Title, 200, true)
	if file == nil {
		u, err := url.Parse(in.URL)
		v.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(in.URL) <= 2000, "url", "must be an http(s) URL")
	}
	checkTopics(&v, "topics", in.Topics, true)
	text(&v, "licence", in.Licence, 100, false)
	if in.Visibility == "" {
		in.Visibility = string(domain.VisibleNational)
	}
	v.Check(slices.Contains(domain.Visibilities, domain.Visibility(in.Visibility)), "visibility", "must be cop, region or national")
	region, err := a.authorizeWork(ctx, c, &v, in.CoPID, "cop_id", "share this CoP's assets")
	if err != nil {
		return nil, err
	}
	as := &Asset{ID: newID(), CoPID: in.CoPID, Region: region, Title: strings.TrimSpace(in.Title), URL: in.URL,
		Topics: in.Topics, Licence: strings.TrimSpace(in.Licence), Visibility: in.Visibility, SharedBy: c.Subject, File: file}
	if file != nil {
		as.URL = ""
	}
	return as, a.repo.InTx(ctx, func(ctx context.Context) error {
		var err error
		if as.Topics, err = a.canonical(ctx, as.Topics); err != nil {
			return err
		}
		if err := a.repo.ShareAsset(ctx, as); err != nil {
			return err
		}
		// The asset retires the gaps it fills.
		return a.repo.RefreshGaps(ctx, as.Region, as.Topics)
	})
}

// Assets lists the shared assets the caller may see (their visibility, see Viewer): reuse
// across regions is the point of national ones.
func (a *Application) Assets(ctx context.Context, c httpx.Claims, q AssetQuery) ([]Asset, error) {
	if err := httpx.Authorize(c, c.Signed(), "list assets"); err != nil {
		return nil, err
	}
	topic, err := a.canonicalTopic(ctx, q.Topic)
	if err != nil {
		return nil, err
	}
	return a.repo.Assets(ctx, AssetFilter{Topic: topic, Region: q.Region, CoP: q.CoP, Viewer: viewer(c), Limit: 500})
}

// Gaps lists knowledge gaps: national for any region (or all), a hub for its own.
func (a *Application) Gaps(ctx context.Context, c httpx.Claims, region string) ([]Gap, error) {
	if err := httpx.Authorize(c, c.IsNational() || c.Holds(httpx.RoleHub), "see knowledge gaps"); err != nil {
		return nil, err
	}
	if !c.IsNational() {
		r, err := c.Narrow(httpx.RoleHub, "region", region, "see the knowledge gaps")
		if err != nil {
			return nil, err
		}
		region = r
	}
	return a.repo.Gaps(ctx, region)
}
