package ports

// The charter pages of a CoP: the charter with its versions and what changed between any
// two (/cops/{id}/charter), the editor that publishes a new version (the CoP's coordinator
// or working group, its hub, national: the registry decides), and the page where a member
// accepts the Code of Practice in force (/cops/{id}/accept), which membership records. The
// console reads and writes both services with the person's own token and decides nothing.

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
)

// charterRoutes are the charter editor's and the acceptance page's routes.
func (w *Web) charterRoutes() []Route {
	return []Route{
		{"GET", "/cops/{id}/charter", w.charterPage},
		{"POST", "/cops/{id}/charter", w.publishCharter},
		{"GET", "/cops/{id}/accept", w.acceptPage},
		{"POST", "/cops/{id}/accept", w.acceptCode},
	}
}

// charterVersion is one version as the registry keeps it.
type charterVersion struct {
	Version          int       `json:"version"`
	Aims             string    `json:"aims"`
	TermsOfReference string    `json:"terms_of_reference"`
	CodeOfPractice   string    `json:"code_of_practice"`
	PublishedAt      time.Time `json:"published_at"`
}

// charterSection is one part of a charter, shown or compared.
type charterSection struct {
	ID, Title  string
	Paragraphs []string
	Diff       []diffLine
	Changed    bool
}

// charterComparison is what changed from one version to another.
type charterComparison struct {
	From, To int
	Sections []charterSection
}

// charterPageData is what the charter page shows.
type charterPageData struct {
	pageData
	CoPID, CoPName string
	Versions       []charterVersion
	Current        *charterVersion
	Sections       []charterSection
	Compare        *charterComparison
	// CanEdit shows the editor; the registry still decides when it is posted.
	CanEdit bool
	Form    charterForm
	// Fields names the editor's refused fields, with why.
	Fields map[string]string
	// MustAccept is the version this member has yet to accept (0: none).
	MustAccept int
}

var charterNotices = map[string]string{
	"published": "The new version is published. Members are asked to accept its Code of Practice; the roster shows who has not yet.",
}

// charterSections lays a version out in its three parts.
func charterSections(v charterVersion) []charterSection {
	return []charterSection{
		{ID: "aims", Title: "Aims and purpose", Paragraphs: paragraphs(v.Aims)},
		{ID: "terms", Title: "Terms of Reference", Paragraphs: paragraphs(v.TermsOfReference)},
		{ID: "code", Title: "Code of Practice", Paragraphs: paragraphs(v.CodeOfPractice)},
	}
}

// compareVersions says what changed from a to b, part by part.
func compareVersions(a, b charterVersion) *charterComparison {
	c := &charterComparison{From: a.Version, To: b.Version}
	for _, p := range []struct{ id, title, from, to string }{
		{"aims", "Aims and purpose", a.Aims, b.Aims},
		{"terms", "Terms of Reference", a.TermsOfReference, b.TermsOfReference},
		{"code", "Code of Practice", a.CodeOfPractice, b.CodeOfPractice},
	} {
		c.Sections = append(c.Sections, charterSection{ID: p.id, Title: p.title, Diff: diffText(p.from, p.to), Changed: p.from != p.to})
	}
	return c
}

