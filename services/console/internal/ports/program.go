package ports

// The program planner (/cops/{id}/program), the session page (/sessions/{id}) with its
// answers ahead (RSVP), roles, swaps, host groups, reschedule and cancel, and the
// attendance sheet (/sessions/{id}/attendance). Scheduling decides who may do what; the
// console forwards the person's own token and shows times in the CoP's zone.

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

func (w *Web) programRoutes() []Route {
	return []Route{
		{"GET", "/cops/{id}/program", w.programPage},
		{"POST", "/cops/{id}/program", w.planProgram},
		{"GET", "/sessions/{id}", w.sessionPage},
		{"POST", "/sessions/{id}/rsvp", w.answerRSVP},
		{"POST", "/cops/{id}/rotation", w.setRotation},
		{"POST", "/sessions/{id}/reschedule", w.rescheduleSession},
		{"POST", "/sessions/{id}/cancel", w.cancelSession},
		{"POST", "/sessions/{id}/hosts", w.setSessionHosts},
		{"POST", "/sessions/{id}/swap", w.swapRole},
		{"GET", "/sessions/{id}/attendance", w.attendancePage},
		{"POST", "/sessions/{id}/attendance", w.saveAttendance},
		{"GET", "/me/sessions", w.mySessionsPage},
		{"POST", "/me/calendar-link", w.myCalendarLink},
	}
}

// schedSession is a session as scheduling shows it.
type schedSession struct {
	ID           string    `json:"id"`
	ProgramID    string    `json:"program_id"`
	CoPID        string    `json:"cop_id"`
	Number       int       `json:"number"`
	StartsAt     time.Time `json:"starts_at"`
	EndsAt       time.Time `json:"ends_at"`
	Timezone     string    `json:"timezone"`
	Topic        string    `json:"topic"`
	Location     string    `json:"location"`
	Link         string    `json:"link"`
	Status       string    `json:"status"`
	Facilitator  string    `json:"facilitator"`
	NoteTaker    string    `json:"note_taker"`
	HostGroup    []string  `json:"host_group"`
	CancelReason string    `json:"cancel_reason"`
	Notes        string    `json:"notes"`
	Outcomes     []string  `json:"outcomes"`
}

type schedProgram struct {
	ID              string   `json:"id"`
	Title           string   `json:"title"`
	Sessions        int      `json:"sessions"`
	FirstSessionAt  string   `json:"first_session_at"`
	Timezone        string   `json:"timezone"`
	Cadence         string   `json:"cadence"`
	DurationMinutes int      `json:"duration_minutes"`
	Format          []string `json:"format"`
}

type schedRSVP struct {
	PersonID string `json:"person_id"`
	Answer   string `json:"answer"`
}

// sessionLine is one session as the pages list it.
type sessionLine struct {
	ID, When, Topic, Status string
	Number                  int
	Facilitator, NoteTaker  string
	Hosts                   []string
	Upcoming, Started       bool
	// RSVP is the caller's answer ahead (coming, apologies) or "".
	RSVP string
	// CoPID and CoP name the session's CoP (on /me, sessions of several CoPs).
	CoPID, CoP string
}

// programLine is one program in words.
type programLine struct {
	ID, Title, Words string
	Format           []string
}

// participationView is the CoP's attendance trend as the planner shows it to those who run it.
type participationView struct {
	Rates     []float64
	Trend     string
	Declining bool
}

type programPageData struct {
	pageData
	CoPID, CoPName string
	Manages        bool
	Programs       []programLine
	Sessions       []sessionLine
	Form           programForm
	Fields         map[string]string
	Weekdays       []struct{ Code, Name string }
	Weeks          []struct {
		N    int
		Name string
	}
	Zones []struct{ ID, Name string }
	// Participation is nil for members, who do not see the CoP's figures.
	Participation *participationView
	// Next are the sessions coming up, for members to answer ahead.
	Next nextSessionsView
}

// people names a CoP's members by id, from membership's roster (those who run the CoP
// may read it); the caller themselves is "you".
type people struct {
	names map[string]string
	order []string
	self  string
}

