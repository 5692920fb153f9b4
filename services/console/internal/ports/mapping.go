package ports

// Mapping (issue 18): a CoP's projects and engagements as a timeline over months, every
// overlap that touches them with the other side's contact route, a page per overlap where
// it is marked coordinated, and the form that maps a project. The knowledge service decides
// who sees what (a coordinator the whole CoP's map, a member what they mapped and the
// overlaps touching it); the console reads and writes with the person's own token.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

func (w *Web) mappingRoutes() []Route {
	return []Route{
		{"GET", "/cops/{id}/map", w.mapPage},
		{"GET", "/cops/{id}/projects/new", w.newProjectPage},
		{"POST", "/cops/{id}/projects/new", w.mapProject},
		{"GET", "/overlaps/{id}", w.overlapPage},
		{"POST", "/overlaps/{id}", w.resolveOverlap},
		{"GET", "/cops/{id}/resources", w.resourcesPage},
		{"POST", "/cops/{id}/resources", w.shareResource},
		{"GET", "/cops/{id}/resources/{asset}/file", w.downloadResource},
	}
}

// kProject is a project as knowledge shows it.
type kProject struct {
	ID           string `json:"id"`
	CoPID        string `json:"cop_id"`
	Region       string `json:"region"`
	Title        string `json:"title"`
	Organisation string `json:"organisation"`
	Topics       []string
	Communities  []struct {
		Place string `json:"place"`
		Group string `json:"group"`
	} `json:"communities"`
	StartsOn string   `json:"starts_on"`
	EndsOn   string   `json:"ends_on"`
	Methods  []string `json:"methods"`
	MappedBy string   `json:"mapped_by"`
	Contact  string   `json:"contact"`
	// CoPName is the console's name for its CoP.
	CoPName string `json:"-"`
}

// kOverlap is an overlap as knowledge shows it (Projects only from GET /v1/overlaps/{id}).
type kOverlap struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Score      float64    `json:"score"`
	ProjectIDs []string   `json:"project_ids"`
	CoPIDs     []string   `json:"cop_ids"`
	Regions    []string   `json:"regions"`
	Status     string     `json:"status"`
	Note       string     `json:"note"`
	DetectedAt time.Time  `json:"detected_at"`
	Projects   []kProject `json:"projects"`
}

// readAPI reads path from the services with the caller's token into dst; a refusal
// becomes the error a page shows (403, 404, 422 keep their meaning and the service's words).
func (w *Web) readAPI(r *http.Request, c caller, path string, dst any) error {
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, path, nil, dst)
	return apiError(status, detail, err)
}

// window says a project's dates as a person reads them: "1 Mar – 30 Apr 2026".
func window(from, to string) string {
	a, errA := time.Parse(time.DateOnly, from)
	b, errB := time.Parse(time.DateOnly, to)
	if errA != nil || errB != nil {
		return from + " – " + to
	}
	switch {
	case a.Year() != b.Year():
		return a.Format("2 Jan 2006") + " – " + b.Format("2 Jan 2006")
	case a.Equal(b):
		return a.Format("2 Jan 2006")
	}
	return a.Format("2 Jan") + " – " + b.Format("2 Jan 2006")
}

// Window is the project's dates in words.
func (p kProject) Window() string { return window(p.StartsOn, p.EndsOn) }

// Who says whom it asks: "young people in Greater Geelong, Victoria; carers in Wyndham…".
func (p kProject) Who() string {
	parts := make([]string, len(p.Communities))
	for i, c := range p.Communities {
		parts[i] = c.Group + " in " + placeName(c.Place)
	}
	return strings.Join(parts, "; ")
}

// timelineRow is one project on the timeline: its bar's start and width on a 0–1000 scale.
type timelineRow struct {
	Project  kProject
	X, Width float64
	// Overlaps names the CoPs whose work overlaps this project, for its text.
	Overlaps []string
	// Theirs marks another CoP's project, drawn beside the one it overlaps.
	Theirs bool
}

// timeline is the CoP's projects over months.
type timeline struct {
	From, To string
	// Ticks are the month boundaries on the 0–1000 scale, for the bars' grid lines.
	Ticks []float64
	Rows  []timelineRow
}