// charterVersions reads every version of a CoP's charter, the newest first.
func (w *Web) charterVersions(r *http.Request, c caller, id string) ([]charterVersion, error) {
	var out struct {
		Versions []charterVersion `json:"versions"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(id)+"/charter/versions", nil, &out)
	if err != nil {
		return nil, err
	}
	if status >= 300 {
		return nil, problemOf(status, detail)
	}
	return out.Versions, nil
}

// pageMessage is a message a page shows as it is: a service's refusal or why it could not
// be reached, worded for the person.
type pageMessage string

func (m pageMessage) Error() string { return string(m) }

// problemOf turns a service's refusal into the error a page shows with its status.
func problemOf(status int, detail string) error {
	switch status {
	case http.StatusBadRequest:
		return apperr.Invalid("", detail)
	case http.StatusUnauthorized:
		return apperr.Unauthenticated(detail)
	case http.StatusForbidden:
		return apperr.Forbidden("%s", detail)
	case http.StatusNotFound:
		return apperr.NotFound("%s", detail)
	case http.StatusConflict:
		return apperr.Conflict("%s", detail)
	case http.StatusUnprocessableEntity:
		return apperr.Unprocessable("", detail)
	}
	return fmt.Errorf("the service answered %d: %s", status, detail)
}

// mayEditCharter mirrors the registry's rule, to offer the editor only to those it lets
// publish: national, the region's hub, the CoP's coordinator or working group.
func (w *Web) mayEditCharter(r *http.Request, c caller, id string) bool {
	cl := c.claims
	if cl.IsNational() || cl.IsCoordinatorOf(id) || slices.Contains(cl.Grants, httpx.Grant{Role: httpx.RoleWorkingGroup, CoP: id}) {
		return true
	}
	region, err := w.store.RegionOf(r.Context(), id)
	return err == nil && cl.IsHubOf(region)
}

func (w *Web) charterPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderCharter(rw, r, c, r.PathValue("id"), http.StatusOK, nil, nil)
}

// renderCharter shows the charter page; form and refused carry a refused edit back.
func (w *Web) renderCharter(rw http.ResponseWriter, r *http.Request, c caller, id string, status int, form *charterForm, refused error) {
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	versions, err := w.charterVersions(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d := charterPageData{pageData: pageData{Title: "Charter", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r),
		Notice: charterNotices[r.URL.Query().Get("notice")]},
		CoPID: id, CoPName: w.copName(r, id), Versions: versions, CanEdit: w.mayEditCharter(r, c, id)}
	d.Title = "Charter of " + d.CoPName
	if len(versions) > 0 {
		d.Current = &versions[0]
		d.Sections = charterSections(versions[0])
		d.Form = charterForm{Aims: versions[0].Aims, TermsOfReference: versions[0].TermsOfReference, CodeOfPractice: versions[0].CodeOfPractice}
		d.Compare = pickComparison(r, versions)
	}
	if form != nil {
		d.Form = *form
	}
	d.Fields, d.Error = refusal(refused)
	for _, m := range w.myMemberships(r, c) {
		if m.CoPID == id && m.MustAccept {
			d.MustAccept = m.CurrentCodeOfPracticeVersion
		}
	}
	w.pages.render(rw, r, status, "charter", d)
}

// refusal splits a refused form's error into its fields' messages and the page's message.
func refusal(err error) (map[string]string, string) {
	if err == nil {
		return nil, ""
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return nil, err.Error()
	}
	fields := map[string]string{}
	for _, f := range ae.Fields {
		fields[f.Field] = f.Message
	}
	msg := ae.Detail
	if len(ae.Fields) > 0 {
		msg = "Please correct what is marked below."
	}
	return fields, msg
}

// pickComparison chooses the two versions compared: ?from=&to= when both exist, else the
// previous version against the current one.
func pickComparison(r *http.Request, versions []charterVersion) *charterComparison {
	byNumber := map[int]charterVersion{}
	for _, v := range versions {
		byNumber[v.Version] = v
	}
	from, errFrom := strconv.Atoi(r.URL.Query().Get("from"))
	to, errTo := strconv.Atoi(r.URL.Query().Get("to"))
	a, okA := byNumber[from]
	b, okB := byNumber[to]
	if errFrom == nil && errTo == nil && okA && okB && from != to {
		return compareVersions(a, b)
	}
	if len(versions) < 2 {
		return nil
	}
	return compareVersions(versions[1], versions[0])
}

// publishCharter forwards the editor's new version to the registry.
func (w *Web) publishCharter(rw http.ResponseWriter, r *http.Request) {
	// Three texts of up to 50000 characters each, percent-encoded.
	r.Body = http.MaxBytesReader(rw, r.Body, 2<<20)
	c, ok := w.formCaller(rw, r, "sign in to publish a charter")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	form, err := parseCharterForm(r.PostFormValue)
	if err != nil {
		w.renderCharter(rw, r, c, id, http.StatusBadRequest, &form, err)
		return
	}
	body, _ := json.Marshal(map[string]string{"aims": form.Aims, "terms_of_reference": form.TermsOfReference, "code_of_practice": form.CodeOfPractice})
	status, detail, err := w.callAPI(r, c.token, http.MethodPut, "/v1/cops/"+url.PathEscape(id)+"/charter", body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "publish a charter", "cop", id, "error", err)
		w.renderCharter(rw, r, c, id, http.StatusBadGateway, &form, pageMessage("The registry could not be reached; nothing was published. Try again in a moment"))
		return
	}
	if status >= 300 {
		w.renderCharter(rw, r, c, id, status, &form, pageMessage(fmt.Sprintf("The registry refused: %s", detail)))
		return
	}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/charter?notice=published", http.StatusSeeOther)
}

// myMembership is one of the caller's memberships as membership reports it.
type myMembership struct {
	CoPID                        string   `json:"cop_id"`
	Roles                        []string `json:"roles"`
	CodeOfPracticeVersion        int      `json:"code_of_practice_version"`
	CurrentCodeOfPracticeVersion int      `json:"current_code_of_practice_version"`
	MustAccept                   bool     `json:"must_accept"`
}

// myMemberships reads the caller's memberships; none when membership cannot say.
func (w *Web) myMemberships(r *http.Request, c caller) []myMembership {
	var out struct {
		Memberships []myMembership `json:"memberships"`
	}
	if status, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/me/memberships", nil, &out); err != nil || status != http.StatusOK {
		return nil
	}
	return out.Memberships
}

// CodeToAccept is a CoP whose current Code of Practice the caller has yet to accept.
type CodeToAccept struct {
	CoPID, CoPName string
	Version        int
	// Link is the page where they read and accept it.
	Link string
}

// CodesToAccept lists the CoPs whose new Code of Practice the caller must accept, for the
// member's page and the CoP home ("Code of Practice to accept").
func (w *Web) CodesToAccept(r *http.Request, c caller) []CodeToAccept {
	var out []CodeToAccept
	for _, m := range w.myMemberships(r, c) {
		if m.MustAccept {
			out = append(out, CodeToAccept{CoPID: m.CoPID, CoPName: w.copName(r, m.CoPID), Version: m.CurrentCodeOfPracticeVersion,
				Link: "/cops/" + url.PathEscape(m.CoPID) + "/accept"})
		}
	}
	return out
}

// acceptPageData is what the acceptance page shows.
type acceptPageData struct {
	pageData
	CoPID, CoPName string
	// Member is false for a person who is not a member (they join instead).
	Member bool
	// Accepted is the version the member accepted, Current the one in force.
	Accepted, Current int
	Code              []string
	Compare           *charterComparison
	Fields            map[string]string
}

var acceptNotices = map[string]string{
	"accepted": "Thank you: you accepted the current Code of Practice.",
}

func (w *Web) acceptPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderAccept(rw, r, c, r.PathValue("id"), http.StatusOK, nil)
}

func (w *Web) renderAccept(rw http.ResponseWriter, r *http.Request, c caller, id string, status int, refused error) {
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d := acceptPageData{pageData: pageData{Title: "Code of Practice", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r),
		Notice: acceptNotices[r.URL.Query().Get("notice")]}, CoPID: id, CoPName: w.copName(r, id)}
	d.Title = "Code of Practice of " + d.CoPName
	for _, m := range w.myMemberships(r, c) {
		if m.CoPID == id {
			d.Member, d.Accepted, d.Current = true, m.CodeOfPracticeVersion, m.CurrentCodeOfPracticeVersion
		}
	}
	if d.Member {
		versions, err := w.charterVersions(r, c, id)
		if err != nil {
			w.pageError(rw, r, c, err)
			return
		}
		var accepted, current *charterVersion
		for i := range versions {
			switch versions[i].Version {
			case d.Current:
				current = &versions[i]
			case d.Accepted:
				accepted = &versions[i]
			}
		}
		if current != nil {
			d.Code = paragraphs(current.CodeOfPractice)
			if accepted != nil && d.Accepted < d.Current {
				d.Compare = compareVersions(*accepted, *current)
			}
		}
	}
	d.Fields, d.Error = refusal(refused)
	w.pages.render(rw, r, status, "accept", d)
}

// acceptCode records the member's acceptance of the version shown.
func (w *Web) acceptCode(rw http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
	c, ok := w.formCaller(rw, r, "sign in to accept a Code of Practice")
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	form, err := parseAcceptForm(r.PostFormValue)
	if err != nil {
		w.renderAccept(rw, r, c, id, http.StatusBadRequest, err)
		return
	}
	body, _ := json.Marshal(map[string]int{"code_of_practice_version": form.Version})
	path := "/v1/cops/" + url.PathEscape(id) + "/members/" + url.PathEscape(c.claims.Subject) + "/code-of-practice"
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, path, body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "accept a Code of Practice", "cop", id, "error", err)
		w.renderAccept(rw, r, c, id, http.StatusBadGateway, pageMessage("Membership could not be reached; nothing was recorded. Try again in a moment"))
		return
	}
	if status >= 300 {
		w.renderAccept(rw, r, c, id, status, pageMessage(fmt.Sprintf("Membership refused: %s", detail)))
		return
	}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/accept?notice=accepted", http.StatusSeeOther)
}