func (p people) name(id string) string {
	switch {
	case id == "":
		return ""
	case id == p.self:
		return "you"
	case p.names[id] != "":
		return p.names[id]
	}
	return "a member"
}

func (p people) nameAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = p.name(id)
	}
	return out
}

// roster reads the CoP's members from membership; a caller who may not read it (a
// member) gets an empty roster, and the pages say "a member" for others.
func (w *Web) roster(r *http.Request, c caller, cop string) people {
	p := people{names: map[string]string{}, self: c.claims.Subject}
	var got struct {
		Members []struct {
			PersonID string `json:"person_id"`
			Name     string `json:"name"`
		} `json:"members"`
	}
	status, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(cop)+"/members", nil, &got)
	if err != nil || status != http.StatusOK {
		return p
	}
	for _, m := range got.Members {
		p.names[m.PersonID] = m.Name
		p.order = append(p.order, m.PersonID)
	}
	return p
}

// manages says whether the caller runs the CoP: national, its coordinator, its region's hub.
func (w *Web) manages(r *http.Request, c caller, cop string) bool {
	if c.claims.IsNational() || c.claims.IsCoordinatorOf(cop) {
		return true
	}
	region, err := w.store.RegionOf(r.Context(), cop)
	return err == nil && c.claims.IsHubOf(region)
}

func (w *Web) copSessions(r *http.Request, c caller, cop, from string) ([]schedSession, error) {
	var got struct {
		Sessions []schedSession `json:"sessions"`
	}
	path := "/v1/cops/" + url.PathEscape(cop) + "/sessions"
	if from != "" {
		path += "?from=" + url.QueryEscape(from)
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, path, nil, &got)
	return got.Sessions, apiError(status, detail, err)
}

func line(s schedSession, who people, now time.Time) sessionLine {
	return sessionLine{ID: s.ID, Number: s.Number, When: when(s.StartsAt, s.EndsAt, s.Timezone), Topic: s.Topic, Status: s.Status,
		Facilitator: who.name(s.Facilitator), NoteTaker: who.name(s.NoteTaker), Hosts: who.nameAll(s.HostGroup),
		Upcoming: s.Status == "scheduled" && s.StartsAt.After(now), Started: !s.StartsAt.After(now), CoPID: s.CoPID}
}

// copZone is the zone the CoP meets in: that of its sessions so far, else a guess from its
// region's name, else Melbourne.
func (w *Web) copZone(r *http.Request, sessions []schedSession, cop string) string {
	if len(sessions) > 0 && sessions[len(sessions)-1].Timezone != "" {
		return sessions[len(sessions)-1].Timezone
	}
	region, _ := w.store.RegionOf(r.Context(), cop)
	region = strings.ToLower(region)
	switch {
	case strings.Contains(region, "wa") || strings.Contains(region, "western"):
		return "Australia/Perth"
	case strings.Contains(region, "nz") || strings.Contains(region, "otago") || strings.Contains(region, "zealand"):
		return "Pacific/Auckland"
	case strings.Contains(region, "nsw"):
		return "Australia/Sydney"
	case strings.Contains(region, "qld"):
		return "Australia/Brisbane"
	}
	return "Australia/Melbourne"
}

var programNotices = map[string]string{
	"planned":      "The program is planned. Each session below has its facilitator and note-taker from the rotation of willing members.",
	"rotation-in":  "You are in the rotation: you will take your turn as facilitator or note-taker, fairly shared with the other willing members.",
	"rotation-out": "You are out of the rotation: upcoming turns of yours go to the other willing members.",
}

// setRotation is a member saying whether they take turns as facilitator and note-taker
// (the seeds' rotating roles); scheduling rebalances the upcoming turns.
func (w *Web) setRotation(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to take turns")
	if !ok {
		return
	}
	cop := r.PathValue("id")
	willing, err := rotationChoice(r.PostForm)
	if err == nil {
		err = checkID("id", cop)
	}
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodPut, "/v1/cops/"+url.PathEscape(cop)+"/rotation/"+url.PathEscape(c.claims.Subject),
		[]byte(fmt.Sprintf(`{"willing":%t}`, willing)), nil)
	if err := apiError(status, detail, err); err != nil {
		w.renderProgram(rw, r, c, cop, http.StatusBadGateway, nil, nil, "", "Your answer about taking turns was not saved: "+err.Error())
		return
	}
	notice := map[bool]string{true: "rotation-in", false: "rotation-out"}[willing]
	http.Redirect(rw, r, "/cops/"+url.PathEscape(cop)+"/program?notice="+notice, http.StatusSeeOther)
}