// buildTimeline lays the projects out over whole months, from the month of the earliest
// start to the end of the month of the latest end; others' projects (those of overlaps,
// with their CoP's name) are drawn too, so that the overlap in time shows.
func buildTimeline(ps, others []kProject, overlapsOf map[string][]string) timeline {
	var tl timeline
	var first, last time.Time
	type dated struct {
		p        kProject
		from, to time.Time
		theirs   bool
	}
	var ds []dated
	seen := map[string]bool{}
	for i, p := range slices.Concat(ps, others) {
		if seen[p.ID] {
			continue
		}
		seen[p.ID] = true
		a, errA := time.Parse(time.DateOnly, p.StartsOn)
		b, errB := time.Parse(time.DateOnly, p.EndsOn)
		if errA != nil || errB != nil {
			continue
		}
		ds = append(ds, dated{p, a, b.AddDate(0, 0, 1), i >= len(ps)})
		if first.IsZero() || a.Before(first) {
			first = a
		}
		if b.After(last) {
			last = b
		}
	}
	if len(ds) == 0 {
		return tl
	}
	start := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(last.Year(), last.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	span := end.Sub(start).Hours()
	at := func(t time.Time) float64 { return 1000 * t.Sub(start).Hours() / span }
	months := 0
	for m := start; m.Before(end); m = m.AddDate(0, 1, 0) {
		months++
		if m.After(start) {
			tl.Ticks = append(tl.Ticks, at(m))
		}
	}
	if months > 36 {
		// Past three years a line per month is a grey smear: one per year.
		tl.Ticks = nil
		for y := start.Year() + 1; y <= end.Year(); y++ {
			if t := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC); t.Before(end) {
				tl.Ticks = append(tl.Ticks, at(t))
			}
		}
	}
	tl.From, tl.To = start.Format("Jan 2006"), end.AddDate(0, 0, -1).Format("Jan 2006")
	slices.SortStableFunc(ds, func(a, b dated) int { return a.from.Compare(b.from) })
	for _, d := range ds {
		x := at(d.from)
		tl.Rows = append(tl.Rows, timelineRow{Project: d.p, X: x, Width: max(at(d.to)-x, 4), Overlaps: overlapsOf[d.p.ID], Theirs: d.theirs})
	}
	return tl
}

// overlapView is one overlap as the pages show it: this CoP's side and the other side.
type overlapView struct {
	kOverlap
	Ours, Theirs kProject
	// Summary says what the overlap is in a sentence.
	Summary string
}

// KindWords names an overlap's kind for people.
func (o overlapView) KindWords() string {
	if o.Kind == "fatigue" {
		return "The same community is asked twice"
	}
	return "Similar work at the same time"
}

// StatusWords says where an overlap stands.
func (o overlapView) StatusWords() string {
	switch o.Status {
	case "coordinated":
		return "Coordinated"
	case "acknowledged":
		return "Acknowledged"
	case "dismissed":
		return "Dismissed"
	}
	return "Open"
}

// Pair is both projects, this CoP's (or the caller's) first.
func (o overlapView) Pair() []kProject {
	if o.Theirs.ID == "" {
		return []kProject{o.Ours}
	}
	return []kProject{o.Ours, o.Theirs}
}

// sides puts the project of cop (or the one the caller mapped) first.
func (w *Web) sides(r *http.Request, c caller, o kOverlap, cop string) overlapView {
	v := overlapView{kOverlap: o}
	for i := range o.Projects {
		o.Projects[i].CoPName = w.copName(r, o.Projects[i].CoPID)
	}
	ours := func(p kProject) bool {
		if cop != "" {
			return p.CoPID == cop
		}
		return c.claims.IsPerson(p.MappedBy) || c.claims.IsCoordinatorOf(p.CoPID) || c.claims.IsMemberOf(p.CoPID)
	}
	switch {
	case len(o.Projects) == 2 && !ours(o.Projects[0]) && ours(o.Projects[1]):
		v.Ours, v.Theirs = o.Projects[1], o.Projects[0]
	case len(o.Projects) == 2:
		v.Ours, v.Theirs = o.Projects[0], o.Projects[1]
	case len(o.Projects) == 1:
		v.Ours = o.Projects[0]
	}
	if v.Kind == "fatigue" {
		v.Summary = fmt.Sprintf("%s and %s both ask %s, %s and %s.", v.Ours.Title, v.Theirs.Title, v.Theirs.Who(), v.Ours.Window(), v.Theirs.Window())
	} else {
		v.Summary = fmt.Sprintf("%s and %s work on %s at about the same time.", v.Ours.Title, v.Theirs.Title, strings.Join(sharedTopics(v.Ours.Topics, v.Theirs.Topics), ", "))
	}
	return v
}

