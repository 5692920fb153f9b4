package ports

// Applications: a group applies to become a CoP (/apply), follows its application and, when
// the region's hub asks for changes, edits and resubmits it (/applications/{id}). The pages
// read and write the registry with the applicant's own token; the registry decides who may
// do what, and the console only carries the forms. The hub's side is the region page's
// queue (region.html), which reads the whole proposals from the registry the same way.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// proposal is a CoP as the registry shows it to those who see the whole proposal: its hub,
// national and its applicant.
type proposal struct {
	ID                string   `json:"id"`
	Name              string   `json:"name"`
	Region            string   `json:"region"`
	Scope             string   `json:"scope"`
	Purpose           string   `json:"purpose"`
	Topics            []string `json:"topics"`
	HostOrganisations []string `json:"host_organisations"`
	Meeting           struct {
		Frequency       string   `json:"frequency"`
		When            string   `json:"when"`
		DurationMinutes int      `json:"duration_minutes"`
		Format          []string `json:"format"`
	} `json:"meeting"`
	Contact *struct {
		Name  string `json:"name"`
		Email string `json:"email"`
		Role  string `json:"role"`
	} `json:"contact"`
	Status           string    `json:"status"`
	DecisionReason   string    `json:"decision_reason"`
	ChangesRequested string    `json:"changes_requested"`
	Round            int       `json:"round"`
	ApplicantID      string    `json:"applicant_id"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	// Partial is a proposal known only from its events: name, scope and topics.
	Partial bool `json:"-"`
	// RegionName is the region's name as the console knows it, for its applicant.
	RegionName string `json:"-"`
}

// nameRegions fills in the regions' names the console knows, the id where it knows none.
func (w *Web) nameRegions(r *http.Request, ps []proposal) {
	names := map[string]string{}
	for i := range ps {
		id := ps[i].Region
		if _, ok := names[id]; !ok {
			names[id] = id
			if d, err := w.store.Region(r.Context(), id); err == nil && d.Name != "" {
				names[id] = d.Name
			}
		}
		ps[i].RegionName = names[id]
	}
}

// StatusWords says where an application stands, for its applicant.
func (p proposal) StatusWords() string {
	switch p.Status {
	case "proposed":
		if p.Round > 1 {
			return "Resubmitted: waiting for the hub's decision"
		}
		return "Waiting for the hub's decision"
	case "changes_requested":
		return "The hub asked for changes"
	case "approved":
		return "Approved"
	case "declined":
		return "Declined"
	case "retired":
		return "Retired"
	}
	return p.Status
}

// applicationForm is the application form as posted; the same form edits an application.
type applicationForm struct {
	Region, Name, Scope, Purpose, Topics, Hosts string
	Frequency, When, Duration, Format           string
	ContactName, ContactEmail, ContactRole      string
}

// formOf fills the form from an application, to edit it.
func formOf(p *proposal) applicationForm {
	f := applicationForm{Region: p.Region, Name: p.Name, Scope: p.Scope, Purpose: p.Purpose,
		Topics: strings.Join(p.Topics, ", "), Hosts: strings.Join(p.HostOrganisations, "\n"),
		Frequency: p.Meeting.Frequency, When: p.Meeting.When, Format: strings.Join(p.Meeting.Format, ", ")}
	if p.Meeting.DurationMinutes > 0 {
		f.Duration = strconv.Itoa(p.Meeting.DurationMinutes)
	}
	if p.Contact != nil {
		f.ContactName, f.ContactEmail, f.ContactRole = p.Contact.Name, p.Contact.Email, p.Contact.Role
	}
	return f
}

// formLimits bound each field before anything is forwarded: the registry checks the
// meaning, the console only that what it forwards is text of a sane size.
var formLimits = map[string]int{"region": 64, "name": 200, "scope": 20, "purpose": 4000, "topics": 5200,
	"host_organisations": 4200, "meeting_frequency": 100, "meeting_when": 200, "meeting_duration": 5,
	"meeting_format": 1100, "contact_name": 200, "contact_email": 254, "contact_role": 200}

// parseApplication reads the application form. Every field is checked to be UTF-8 text
// without NUL or control characters (newlines allowed where a field has lines) and
// within its size; the duration must be a whole number of minutes. The registry decides
// the rest (required fields, a known region, a real address) and names the field.
func parseApplication(r *http.Request) (applicationForm, error) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := applicationForm{Region: get("region"), Name: get("name"), Scope: get("scope"), Purpose: get("purpose"),
		Topics: get("topics"), Hosts: get("host_organisations"), Frequency: get("meeting_frequency"),
		When: get("meeting_when"), Duration: get("meeting_duration"), Format: get("meeting_format"),
		ContactName: get("contact_name"), ContactEmail: get("contact_email"), ContactRole: get("contact_role")}
	values := map[string]string{"region": f.Region, "name": f.Name, "scope": f.Scope, "purpose": f.Purpose,
		"topics": f.Topics, "host_organisations": f.Hosts, "meeting_frequency": f.Frequency, "meeting_when": f.When,
		"meeting_duration": f.Duration, "meeting_format": f.Format, "contact_name": f.ContactName,
		"contact_email": f.ContactEmail, "contact_role": f.ContactRole}
	multiline := map[string]bool{"purpose": true, "host_organisations": true}
	var fields []apperr.FieldError
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := values[k]
		switch {
		case !utf8.ValidString(v):
			fields = append(fields, apperr.FieldError{Field: k, Message: "is not valid UTF-8"})
		case strings.ContainsFunc(v, func(c rune) bool { return isControl(c) && !(multiline[k] && (c == '\n' || c == '\r' || c == '\t')) }):
			fields = append(fields, apperr.FieldError{Field: k, Message: "contains a control character"})
		case utf8.RuneCountInString(v) > formLimits[k]:
			fields = append(fields, apperr.FieldError{Field: k, Message: fmt.Sprintf("is longer than %d characters", formLimits[k])})
		}
	}
	named := func(field string) bool {
		return slices.ContainsFunc(fields, func(fe apperr.FieldError) bool { return fe.Field == field })
	}
	if f.Duration != "" && !named("meeting_duration") {
		if n, err := strconv.Atoi(f.Duration); err != nil || n < 1 || n > 1440 {
			fields = append(fields, apperr.FieldError{Field: "meeting_duration", Message: "must be a number of minutes between 1 and 1440"})
		}
	}
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

// list splits a field at sep into its non-empty, trimmed items.
func list(s, sep string) []string {
	out := []string{}
	for _, item := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), sep) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// body is the registry's application input; region is left out of an edit.
func (f applicationForm) body(withRegion bool) []byte {
	d, _ := strconv.Atoi(f.Duration)
	in := map[string]any{"name": f.Name, "scope": f.Scope, "purpose": f.Purpose,
		"topics": list(f.Topics, ","), "host_organisations": list(f.Hosts, "\n"),
		"meeting": map[string]any{"frequency": f.Frequency, "when": f.When, "duration_minutes": d, "format": list(f.Format, ",")},
		"contact": map[string]any{"name": f.ContactName, "email": f.ContactEmail, "role": f.ContactRole}}
	if withRegion {
		in["region"] = f.Region
	}
	b, _ := json.Marshal(in)
	return b
}

// region is one region the form offers.
type region struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// applyPageData is what apply.html, applications.html and application.html show; the
// application form (partials.html) is the same on the first and the last.
type applyPageData struct {
	pageData
	Form applicationForm
	// Regions are offered on a new application; an edit keeps its region.
	Regions []region
	// SignInLink is where an anonymous visitor signs in to apply.
	SignInLink   string
	Applications []proposal
	Application  *proposal
}

// applyPage shows the application form, or to someone not signed in, what applying takes
// and the way to sign in (an e-mailed link brings them back here).
func (w *Web) applyPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.whoIs(r)
	if !ok {
		if ck, err := r.Cookie(httpx.SessionCookie); err == nil && ck.Value != "" {
			http.Redirect(rw, r, "/auth/refresh?"+url.Values{"next": {"/apply"}}.Encode(), http.StatusSeeOther)
			return
		}
		w.pages.render(rw, r, http.StatusOK, "apply", applyPageData{pageData: pageData{Title: "Apply to become a CoP",
			CSRF: httpx.CSRFToken(rw, r)}, SignInLink: "/signin?" + url.Values{"next": {"/apply"}}.Encode()})
		return
	}
	f := applicationForm{Scope: "local", Duration: "90", Format: "Share, Discuss, Apply", Region: r.URL.Query().Get("region")}
	w.renderApply(rw, r, c, http.StatusOK, f, "")
}

func (w *Web) renderApply(rw http.ResponseWriter, r *http.Request, c caller, status int, f applicationForm, problem string) {
	var regs struct {
		Regions []region `json:"regions"`
	}
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/regions", nil, &regs)
	if err == nil && st >= 300 {
		err = fmt.Errorf("registry answered %d: %s", st, detail)
	}
	if err != nil {
		w.log.ErrorContext(r.Context(), "read regions for the application form", "error", err)
		w.pageError(rw, r, c, err)
		return
	}
	w.pages.render(rw, r, status, "apply", applyPageData{pageData: pageData{Title: "Apply to become a CoP", Caller: c.claims,
		CSRF: httpx.CSRFToken(rw, r), Error: problem}, Form: f, Regions: regs.Regions})
}

// submitApplication forwards the form to the registry and shows the application.
func (w *Web) submitApplication(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to apply")
	if !ok {
		return
	}
	f, err := parseApplication(r)
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	var created proposal
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/applications", f.body(true), &created)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward an application to the registry", "error", err)
		w.renderApply(rw, r, c, http.StatusBadGateway, f, "The registry could not be reached; nothing was sent. Try again in a moment.")
		return
	}
	if status >= 300 {
		w.renderApply(rw, r, c, status, f, "Please check the form: "+detail)
		return
	}
	http.Redirect(rw, r, "/applications/"+url.PathEscape(created.ID)+"?sent=applied", http.StatusSeeOther)
}

// applicationsPage lists the caller's applications.
func (w *Web) applicationsPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	var mine struct {
		Applications []proposal `json:"applications"`
	}
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/applications", nil, &mine)
	if err == nil && st >= 300 {
		err = fmt.Errorf("registry answered %d: %s", st, detail)
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	slices.Reverse(mine.Applications) // newest first
	w.nameRegions(r, mine.Applications)
	w.pages.render(rw, r, http.StatusOK, "applications", applyPageData{pageData: pageData{Title: "Your applications",
		Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)}, Applications: mine.Applications})
}

// applicationNotices word the codes the application page is sent to after a form.
var applicationNotices = map[string]string{
	"applied":     "Your application was sent to the hub of the region. You will hear from them by e-mail; this page shows where it stands.",
	"resubmitted": "Your changes were sent: the application is back with the hub for a decision.",
}

func (w *Web) applicationPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	p, err := w.readApplication(r, c, r.PathValue("id"))
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	w.renderApplication(rw, r, c, http.StatusOK, p, formOf(p), applicationNotices[r.URL.Query().Get("sent")], "")
}

// readApplication reads one application with the caller's token; only its applicant has
// a page for it (the hub decides on the region page).
func (w *Web) readApplication(r *http.Request, c caller, id string) (*proposal, error) {
	if err := checkID("id", id); err != nil {
		return nil, err
	}
	var p proposal
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(id), nil, &p)
	switch {
	case err != nil:
		return nil, err
	case st == http.StatusNotFound || (st < 300 && !c.claims.IsPerson(p.ApplicantID)):
		return nil, apperr.NotFound("you have no application %q: open it from your applications", id)
	case st == http.StatusForbidden:
		return nil, apperr.Forbidden("%s", detail)
	case st >= 300:
		return nil, fmt.Errorf("registry answered %d: %s", st, detail)
	}
	return &p, nil
}

func (w *Web) renderApplication(rw http.ResponseWriter, r *http.Request, c caller, status int, p *proposal, f applicationForm, notice, problem string) {
	ps := []proposal{*p}
	w.nameRegions(r, ps)
	p.RegionName = ps[0].RegionName
	w.pages.render(rw, r, status, "application", applyPageData{pageData: pageData{Title: "Application: " + p.Name,
		Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: notice, Error: problem}, Application: p, Form: f})
}

// resubmitApplication forwards the applicant's edit to the registry.
func (w *Web) resubmitApplication(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to edit your application")
	if !ok {
		return
	}
	id := r.PathValue("id")
	f, err := parseApplication(r)
	if err == nil {
		err = checkID("id", id)
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodPut, "/v1/applications/"+url.PathEscape(id), f.body(false), nil)
	if err == nil && status < 300 {
		http.Redirect(rw, r, "/applications/"+url.PathEscape(id)+"?sent=resubmitted", http.StatusSeeOther)
		return
	}
	p, rerr := w.readApplication(r, c, id)
	if rerr != nil {
		w.pageError(rw, r, c, errors.Join(err, rerr))
		return
	}
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward a resubmission to the registry", "cop", id, "error", err)
		w.renderApplication(rw, r, c, http.StatusBadGateway, p, f, "", "The registry could not be reached; nothing was sent. Try again in a moment.")
		return
	}
	w.renderApplication(rw, r, c, status, p, f, "", "Your changes were not sent: "+detail)
}

// regionQueue reads the region's proposals, whole, from the registry with the caller's
// token: those awaiting the hub's decision and those waiting for their applicant's changes.
// Where the registry cannot be asked (it runs elsewhere and no COPNET_CONSOLE_API_URL says
// where, or it does not answer), the queue is the console's own, names only, and problem
// says why.
func (w *Web) regionQueue(r *http.Request, c caller, d *projection.RegionDetail) (waiting, withApplicant []proposal, problem string) {
	if !w.registryServed() {
		return partialQueue(d), nil, ""
	}
	for _, st := range []string{"proposed", "changes_requested"} {
		var page struct {
			CoPs []proposal `json:"cops"`
		}
		path := "/v1/cops?" + url.Values{"region": {d.ID}, "status": {st}, "limit": {"500"}}.Encode()
		status, detail, err := w.callAPI(r, c.token, http.MethodGet, path, nil, &page)
		if err == nil && status >= 300 {
			err = fmt.Errorf("registry answered %d: %s", status, detail)
		}
		if err != nil {
			w.log.ErrorContext(r.Context(), "read the region's proposals from the registry", "region", d.ID, "error", err)
			return partialQueue(d), nil, "The whole proposals could not be read from the registry just now; the queue shows their names only. Reload the page in a moment."
		}
		if st == "proposed" {
			waiting = page.CoPs
		} else {
			withApplicant = page.CoPs
		}
	}
	return waiting, withApplicant, ""
}

// registryServed reports whether the registry can be asked: a configured API URL, or the
// registry's routes on this same server (the all-in-one).
func (w *Web) registryServed() bool {
	if w.apiURL != "" {
		return true
	}
	if w.mux == nil {
		return false
	}
	_, pattern := w.mux.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/v1/cops"}})
	return pattern != ""
}

// partialQueue is the console's own queue: what the events said of each proposal.
func partialQueue(d *projection.RegionDetail) []proposal {
	out := make([]proposal, 0, len(d.Queue))
	for _, q := range d.Queue {
		out = append(out, proposal{ID: q.ID, Name: q.Name, Scope: q.Scope, Topics: q.Topics, Status: "proposed",
			Round: 1, CreatedAt: q.ProposedAt, Partial: true})
	}
	return out
}