func (w *Web) programPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderProgram(rw, r, c, r.PathValue("id"), http.StatusOK, nil, nil, programNotices[r.URL.Query().Get("notice")], "")
}

func (w *Web) renderProgram(rw http.ResponseWriter, r *http.Request, c caller, cop string, status int, form *programForm, fields map[string]string, notice, problem string) {
	if err := checkID("id", cop); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	sessions, err := w.copSessions(r, c, cop, "")
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	var progs struct {
		Programs []schedProgram `json:"programs"`
	}
	st, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(cop)+"/programs", nil, &progs)
	if err := apiError(st, detail, err); err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d := programPageData{pageData: pageData{Title: "Program of " + w.copName(r, cop), Caller: c.claims, CSRF: httpx.CSRFToken(rw, r),
		Notice: notice, Error: problem}, CoPID: cop, CoPName: w.copName(r, cop), Manages: w.manages(r, c, cop), Fields: fields,
		Weekdays: weekdays, Weeks: weekOfMonth, Zones: planningZones}
	if form != nil {
		d.Form = *form
	} else {
		d.Form = defaultProgramForm(w.copZone(r, sessions, cop))
		d.Form.Start = time.Now().In(zoneOr(d.Form.Timezone)).Format(time.DateOnly)
	}
	for _, p := range progs.Programs {
		d.Programs = append(d.Programs, programLine{ID: p.ID, Title: p.Title, Format: p.Format,
			Words: programWords(p.Cadence, p.FirstSessionAt, p.Timezone, p.DurationMinutes, p.Sessions)})
	}
	who := people{names: map[string]string{}, self: c.claims.Subject}
	if d.Manages {
		who = w.roster(r, c, cop)
		d.Participation = w.participation(r, c, cop)
	}
	now := time.Now()
	for _, s := range sessions {
		d.Sessions = append(d.Sessions, line(s, who, now))
	}
	if !d.Manages || c.claims.IsMemberOf(cop) {
		next, err := w.copNextSessions(r, c, cop, 3)
		if err != nil {
			w.pageError(rw, r, c, err)
			return
		}
		d.Next = nextSessionsView{Sessions: next, Answer: true, CSRF: d.CSRF, Next: "/cops/" + url.PathEscape(cop) + "/program"}
	}
	w.pages.render(rw, r, status, "program", d)
}

func zoneOr(zone string) *time.Location {
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		return loc
	}
	return time.UTC
}

// participation reads the CoP's attendance trend; nil when scheduling does not answer.
func (w *Web) participation(r *http.Request, c caller, cop string) *participationView {
	var got struct {
		Sessions []struct {
			Rate float64 `json:"rate"`
		} `json:"sessions"`
		Trend     string `json:"trend"`
		Declining bool   `json:"declining"`
	}
	st, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(cop)+"/participation", nil, &got)
	if err != nil || st != http.StatusOK {
		return nil
	}
	p := &participationView{Trend: got.Trend, Declining: got.Declining}
	for _, s := range got.Sessions {
		p.Rates = append(p.Rates, s.Rate)
	}
	return p
}

// problemFields reads the field errors of an apperr for the form to show beside each field.
func problemFields(err error) (map[string]string, string) {
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		return nil, err.Error()
	}
	fields := map[string]string{}
	var parts []string
	for _, f := range ae.Fields {
		fields[f.Field] = f.Message
		parts = append(parts, f.Field+" "+f.Message)
	}
	if len(parts) == 0 {
		return fields, ae.Detail
	}
	return fields, "Please correct: " + strings.Join(parts, "; ") + "."
}

