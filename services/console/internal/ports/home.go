package ports

// The CoP home as its members and those who run it read it, and the working group's
// governance pages: a removal by vote (carried by 75% of the working group's members, not
// of votes cast, as the WA CoP's Terms of Reference say) and a coordinator appointed by
// consent (appointed unless a working-group member objects within the window). Every
// section is read from its service with the person's own token; a section whose service
// refuses or does not run here says so, and the rest of the page still shows.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

func (w *Web) homeRoutes() []Route {
	return []Route{
		{"GET", "/cops/{id}/removals/new", w.newRemovalPage},
		{"POST", "/cops/{id}/removals/new", w.proposeRemoval},
		{"GET", "/removals/{id}", w.removalPage},
		{"POST", "/removals/{id}", w.voteOnRemoval},
		{"GET", "/cops/{id}/appointments/new", w.newAppointmentPage},
		{"POST", "/cops/{id}/appointments/new", w.proposeAppointment},
		{"GET", "/appointments/{id}", w.appointmentPage},
		{"POST", "/appointments/{id}", w.objectToAppointment},
	}
}

// inWorkingGroup reports whether the caller holds the working-group grant of CoP id.
func inWorkingGroup(c httpx.Claims, id string) bool {
	return id != "" && slices.Contains(c.Grants, httpx.Grant{Role: httpx.RoleWorkingGroup, CoP: id})
}

// copHomeAccess says whether c may see CoP id's home: those who run it (copAccess) and
// its members and working group, who see the member view.
func (w *Web) copHomeAccess(r *http.Request, c caller, id string) (runs bool, err error) {
	if c.claims.IsMemberOf(id) || inWorkingGroup(c.claims, id) {
		return w.copAccess(r, c, id) == nil, nil
	}
	return true, w.copAccess(r, c, id)
}

// zoned is a time shown in the CoP's zone, as people read it.
type zoned struct {
	loc *time.Location
}

// zoneOf loads an IANA zone; an unknown or empty one is UTC, named as such on the page.
func zoneOf(name string) zoned {
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		loc = time.UTC
	}
	return zoned{loc: loc}
}

// when says "Tue 10 Mar 2026, 10:00–11:30 AEDT" (the end's date too when it is another day).
func (z zoned) when(start, end time.Time) string {
	s, e := start.In(z.loc), end.In(z.loc)
	out := s.Format("Mon 2 Jan 2006, 15:04")
	switch {
	case end.IsZero():
		return out + " " + s.Format("MST")
	case s.YearDay() != e.YearDay() || s.Year() != e.Year():
		return out + " – " + e.Format("Mon 2 Jan 2006, 15:04 MST")
	}
	return out + "–" + e.Format("15:04 MST")
}

// at says "Tue 17 Mar 2026, 10:00 AEDT".
func (z zoned) at(t time.Time) string { return z.when(t, time.Time{}) }

// nextSession is one upcoming session as a page shows it.
type nextSession struct {
	ID, CoPID, CoP, Topic, When string
	Number                      int
	starts                      time.Time
}

// upcoming reads a CoP's next sessions from scheduling, in its zone; the zone is that of
// its sessions (scheduling keeps every session in the CoP's zone).
func (w *Web) upcoming(r *http.Request, c caller, copID string, limit int) ([]nextSession, string, error) {
	if !w.served("/v1/cops/" + url.PathEscape(copID) + "/sessions") {
		return nil, "", errNotServed
	}
	var out struct {
		Sessions []schedSession `json:"sessions"`
	}
	q := url.Values{"from": {time.Now().UTC().Format(time.RFC3339)}}
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(copID)+"/sessions?"+q.Encode(), nil, &out)
	if err != nil {
		return nil, "", err
	}
	if st != http.StatusOK {
		return nil, "", fmt.Errorf("%s", sectionRefusal(st, detail))
	}
	var next []nextSession
	zone := ""
	for _, s := range out.Sessions {
		if zone == "" {
			zone = s.Timezone
		}
		if s.Status != "scheduled" || len(next) >= limit {
			continue
		}
		next = append(next, nextSession{ID: s.ID, CoPID: copID, Number: s.Number, Topic: s.Topic,
			When: zoneOf(s.Timezone).when(s.StartsAt, s.EndsAt), starts: s.StartsAt})
	}
	return next, zone, nil
}