func sharedTopics(a, b []string) []string {
	out := []string{}
	for _, t := range a {
		if slices.Contains(b, t) {
			out = append(out, t)
		}
	}
	return out
}

// mapPageData is what map.html shows.
type mapPageData struct {
	pageData
	CoPID, CoPName string
	Timeline       timeline
	Projects       []kProject
	Overlaps       []overlapView
	// Outlined says the timeline draws other CoPs' projects (open overlaps).
	Outlined bool
	// Whole says the caller sees the CoP's whole map (its coordinator, hub, national);
	// a member sees what they mapped.
	Whole bool
}

// maxOverlapsShown bounds the overlaps read one by one for a map page.
const maxOverlapsShown = 50

// copWork reads the caller's view of a CoP's map: its projects and the overlaps touching
// them, each with both projects.
func (w *Web) copWork(r *http.Request, c caller, cop string) ([]kProject, []overlapView, error) {
	var ps struct {
		Projects []kProject `json:"projects"`
	}
	q := "?" + url.Values{"cop": {cop}}.Encode()
	if err := w.readAPI(r, c, "/v1/projects"+q, &ps); err != nil {
		return nil, nil, err
	}
	var os struct {
		Overlaps []kOverlap `json:"overlaps"`
	}
	if err := w.readAPI(r, c, "/v1/overlaps"+q, &os); err != nil {
		return nil, nil, err
	}
	var views []overlapView
	for i, o := range os.Overlaps {
		if i == maxOverlapsShown {
			break
		}
		var d kOverlap
		if err := w.readAPI(r, c, "/v1/overlaps/"+url.PathEscape(o.ID), &d); err != nil {
			return nil, nil, err
		}
		views = append(views, w.sides(r, c, d, cop))
	}
	// Open ones first: they are what to act on.
	slices.SortStableFunc(views, func(a, b overlapView) int {
		return boolRank(a.Status != "open") - boolRank(b.Status != "open")
	})
	return ps.Projects, views, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

var mapNotices = map[string]string{
	"mapped":      "Your project is on the map. Overlaps with other CoPs' work show below as soon as they are found.",
	"coordinated": "The overlap is marked coordinated; the other CoP sees it too.",
}

func (w *Web) mapPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	ps, os, err := w.copWork(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	overlapsOf := map[string][]string{}
	var others []kProject
	for _, o := range os {
		if o.Status == "open" && o.Theirs.ID != "" {
			if !slices.Contains(overlapsOf[o.Ours.ID], o.Theirs.CoPName) {
				overlapsOf[o.Ours.ID] = append(overlapsOf[o.Ours.ID], o.Theirs.CoPName)
			}
			if o.Theirs.CoPID != id {
				others = append(others, o.Theirs)
			}
		}
	}
	name := w.copName(r, id)
	w.pages.render(rw, r, http.StatusOK, "map", mapPageData{
		pageData: pageData{Title: "Map of " + name, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: mapNotices[r.URL.Query().Get("notice")]},
		CoPID:    id, CoPName: name, Timeline: buildTimeline(ps, others, overlapsOf), Projects: ps, Overlaps: os, Outlined: len(others) > 0,
		Whole: c.claims.IsNational() || c.claims.IsCoordinatorOf(id) || c.claims.Holds(httpx.RoleHub)})
}

// projectForm is the mapping form as posted.
type projectForm struct {
	Title, Organisation, Topics, Place, Group, StartsOn, EndsOn, OtherMethods, Contact string
	Methods                                                                            []string
}

// Has reports whether the form ticks method m.
func (f projectForm) Has(m string) bool { return slices.Contains(f.Methods, m) }

// methodChoices are the engagement methods the form offers as boxes to tick.
var methodChoices = []string{"Survey", "Workshop", "Interviews", "Focus group", "Community event", "Online consultation", "Co-design sessions"}

var projectLimits = map[string]int{"title": 200, "organisation": 200, "topics": 2000, "place": 200, "group": 200,
	"starts_on": 10, "ends_on": 10, "other_methods": 1000, "contact": 300}

// parseProjectForm reads the mapping form: every field UTF-8 text without control
// characters within its size, dates as the date picker sends them, methods from the list
// or typed. What the fields mean (a real place code, the window's order, required fields)
// knowledge decides and names.
func parseProjectForm(r *http.Request) (projectForm, error) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := projectForm{Title: get("title"), Organisation: get("organisation"), Topics: get("topics"), Place: get("place"),
		Group: get("group"), StartsOn: get("starts_on"), EndsOn: get("ends_on"), OtherMethods: get("other_methods"), Contact: get("contact")}
	values := map[string]string{"title": f.Title, "organisation": f.Organisation, "topics": f.Topics, "place": f.Place,
		"group": f.Group, "starts_on": f.StartsOn, "ends_on": f.EndsOn, "other_methods": f.OtherMethods, "contact": f.Contact}
	var fields []apperr.FieldError
	for _, k := range []string{"title", "organisation", "topics", "place", "group", "starts_on", "ends_on", "other_methods", "contact"} {
		if msg := textProblem(values[k], projectLimits[k]); msg != "" {
			fields = append(fields, apperr.FieldError{Field: k, Message: msg})
		}
	}
	for _, k := range []string{"starts_on", "ends_on"} {
		if v := values[k]; v != "" {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				fields = append(fields, apperr.FieldError{Field: k, Message: "must be a date such as 2026-03-01"})
			}
		}
	}
	for _, m := range r.PostForm["methods"] {
		if !slices.Contains(methodChoices, m) {
			fields = append(fields, apperr.FieldError{Field: "methods", Message: "must be methods the form offers"})
			break
		}
		if !slices.Contains(f.Methods, m) {
			f.Methods = append(f.Methods, m)
		}
	}
	if len(fields) > 0 {
		return f, apperr.InvalidFields(fields...)
	}
	return f, nil
}