func (w *Web) planProgram(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to plan a program")
	if !ok {
		return
	}
	cop := r.PathValue("id")
	if err := checkID("id", cop); err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	form, p, err := parseProgramForm(r.PostForm)
	if err != nil {
		fields, msg := problemFields(err)
		w.renderProgram(rw, r, c, cop, http.StatusBadRequest, &form, fields, "", msg)
		return
	}
	body, _ := json.Marshal(map[string]any{"title": p.Title, "sessions": p.Sessions, "first_session_at": p.FirstSessionAt,
		"timezone": p.Timezone, "cadence": p.Cadence, "duration_minutes": p.Duration, "format": p.Format})
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/cops/"+url.PathEscape(cop)+"/programs", body, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "plan a program", "cop", cop, "error", err)
		w.renderProgram(rw, r, c, cop, http.StatusBadGateway, &form, nil, "", "Scheduling could not be reached; nothing was planned. Try again in a moment.")
		return
	}
	if status >= 300 {
		w.renderProgram(rw, r, c, cop, status, &form, nil, "", "Scheduling refused the program: "+detail)
		return
	}
	http.Redirect(rw, r, "/cops/"+url.PathEscape(cop)+"/program?notice=planned#programs", http.StatusSeeOther)
}

// sessionPageData is what the session page shows.
type sessionPageData struct {
	pageData
	Session sessionLine
	Raw     schedSession
	CoPName string
	Manages bool
	// Answers says the caller may answer ahead: members do; those who run the CoP only
	// when they are members too.
	Answers  bool
	MyAnswer string
	// Answers are the members' answers ahead, for those who run the CoP.
	Coming, Apologies []string
	// Others are the CoP's other upcoming sessions a role can be swapped with.
	Others     []sessionLine
	Members    []memberChoice
	Reschedule rescheduleForm
	Fields     map[string]string
}

type memberChoice struct {
	ID, Name string
	Checked  bool
}

var sessionNotices = map[string]string{
	"coming":      "Thanks — you said you will come.",
	"apologies":   "Your apologies are sent.",
	"rescheduled": "The session is changed; members' calendars show the change.",
	"cancelled":   "The session is cancelled; members' calendars show it cancelled.",
	"hosts":       "The session's hosts are saved.",
	"swapped":     "The roles are swapped.",
}

func (w *Web) loadSession(r *http.Request, c caller, id string) (schedSession, error) {
	var s schedSession
	if err := checkID("id", id); err != nil {
		return s, err
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/sessions/"+url.PathEscape(id), nil, &s)
	return s, apiError(status, detail, err)
}

func (w *Web) sessionPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderSession(rw, r, c, r.PathValue("id"), http.StatusOK, nil, nil, sessionNotices[r.URL.Query().Get("notice")], "")
}