// sectionRefusal words a service's refusal for a page's section.
func sectionRefusal(status int, detail string) string {
	switch status {
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return "not available on this node"
	case http.StatusForbidden:
		return "not shown to you: " + detail
	}
	return detail
}

// sectionNote says why a section shows nothing from its service.
func sectionNote(what string, err error) string {
	if err == nil {
		return ""
	}
	return "The " + what + " could not be read: " + err.Error() + "."
}

// served reports whether a GET of path is served: a configured API URL is trusted to serve
// everything; the all-in-one serves what its mux routes (a node may run only some services).
func (w *Web) served(path string) bool {
	if w.apiURL != "" {
		return true
	}
	if w.mux == nil {
		return false
	}
	u, err := url.Parse(path)
	if err != nil {
		return false
	}
	_, pattern := w.mux.Handler(&http.Request{Method: http.MethodGet, URL: u})
	return pattern != ""
}

// errNotServed is a section whose service does not run on this node.
var errNotServed = errors.New("not available on this node")

// homeList reads a list from a service: its items, or why not.
func homeList[T any](w *Web, r *http.Request, c caller, path, key string) ([]T, error) {
	if !w.served(path) {
		return nil, errNotServed
	}
	var raw map[string]json.RawMessage
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, path, nil, &raw)
	if err != nil {
		w.log.WarnContext(r.Context(), "read a CoP home section", "path", path, "error", err)
		return nil, errors.New("the service did not answer")
	}
	if st != http.StatusOK {
		return nil, errors.New(sectionRefusal(st, detail))
	}
	var out []T
	if err := json.Unmarshal(raw[key], &out); err != nil {
		return nil, fmt.Errorf("the answer was not understood")
	}
	return out, nil
}

// copHome is what the CoP home shows beyond the projection's figures.
type copHome struct {
	// Runs: national, the region's hub or the coordinator (exports, results, the deck
	// builder). Manage: they or the working group (governance actions).
	Runs, Manage, WorkingGroup bool
	Purpose, PurposeNote       string
	Zone                       string
	Next                       []nextSession
	NextNote                   string
	OpenPolls                  []fbPoll
	PollsNote                  string
	Projects                   int
	ProjectsNote               string
	Overlaps                   int
	OverlapsNote               string
	Resources                  []homeAsset
	ResourcesNote              string
	Removals                   []removalSummary
	RemovalsNote               string
	Appointments               []appointmentView
	AppointmentsNote           string
}