// textProblem says what is wrong with a form's text value, or "".
func textProblem(v string, limit int) string {
	switch {
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	case strings.ContainsFunc(v, isControl):
		return "contains a control character"
	case utf8.RuneCountInString(v) > limit:
		return fmt.Sprintf("is longer than %d characters", limit)
	}
	return ""
}

// body is knowledge's NewProject.
func (f projectForm) body(cop string) []byte {
	methods := append(slices.Clone(f.Methods), list(f.OtherMethods, ",")...)
	b, _ := json.Marshal(map[string]any{"cop_id": cop, "title": f.Title, "organisation": f.Organisation,
		"topics": list(f.Topics, ","), "communities": []map[string]string{{"place": f.Place, "group": f.Group}},
		"starts_on": f.StartsOn, "ends_on": f.EndsOn, "methods": nonNilList(methods), "contact": f.Contact})
	return b
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// projectPageData is what project.html shows.
type projectPageData struct {
	pageData
	CoPID, CoPName string
	Form           projectForm
	Places         []placeGroup
	MethodChoices  []string
	// Fields names the fields the services refused, with why.
	Fields map[string]string
}

func (w *Web) newProjectPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderProjectForm(rw, r, c, http.StatusOK, projectForm{}, "", nil)
}

func (w *Web) renderProjectForm(rw http.ResponseWriter, r *http.Request, c caller, status int, f projectForm, problem string, fields map[string]string) {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	name := w.copName(r, id)
	w.pages.render(rw, r, status, "project", projectPageData{
		pageData: pageData{Title: "Map a project · " + name, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Error: problem},
		CoPID:    id, CoPName: name, Form: f, Places: placeTree, MethodChoices: methodChoices, Fields: fields})
}

// mapProject forwards the form to knowledge; a refusal shows the form again, as typed,
// with the fields named.
func (w *Web) mapProject(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to map a project")
	if !ok {
		return
	}
	id := r.PathValue("id")
	f, err := parseProjectForm(r)
	if err == nil {
		err = checkID("id", id)
	}
	if err != nil {
		var ae *apperr.Error
		if errors.As(err, &ae) && len(ae.Fields) > 0 {
			w.renderProjectForm(rw, r, c, http.StatusBadRequest, f, "Please check the form.", fieldMap(ae.Fields))
			return
		}
		httpx.WriteProblem(rw, r, err)
		return
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/projects", f.body(id), nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward a project to knowledge", "cop", id, "error", err)
		w.renderProjectForm(rw, r, c, http.StatusBadGateway, f, "The map could not be reached; nothing was saved. Try again in a moment.", nil)
		return
	}
	if status >= 300 {
		w.renderProjectForm(rw, r, c, status, f, "The project was not mapped: "+detail, nil)
		return
	}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(id)+"/map?notice=mapped", http.StatusSeeOther)
}

func fieldMap(fs []apperr.FieldError) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		out[f.Field] = f.Message
	}
	return out
}

// overlapPageData is what overlap.html shows.
type overlapPageData struct {
	pageData
	Overlap overlapView
}