func (w *Web) renderSession(rw http.ResponseWriter, r *http.Request, c caller, id string, status int, form *rescheduleForm, fields map[string]string, notice, problem string) {
	s, err := w.loadSession(r, c, id)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d := sessionPageData{pageData: pageData{Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: notice, Error: problem},
		Raw: s, CoPName: w.copName(r, s.CoPID), Manages: w.manages(r, c, s.CoPID), Fields: fields}
	who := people{names: map[string]string{}, self: c.claims.Subject}
	if d.Manages {
		who = w.roster(r, c, s.CoPID)
	}
	now := time.Now()
	d.Session = line(s, who, now)
	d.Title = fmt.Sprintf("Session %d of %s", s.Number, d.CoPName)
	d.Answers = !d.Manages || c.claims.IsMemberOf(s.CoPID)
	var answers struct {
		RSVPs []schedRSVP `json:"rsvps"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/sessions/"+url.PathEscape(id)+"/rsvps", nil, &answers); err == nil && st == http.StatusOK {
		for _, a := range answers.RSVPs {
			if a.PersonID == c.claims.Subject {
				d.MyAnswer = a.Answer
			}
			if a.Answer == "coming" {
				d.Coming = append(d.Coming, who.name(a.PersonID))
			} else {
				d.Apologies = append(d.Apologies, who.name(a.PersonID))
			}
		}
	}
	loc := zoneOr(s.Timezone)
	d.Reschedule = rescheduleForm{Date: s.StartsAt.In(loc).Format(time.DateOnly), Time: s.StartsAt.In(loc).Format("15:04"),
		Duration: strconv.Itoa(int(s.EndsAt.Sub(s.StartsAt).Minutes())), Topic: s.Topic, Location: s.Location, Link: s.Link}
	if form != nil {
		d.Reschedule = *form
	}
	if d.Manages && d.Session.Upcoming {
		if all, err := w.copSessions(r, c, s.CoPID, now.UTC().Format(time.RFC3339)); err == nil {
			for _, o := range all {
				if o.ID != s.ID && o.Status == "scheduled" && len(o.HostGroup) == 0 {
					d.Others = append(d.Others, line(o, who, now))
				}
			}
		}
		for _, id := range who.order {
			d.Members = append(d.Members, memberChoice{ID: id, Name: who.names[id], Checked: slices.Contains(s.HostGroup, id)})
		}
	}
	w.pages.render(rw, r, status, "session", d)
}

// forward sends a session form's change to scheduling and comes back to the session page
// with a notice, or shows the page again with scheduling's reason.
func (w *Web) forward(rw http.ResponseWriter, r *http.Request, c caller, id, method, path string, body any, notice string) {
	w.forwardTo(rw, r, c, id, method, path, body, "/sessions/"+url.PathEscape(id)+"?notice="+notice)
}

// forwardTo is forward coming back to back (a page of this console) when it succeeds.
func (w *Web) forwardTo(rw http.ResponseWriter, r *http.Request, c caller, id, method, path string, body any, back string) {
	raw, _ := json.Marshal(body)
	status, detail, err := w.callAPI(r, c.token, method, path, raw, nil)
	if err != nil {
		w.log.ErrorContext(r.Context(), "forward to scheduling", "path", path, "error", err)
		w.renderSession(rw, r, c, id, http.StatusBadGateway, nil, nil, "", "Scheduling could not be reached; nothing was changed. Try again in a moment.")
		return
	}
	if status >= 300 {
		w.renderSession(rw, r, c, id, status, nil, nil, "", "Scheduling refused: "+detail)
		return
	}
	http.Redirect(rw, r, back, http.StatusSeeOther)
}

// sessionForm starts a session form post: the CSRF check, the signed-in caller, the id.
func (w *Web) sessionForm(rw http.ResponseWriter, r *http.Request, what string) (caller, string, bool) {
	c, ok := w.formCaller(rw, r, what)
	if !ok {
		return c, "", false
	}
	id := r.PathValue("id")
	if err := checkID("id", id); err != nil {
		httpx.WriteProblem(rw, r, err)
		return c, "", false
	}
	return c, id, true
}

func (w *Web) answerRSVP(rw http.ResponseWriter, r *http.Request) {
	c, id, ok := w.sessionForm(rw, r, "sign in to answer for a session")
	if !ok {
		return
	}
	answer, err := rsvpAnswer(r.PostForm)
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	// A form elsewhere (the member's page, the CoP home) may ask to come back to it with
	// next; only a path of this console is followed.
	back := "/sessions/" + url.PathEscape(id) + "?notice=" + answer
	if next := r.PostFormValue("next"); next != "" {
		back = safeNext(next)
	}
	w.forwardTo(rw, r, c, id, http.MethodPut, "/v1/sessions/"+url.PathEscape(id)+"/rsvp", map[string]string{"answer": answer}, back)
}

func (w *Web) rescheduleSession(rw http.ResponseWriter, r *http.Request) {
	c, id, ok := w.sessionForm(rw, r, "sign in to change a session")
	if !ok {
		return
	}
	form, body, err := parseRescheduleForm(r.PostForm)
	if err != nil {
		fields, msg := problemFields(err)
		w.renderSession(rw, r, c, id, http.StatusBadRequest, &form, fields, "", msg)
		return
	}
	w.forward(rw, r, c, id, http.MethodPut, "/v1/sessions/"+url.PathEscape(id), body, "rescheduled")
}

func (w *Web) cancelSession(rw http.ResponseWriter, r *http.Request) {
	c, id, ok := w.sessionForm(rw, r, "sign in to cancel a session")
	if !ok {
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || !oneLineText(strings.ReplaceAll(reason, "\n", " "), 2000) {
		w.renderSession(rw, r, c, id, http.StatusBadRequest, nil, map[string]string{"reason": "is required"}, "",
			"Say why the session is cancelled (at most 2000 characters): members read it.")
		return
	}
	w.forward(rw, r, c, id, http.MethodPost, "/v1/sessions/"+url.PathEscape(id)+"/cancel", map[string]string{"reason": reason}, "cancelled")
}

func (w *Web) setSessionHosts(rw http.ResponseWriter, r *http.Request) {
	c, id, ok := w.sessionForm(rw, r, "sign in to choose a session's hosts")
	if !ok {
		return
	}
	group := r.PostForm["host"]
	if len(group) > 50 || slices.ContainsFunc(group, func(p string) bool { return checkID("host", p) != nil }) {
		httpx.WriteProblem(rw, r, apperr.Invalid("host", "must be at most 50 members of the CoP"))
		return
	}
	if group == nil {
		group = []string{}
	}
	w.forward(rw, r, c, id, http.MethodPut, "/v1/sessions/"+url.PathEscape(id)+"/hosts", map[string]any{"host_group": group}, "hosts")
}

func (w *Web) swapRole(rw http.ResponseWriter, r *http.Request) {
	c, id, ok := w.sessionForm(rw, r, "sign in to swap roles")
	if !ok {
		return
	}
	role, with := r.PostFormValue("role"), r.PostFormValue("with")
	if (role != "facilitator" && role != "note_taker") || checkID("with", with) != nil {
		httpx.WriteProblem(rw, r, apperr.Invalid("role", "choose facilitator or note-taker, and the session to swap with"))
		return
	}
	w.forward(rw, r, c, id, http.MethodPost, "/v1/sessions/"+url.PathEscape(id)+"/swap", map[string]string{"role": role, "with_session": with}, "swapped")
}

// sheetRow is one member on the attendance sheet.
type sheetRow struct {
	ID, Name, Status string
	// Said is what they answered ahead, for the coordinator to see why a box is ticked.
	Said string
}

type attendancePageData struct {
	pageData
	Session  sessionLine
	CoPID    string
	CoPName  string
	Rows     []sheetRow
	Held     bool
	Notes    string
	Outcomes string
	Statuses []struct{ Value, Label string }
}

var attendanceNotices = map[string]string{
	"saved": "Attendance is saved.",
	"held":  "Attendance is saved and the session is marked held.",
}

func (w *Web) attendancePage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderAttendance(rw, r, c, r.PathValue("id"), http.StatusOK, nil, attendanceNotices[r.URL.Query().Get("notice")], "")
}

func (w *Web) renderAttendance(rw http.ResponseWriter, r *http.Request, c caller, id string, status int, typed *attendanceSheet, notice, problem string) {
	s, err := w.loadSession(r, c, id)
	if err == nil {
		err = httpx.Authorize(c.claims, w.manages(r, c, s.CoPID), "take this session's attendance")
	}
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	who := w.roster(r, c, s.CoPID)
	d := attendancePageData{pageData: pageData{Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: notice, Error: problem},
		Session: line(s, who, time.Now()), CoPID: s.CoPID, CoPName: w.copName(r, s.CoPID), Held: s.Status == "held",
		Notes: s.Notes, Outcomes: strings.Join(s.Outcomes, "\n"),
		Statuses: []struct{ Value, Label string }{{"attended", "Present"}, {"apologies", "Apologies"}, {"absent", "Absent"}}}
	d.Title = fmt.Sprintf("Attendance, session %d", s.Number)
	// What was recorded wins; else what members said ahead; else absent.
	said := map[string]string{}
	var answers struct {
		RSVPs []schedRSVP `json:"rsvps"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/sessions/"+url.PathEscape(id)+"/rsvps", nil, &answers); err == nil && st == http.StatusOK {
		for _, a := range answers.RSVPs {
			said[a.PersonID] = a.Answer
		}
	}
	recorded := map[string]string{}
	var recs struct {
		Records []attendanceRecord `json:"records"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/sessions/"+url.PathEscape(id)+"/attendance", nil, &recs); err == nil && st == http.StatusOK {
		for _, rec := range recs.Records {
			recorded[rec.PersonID] = rec.Status
		}
	}
	if typed != nil {
		for _, rec := range typed.Records {
			recorded[rec.PersonID] = rec.Status
		}
		d.Notes, d.Outcomes = typed.Notes, strings.Join(typed.Outcomes, "\n")
	}
	for _, id := range who.order {
		row := sheetRow{ID: id, Name: who.names[id], Status: "absent", Said: map[string]string{"coming": "said they would come", "apologies": "sent apologies ahead"}[said[id]]}
		switch {
		case recorded[id] != "":
			row.Status = recorded[id]
		case said[id] == "coming":
			row.Status = "attended"
		case said[id] == "apologies":
			row.Status = "apologies"
		}
		d.Rows = append(d.Rows, row)
	}
	w.pages.render(rw, r, status, "attendance", d)
}

func (w *Web) saveAttendance(rw http.ResponseWriter, r *http.Request) {
	c, id, ok := w.sessionForm(rw, r, "sign in to take attendance")
	if !ok {
		return
	}
	sheet, err := parseAttendanceForm(r.PostForm)
	if err != nil {
		_, msg := problemFields(err)
		w.renderAttendance(rw, r, c, id, http.StatusBadRequest, &sheet, "", msg)
		return
	}
	refused := func(status int, detail string, err error) bool {
		if err != nil {
			w.log.ErrorContext(r.Context(), "save attendance", "session", id, "error", err)
			w.renderAttendance(rw, r, c, id, http.StatusBadGateway, &sheet, "", "Scheduling could not be reached; try again in a moment.")
			return true
		}
		if status >= 300 {
			w.renderAttendance(rw, r, c, id, status, &sheet, "", "Scheduling refused: "+detail)
			return true
		}
		return false
	}
	body, _ := json.Marshal(sheet.Records)
	if refused(w.callAPI(r, c.token, http.MethodPost, "/v1/sessions/"+url.PathEscape(id)+"/attendance", body, nil)) {
		return
	}
	notice := "saved"
	if sheet.Held {
		s, err := w.loadSession(r, c, id)
		if err != nil {
			w.pageError(rw, r, c, err)
			return
		}
		if s.Status != "held" {
			body, _ := json.Marshal(map[string]any{"notes": sheet.Notes, "outcomes": sheet.Outcomes})
			if refused(w.callAPI(r, c.token, http.MethodPost, "/v1/sessions/"+url.PathEscape(id)+"/held", body, nil)) {
				return
			}
		}
		notice = "held"
	}
	http.Redirect(rw, r, "/sessions/"+url.PathEscape(id)+"/attendance?notice="+notice, http.StatusSeeOther)
}

// nextSessionsView is what the "next-sessions" partial (partials.html) shows: the
// sessions, whether to offer the answer buttons (members), the page's CSRF token, and the
// page to come back to after answering (e.g. "/me").
type nextSessionsView struct {
	Sessions   []sessionLine
	Answer     bool
	CSRF, Next string
}

// nextSessionsOf returns the caller's next sessions across their CoPs, soonest first, with
// their answer ahead of each: for the member's page (/me). Each links to /sessions/{id},
// where the member answers. The personal calendar feed of the same sessions comes from
// POST /v1/people/{id}/calendar-link (scheduling), with the person's own token.
func (w *Web) nextSessionsOf(r *http.Request, c caller, limit int) ([]sessionLine, error) {
	var got struct {
		Sessions []struct {
			Session schedSession `json:"session"`
			CoPName string       `json:"cop_name"`
			RSVP    string       `json:"rsvp"`
		} `json:"sessions"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/me/sessions?limit="+strconv.Itoa(limit), nil, &got)
	if err := apiError(status, detail, err); err != nil {
		return nil, err
	}
	who := people{names: map[string]string{}, self: c.claims.Subject}
	out := []sessionLine{}
	now := time.Now()
	for _, s := range got.Sessions {
		l := line(s.Session, who, now)
		l.RSVP, l.CoP = s.RSVP, s.CoPName
		out = append(out, l)
	}
	return out, nil
}

// copNextSessions returns a CoP's next sessions (scheduled or cancelled, not yet started),
// soonest first, at most limit, with the caller's answer ahead of each: for the CoP home
// (each links to /sessions/{id}) and the program page.
func (w *Web) copNextSessions(r *http.Request, c caller, cop string, limit int) ([]sessionLine, error) {
	now := time.Now()
	all, err := w.copSessions(r, c, cop, now.UTC().Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	who := people{names: map[string]string{}, self: c.claims.Subject}
	if w.manages(r, c, cop) {
		who = w.roster(r, c, cop)
	}
	out := []sessionLine{}
	for _, s := range all {
		if len(out) == limit {
			break
		}
		l := line(s, who, now)
		l.RSVP = w.myAnswer(r, c, s.ID)
		out = append(out, l)
	}
	return out, nil
}

// myAnswer is the caller's answer ahead of a session, or "".
func (w *Web) myAnswer(r *http.Request, c caller, session string) string {
	var got struct {
		RSVPs []schedRSVP `json:"rsvps"`
	}
	if st, _, err := w.callAPI(r, c.token, http.MethodGet, "/v1/sessions/"+url.PathEscape(session)+"/rsvps", nil, &got); err != nil || st != http.StatusOK {
		return ""
	}
	for _, a := range got.RSVPs {
		if a.PersonID == c.claims.Subject {
			return a.Answer
		}
	}
	return ""
}

// mySessionsPageData is the member's next sessions and their calendar link.
type mySessionsPageData struct {
	pageData
	Next nextSessionsView
	// Feed is the personal calendar feed just issued (shown once) as a webcal link, which
	// html/template would otherwise refuse as an unknown scheme; FeedHTTPS the same feed.
	Feed      template.URL
	FeedHTTPS string
}

func (w *Web) mySessionsPage(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	w.renderMySessions(rw, r, c, http.StatusOK, mySessionsPageData{})
}

func (w *Web) renderMySessions(rw http.ResponseWriter, r *http.Request, c caller, status int, d mySessionsPageData) {
	next, err := w.nextSessionsOf(r, c, 10)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	d.pageData = pageData{Title: "Your next sessions", Caller: c.claims, CSRF: httpx.CSRFToken(rw, r), Notice: d.Notice, Error: d.Error}
	d.Next = nextSessionsView{Sessions: next, Answer: true, CSRF: d.CSRF, Next: "/me/sessions"}
	w.pages.render(rw, r, status, "mysessions", d)
}

// myCalendarLink issues the caller's personal calendar feed (scheduling's POST
// /v1/people/{id}/calendar-link), replacing any earlier link, and shows it once.
func (w *Web) myCalendarLink(rw http.ResponseWriter, r *http.Request) {
	c, ok := w.formCaller(rw, r, "sign in to get your calendar link")
	if !ok {
		return
	}
	var link struct {
		URL    string `json:"url"`
		Webcal string `json:"webcal"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodPost, "/v1/people/"+url.PathEscape(c.claims.Subject)+"/calendar-link", nil, &link)
	if err := apiError(status, detail, err); err != nil {
		w.renderMySessions(rw, r, c, http.StatusBadGateway, mySessionsPageData{pageData: pageData{Error: "No calendar link could be made: " + err.Error()}})
		return
	}
	d := mySessionsPageData{FeedHTTPS: link.URL}
	// Scheduling builds the link from the node's configured public URL; only its own
	// webcal form is trusted as such.
	if strings.HasPrefix(link.Webcal, "webcal://") && !strings.ContainsAny(link.Webcal, "\"<> ") {
		d.Feed = template.URL(link.Webcal)
	}
	d.Notice = "Your calendar link is ready. Any earlier link of yours stops working."
	w.renderMySessions(rw, r, c, http.StatusOK, d)
}