// homeAsset is a resource of the CoP's library.
type homeAsset struct {
	ID    string `json:"id"`
	CoPID string `json:"cop_id"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// removalSummary is one removal in the CoP's list.
type removalSummary struct {
	ID         string    `json:"id"`
	PersonName string    `json:"person_name"`
	Status     string    `json:"status"`
	OpenedAt   time.Time `json:"opened_at"`
}

// loadCoPHome reads every section of the CoP home; none fails the page.
func (w *Web) loadCoPHome(r *http.Request, c caller, d *projection.CoPDetail, runs bool) *copHome {
	id := url.PathEscape(d.ID)
	h := &copHome{Runs: runs, WorkingGroup: inWorkingGroup(c.claims, d.ID)}
	h.Manage = runs || h.WorkingGroup
	var reg struct {
		Purpose string `json:"purpose"`
	}
	if !w.registryServed() {
		h.PurposeNote = "The purpose is kept by the registry, which does not run on this node."
	} else if st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+id, nil, &reg); err != nil || st != http.StatusOK {
		h.PurposeNote = "The purpose could not be read from the registry" + map[bool]string{true: ".", false: ": " + sectionRefusal(st, detail) + "."}[err != nil]
	}
	h.Purpose = reg.Purpose
	var err error
	h.Next, h.Zone, err = w.upcoming(r, c, d.ID, 3)
	h.NextNote = sectionNote("schedule", err)
	polls, err := homeList[fbPoll](w, r, c, "/v1/cops/"+id+"/polls", "polls")
	h.PollsNote = sectionNote("polls", err)
	for _, p := range polls {
		if p.Status == "open" && p.Audience == "members" {
			h.OpenPolls = append(h.OpenPolls, p)
		}
	}
	if h.Manage {
		projects, err := homeList[json.RawMessage](w, r, c, "/v1/projects?cop="+url.QueryEscape(d.ID), "projects")
		h.Projects, h.ProjectsNote = len(projects), sectionNote("projects", err)
		overlaps, err := homeList[json.RawMessage](w, r, c, "/v1/overlaps?cop="+url.QueryEscape(d.ID)+"&status=open", "overlaps")
		h.Overlaps, h.OverlapsNote = len(overlaps), sectionNote("overlaps", err)
		h.Removals, err = homeList[removalSummary](w, r, c, "/v1/cops/"+id+"/removals", "removals")
		h.RemovalsNote = sectionNote("removal votes", err)
	}
	assets, err := homeList[homeAsset](w, r, c, "/v1/assets", "assets")
	h.ResourcesNote = sectionNote("resources", err)
	for _, a := range assets {
		if a.CoPID == d.ID && len(h.Resources) < 5 {
			h.Resources = append(h.Resources, a)
		}
	}
	h.Appointments, err = homeList[appointmentView](w, r, c, "/v1/cops/"+id+"/coordinator-appointments", "appointments")
	h.AppointmentsNote = sectionNote("coordinator appointments", err)
	return h
}

// member is one entry of a CoP's roster as membership answers it.
type member struct {
	PersonID string   `json:"person_id"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
}

// elector is one working-group member counted by a removal.
type elector struct {
	PersonID string `json:"person_id"`
	Name     string `json:"name"`
	Voted    bool   `json:"voted"`
	Support  *bool  `json:"support"`
}

// removalView is a removal as membership answers it.
type removalView struct {
	ID               string     `json:"id"`
	CoPID            string     `json:"cop_id"`
	PersonID         string     `json:"person_id"`
	PersonName       string     `json:"person_name"`
	ProposedBy       string     `json:"proposed_by"`
	ProposedByName   string     `json:"proposed_by_name"`
	Reason           string     `json:"reason"`
	Status           string     `json:"status"`
	WorkingGroupSize int        `json:"working_group_size"`
	VotesNeeded      int        `json:"votes_needed"`
	SupportingVotes  int        `json:"supporting_votes"`
	OpenedAt         time.Time  `json:"opened_at"`
	ClosedAt         *time.Time `json:"closed_at"`
	Electorate       []elector  `json:"electorate"`
}

// appointmentView is a coordinator appointment as membership answers it.
type appointmentView struct {
	ID            string     `json:"id"`
	CoPID         string     `json:"cop_id"`
	PersonID      string     `json:"person_id"`
	PersonName    string     `json:"person_name"`
	Status        string     `json:"status"`
	OpenedAt      time.Time  `json:"opened_at"`
	ConsentEndsAt time.Time  `json:"consent_ends_at"`
	TermEndsAt    *time.Time `json:"term_ends_at"`
	Objections    []struct {
		PersonID   string    `json:"person_id"`
		Name       string    `json:"name"`
		Reason     string    `json:"reason"`
		ObjectedAt time.Time `json:"objected_at"`
	} `json:"objections"`
}

// governancePageData is what the removal and appointment pages show.
type governancePageData struct {
	pageData
	CoPID, CoPName string
	Members        []member
	Form           personForm
	Fields         map[string]string
	Removal        *removalView
	Appointment    *appointmentView
	// Voter is the caller's place in the removal's electorate (nil when not an elector).
	Voter *elector
	// Subject says the caller is the member the removal is about.
	Subject bool
	// Outcome and Window say in words where it stands and until when.
	Outcome, Window string
	// CanObject: the caller is in the working group and the window is open.
	CanObject bool
}