var overlapNotices = map[string]string{"coordinated": "Marked coordinated. Both CoPs see it on their map."}

func (w *Web) overlapPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderOverlap(rw, r, c, http.StatusOK, overlapNotices[r.URL.Query().Get("notice")], "")
}

func (w *Web) renderOverlap(rw http.ResponseWriter, r *http.Request, c caller, status int, notice, problem string) {
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	var o kOverlap
	if err := w.readAPI(r, c, "/v1/overlaps/"+url.PathEscape(id), &o); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	v := w.sides(r, c, o, r.URL.Query().Get("cop"))
	w.pages.render(rw, r, status, "overlap", overlapPageData{
		pageData: pageData{Title: "Overlap: " + v.Ours.Title + " and " + v.Theirs.Title, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r),
			Notice: notice, Error: problem}, Overlap: v})
}

// resolveOverlap marks an overlap coordinated (with a note saying how) and goes back to
// where the person pressed the button: the overlap's page or their CoP's map.
func (w *Web) resolveOverlap(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to act on an overlap")
	if !ok {
		return
	}
	id, note, back := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("note")), r.PostFormValue("cop")
	err := checkID("id", id)
	if err == nil && back != "" {
		err = checkID("cop", back)
	}
	if err == nil {
		if msg := textProblem(note, 2000); msg != "" {
			err = apperr.Invalid("note", msg)
		}
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	body, _ := json.Marshal(map[string]string{"status": "coordinated", "note": note})
	status, detail, err := w.callAPI(r, c.token, http.MethodPut, "/v1/overlaps/"+url.PathEscape(id), body, nil)
	if err != nil || status >= 300 {
		if err != nil {
			w.log.ErrorContext(r.Context(), "forward an overlap's resolution to knowledge", "overlap", id, "error", err)
			detail = "the map could not be reached; nothing was changed. Try again in a moment."
			status = http.StatusBadGateway
		}
		if status == http.StatusForbidden || status == http.StatusNotFound {
			w.pageError(rw, r, c, apiError(status, detail, nil))
			return
		}
		w.renderOverlap(rw, r, c, status, "", "Not marked coordinated: "+detail)
		return
	}
	if back != "" {
		http.Redirect(rw, r, "/cops/"+url.PathEscape(back)+"/map?notice=coordinated#overlap-"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/overlaps/"+url.PathEscape(id)+"?notice=coordinated", http.StatusSeeOther)
}

// copWorkSummary is what the CoP home shows of the map and the library, as the caller may
// see them (see copWork and renderResources): counts, the open overlaps to act on, the
// latest resources, and where to go for the rest.
type copWorkSummary struct {
	Projects     []kProject
	OpenOverlaps []overlapView
	Resources    []kAsset
	MapURL       string
	NewURL       string
	ResourcesURL string
	// Problem says why the map or the library could not be read ("" when they were):
	// the home page shows it in place of the section rather than failing whole.
	Problem string
}

// maxSummaryResources is how many of the latest resources the CoP home lists.
const maxSummaryResources = 5

// CoPWorkSummary returns a CoP's projects, open overlaps and latest resources for the CoP
// home page, read with the caller's token (a member sees their own projects and the
// overlaps touching them; a coordinator, hub or national the whole CoP's).
func (w *Web) CoPWorkSummary(r *http.Request, c caller, cop string) copWorkSummary {
	base := "/cops/" + url.PathEscape(cop)
	s := copWorkSummary{MapURL: base + "/map", NewURL: base + "/projects/new", ResourcesURL: base + "/resources"}
	ps, os, err := w.copWork(r, c, cop)
	if err != nil {
		s.Problem = "The map could not be read: " + problemWords(err)
		return s
	}
	s.Projects = ps
	for _, o := range os {
		if o.Status == "open" {
			s.OpenOverlaps = append(s.OpenOverlaps, o)
		}
	}
	var list struct {
		Assets []kAsset `json:"assets"`
	}
	if err := w.readAPI(r, c, "/v1/assets?"+url.Values{"cop": {cop}}.Encode(), &list); err != nil {
		s.Problem = "The library could not be read: " + problemWords(err)
		return s
	}
	s.Resources = list.Assets[:min(len(list.Assets), maxSummaryResources)]
	return s
}

// problemWords is an error as a person may read it: a service's refusal in its own words,
// anything else as "try again".
func problemWords(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Detail != "" {
		return ae.Detail
	}
	return "try again in a moment"
}