var governanceNotices = map[string]string{
	"proposed":  "The removal is proposed. The working group's members can vote on this page; send them its link.",
	"voted":     "Your vote is recorded.",
	"appointed": "The consent window is open. The working group's members can object on this page until it ends.",
	"objected":  "Your objection is recorded: the appointment lapsed.",
}

// membershipError turns a service's refusal into a page's error with the status it gave.
func membershipError(st int, detail string, err error) error {
	if err != nil {
		return err
	}
	switch st {
	case http.StatusNotFound:
		return apperr.NotFound("%s", detail)
	case http.StatusForbidden:
		return apperr.Forbidden("%s", detail)
	case http.StatusUnauthorized:
		return apperr.Unauthenticated(detail)
	}
	return fmt.Errorf("membership answered %d: %s", st, detail)
}

// governanceRoster reads the CoP's members (its working group and those who run it may).
func (w *Web) governanceRoster(r *http.Request, c caller, copID string) ([]member, error) {
	var out struct {
		Members []member `json:"members"`
	}
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(copID)+"/members", nil, &out)
	if err != nil || st != http.StatusOK {
		if st == http.StatusForbidden {
			return nil, apperr.Forbidden("only the CoP's working group and those who run it choose from its roster")
		}
		return nil, membershipError(st, detail, err)
	}
	slices.SortFunc(out.Members, func(a, b member) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out.Members, nil
}

// governanceForm loads what the "propose" pages show: the CoP's name and its roster
// (without the caller, who can neither remove nor appoint themselves here).
func (w *Web) governanceForm(r *http.Request, c caller, copID, title string) (governancePageData, error) {
	d := governancePageData{pageData: pageData{Title: title, Caller: c.claims}, CoPID: copID, Fields: map[string]string{}}
	if err := checkID("id", copID); err != nil {
		return d, err
	}
	d.CoPName = w.copName(r, copID)
	ms, err := w.governanceRoster(r, c, copID)
	if err != nil {
		return d, err
	}
	for _, m := range ms {
		if m.PersonID != c.claims.Subject {
			d.Members = append(d.Members, m)
		}
	}
	return d, nil
}

func (w *Web) newRemovalPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	d, err := w.governanceForm(r, c, r.PathValue("id"), "Propose removing a member")
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	w.pages.render(rw, r, http.StatusOK, "removal-new", d)
}

// fieldsOf lists a refusal's fields by name for the page.
func fieldsOf(err error, into map[string]string) {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		for _, f := range ae.Fields {
			into[f.Field] = f.Message
		}
	}
}

func (w *Web) proposeRemoval(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to propose a removal")
	if !ok {
		return
	}
	copID := r.PathValue("id")
	d, err := w.governanceForm(r, c, copID, "Propose removing a member")
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	f, err := parseRemovalForm(r.PostForm)
	d.Form = f
	d.Form.PersonID = r.PostForm.Get("person_id")
	if err != nil {
		fieldsOf(err, d.Fields)
		d.Error = "The proposal was not sent: see the fields marked below."
		w.pages.render(rw, r, http.StatusBadRequest, "removal-new", d)
		return
	}
	body, _ := json.Marshal(map[string]string{"person_id": f.PersonID, "reason": f.Reason})
	var out removalView
	st, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/cops/"+url.PathEscape(copID)+"/removals", body, &out)
	if err != nil {
		w.log.ErrorContext(r.Context(), "propose a removal", "error", err)
		d.Error = "Membership could not be reached; nothing was proposed. Send it again in a moment."
		w.pages.render(rw, r, http.StatusBadGateway, "removal-new", d)
		return
	}
	if st >= 300 {
		d.Error = "The proposal was refused: " + detail
		w.pages.render(rw, r, st, "removal-new", d)
		return
	}
	http.Redirect(rw, r, "/removals/"+url.PathEscape(out.ID)+"?notice=proposed", http.StatusSeeOther)
}

// loadRemoval reads a removal and says where it stands for the caller.
func (w *Web) loadRemoval(r *http.Request, c caller, id string) (governancePageData, error) {
	d := governancePageData{pageData: pageData{Caller: c.claims}, Fields: map[string]string{}}
	if err := checkID("id", id); err != nil {
		return d, err
	}
	var rm removalView
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/removals/"+url.PathEscape(id), nil, &rm)
	if err != nil || st != http.StatusOK {
		if st == http.StatusForbidden {
			return d, apperr.Forbidden("only the working group that decides this removal, and those who run its CoP, see it")
		}
		return d, membershipError(st, detail, err)
	}
	d.Removal, d.CoPID, d.CoPName = &rm, rm.CoPID, w.copName(r, rm.CoPID)
	name := rm.PersonName
	if name == "" {
		name = "a former member"
	}
	d.Title = "Removal of " + name
	d.Subject = c.claims.IsPerson(rm.PersonID)
	for i, e := range rm.Electorate {
		if c.claims.IsPerson(e.PersonID) && !d.Subject {
			d.Voter = &rm.Electorate[i]
		}
	}
	switch rm.Status {
	case "carried":
		d.Outcome = fmt.Sprintf("Carried: %d of the %d working-group members voted for removal (%d were needed). %s is no longer a member.",
			rm.SupportingVotes, rm.WorkingGroupSize, rm.VotesNeeded, name)
	case "rejected":
		d.Outcome = fmt.Sprintf("Not carried: %d voted for removal, and the votes still to come could not reach the %d needed. %s stays a member.",
			rm.SupportingVotes, rm.VotesNeeded, name)
	default:
		d.Outcome = fmt.Sprintf("Open: %d of the %d votes needed so far. It carries when %d of the %d working-group members vote for it; not voting counts as not agreeing.",
			rm.SupportingVotes, rm.VotesNeeded, rm.VotesNeeded, rm.WorkingGroupSize)
	}
	return d, nil
}

func (w *Web) removalPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	d, err := w.loadRemoval(r, c, r.PathValue("id"))
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	d.Notice = governanceNotices[r.URL.Query().Get("notice")]
	w.pages.render(rw, r, http.StatusOK, "removal", d)
}

func (w *Web) voteOnRemoval(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to vote")
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, err := w.loadRemoval(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	support, err := parseVoteForm(r.PostForm)
	if err != nil {
		fieldsOf(err, d.Fields)
		d.Error = "Your vote was not recorded: choose to remove the member or to keep them."
		w.pages.render(rw, r, http.StatusBadRequest, "removal", d)
		return
	}
	body, _ := json.Marshal(map[string]any{"voter_id": c.claims.Subject, "support": support})
	st, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/removals/"+url.PathEscape(id)+"/votes", body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "vote on a removal", "error", err)
		d.Error = "Membership could not be reached; your vote was not recorded. Vote again in a moment."
		w.pages.render(rw, r, http.StatusBadGateway, "removal", d)
		return
	}
	if st >= 300 {
		d.Error = "Your vote was not recorded: " + detail
		w.pages.render(rw, r, st, "removal", d)
		return
	}
	http.Redirect(rw, r, "/removals/"+url.PathEscape(id)+"?notice=voted", http.StatusSeeOther)
}

func (w *Web) newAppointmentPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	d, err := w.governanceForm(r, c, r.PathValue("id"), "Propose a coordinator")
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	w.pages.render(rw, r, http.StatusOK, "appointment-new", d)
}

func (w *Web) proposeAppointment(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to propose a coordinator")
	if !ok {
		return
	}
	copID := r.PathValue("id")
	d, err := w.governanceForm(r, c, copID, "Propose a coordinator")
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	f, err := parseAppointmentForm(r.PostForm)
	d.Form.PersonID = r.PostForm.Get("person_id")
	if err != nil {
		fieldsOf(err, d.Fields)
		d.Error = "The proposal was not sent: choose the member to coordinate."
		w.pages.render(rw, r, http.StatusBadRequest, "appointment-new", d)
		return
	}
	body, _ := json.Marshal(map[string]string{"person_id": f.PersonID})
	var out appointmentView
	st, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/cops/"+url.PathEscape(copID)+"/coordinator-appointments", body, &out)
	if err != nil {
		w.log.ErrorContext(r.Context(), "propose a coordinator", "error", err)
		d.Error = "Membership could not be reached; nothing was proposed. Send it again in a moment."
		w.pages.render(rw, r, http.StatusBadGateway, "appointment-new", d)
		return
	}
	if st >= 300 {
		d.Error = "The proposal was refused: " + detail
		w.pages.render(rw, r, st, "appointment-new", d)
		return
	}
	http.Redirect(rw, r, "/appointments/"+url.PathEscape(out.ID)+"?notice=appointed", http.StatusSeeOther)
}

// loadAppointment reads an appointment and says where it stands, in the CoP's zone.
func (w *Web) loadAppointment(r *http.Request, c caller, id string) (governancePageData, error) {
	d := governancePageData{pageData: pageData{Caller: c.claims}, Fields: map[string]string{}}
	if err := checkID("id", id); err != nil {
		return d, err
	}
	var ap appointmentView
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/coordinator-appointments/"+url.PathEscape(id), nil, &ap)
	if err != nil || st != http.StatusOK {
		if st == http.StatusForbidden {
			return d, apperr.Forbidden("this appointment is for another CoP's members")
		}
		return d, membershipError(st, detail, err)
	}
	d.Appointment, d.CoPID, d.CoPName = &ap, ap.CoPID, w.copName(r, ap.CoPID)
	name := ap.PersonName
	if name == "" {
		name = "a former member"
	}
	d.Title = "Coordinator appointment of " + name
	_, zone, _ := w.upcoming(r, c, ap.CoPID, 0)
	z := zoneOf(zone)
	switch ap.Status {
	case "appointed":
		d.Outcome = name + " was appointed coordinator by consent: nobody objected within the window."
		if ap.TermEndsAt != nil {
			d.Outcome += " The term ends " + z.at(*ap.TermEndsAt) + "."
		}
	case "lapsed":
		d.Outcome = "Lapsed: a working-group member objected (consent means nobody objects), or " + name + " left the CoP. Talk it through and propose again."
	default:
		d.Outcome = name + " becomes coordinator for a year unless a working-group member objects before the window ends."
		d.CanObject = inWorkingGroup(c.claims, ap.CoPID)
	}
	d.Window = z.at(ap.OpenedAt) + " until " + z.at(ap.ConsentEndsAt)
	return d, nil
}

func (w *Web) appointmentPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	d, err := w.loadAppointment(r, c, r.PathValue("id"))
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	d.Notice = governanceNotices[r.URL.Query().Get("notice")]
	w.pages.render(rw, r, http.StatusOK, "appointment", d)
}

func (w *Web) objectToAppointment(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to object")
	if !ok {
		return
	}
	id := r.PathValue("id")
	d, err := w.loadAppointment(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.CSRF = httpx.CSRFToken(rw, r)
	reason, err := parseObjectionForm(r.PostForm)
	d.Form.Reason = reason
	if err != nil {
		fieldsOf(err, d.Fields)
		d.Error = "Your objection was not recorded: say why you object."
		w.pages.render(rw, r, http.StatusBadRequest, "appointment", d)
		return
	}
	body, _ := json.Marshal(map[string]string{"person_id": c.claims.Subject, "reason": reason})
	st, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/coordinator-appointments/"+url.PathEscape(id)+"/objections", body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "object to an appointment", "error", err)
		d.Error = "Membership could not be reached; your objection was not recorded. Send it again in a moment."
		w.pages.render(rw, r, http.StatusBadGateway, "appointment", d)
		return
	}
	if st >= 300 {
		d.Error = "Your objection was not recorded: " + detail
		w.pages.render(rw, r, st, "appointment", d)
		return
	}
	http.Redirect(rw, r, "/appointments/"+url.PathEscape(id)+"?notice=objected", http.StatusSeeOther)
}

// count words a number of things: "1 member", "3 members".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
