package ports

// Reports for funders and secretariats, and a CoP's exports for its own reporting: the
// nation's and a region's printable network report with its CSV, a CoP's printable report,
// and the CoP's roster, attendance, projects and polls as CSV. Figures come from the
// console's projection (built from events); the roster, the only personal data, is read
// from membership with the person's own token, so membership decides who may have it.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/projection"
)

func (w *Web) reportsRoutes() []Route {
	return []Route{
		{"GET", "/report", w.nationalReport},
		{"GET", "/report.csv", w.nationalReportCSV},
		{"GET", "/regions/{id}/report", w.regionReport},
		{"GET", "/regions/{id}/report.csv", w.regionReportCSV},
		{"GET", "/cops/{id}/report", w.copReport},
		{"GET", "/cops/{id}/exports/roster.csv", w.rosterCSV},
		{"GET", "/cops/{id}/exports/attendance.csv", w.attendanceCSV},
		{"GET", "/cops/{id}/exports/projects.csv", w.projectsCSV},
		{"GET", "/cops/{id}/exports/polls.csv", w.pollsCSV},
	}
}

// reportPageData is what the network report shows.
type reportPageData struct {
	pageData
	Report *projection.Report
	// Dated is the report's date in words, for its header and a printed page.
	Dated string
	// CSV is the link to the same figures as a spreadsheet.
	CSV string
}

// readReport reads the nation's report (region "") or a region's for c: national sees
// every report, a hub officer their region's.
func (w *Web) readReport(r *http.Request, c caller, region string) (*projection.Report, error) {
	if region != "" {
		if err := checkID("id", region); err != nil {
			return nil, err
		}
	}
	allowed := c.claims.IsNational() || (region != "" && c.claims.IsHubOf(region))
	what := "see the national report"
	if region != "" {
		what = "see the report of region " + region
	}
	if err := httpx.Authorize(c.claims, allowed, what); err != nil {
		return nil, err
	}
	rep, err := w.store.Report(r.Context(), region)
	if errors.Is(err, projection.ErrNotFound) {
		err = apperr.NotFound("the console has no events about region %q yet", region)
	}
	return rep, err
}

func (w *Web) nationalReport(rw http.ResponseWriter, r *http.Request) { w.reportPage(rw, r, "") }

func (w *Web) regionReport(rw http.ResponseWriter, r *http.Request) {
	w.reportPage(rw, r, r.PathValue("id"))
}

func (w *Web) reportPage(rw http.ResponseWriter, r *http.Request, region string) {
	c, ok := w.pageCaller(rw, r)
	if !ok {
		return
	}
	rep, err := w.readReport(r, c, region)
	if err != nil {
		w.pageError(rw, r, c, err)
		return
	}
	link := "/report.csv"
	if region != "" {
		link = "/regions/" + url.PathEscape(region) + "/report.csv"
	}
	w.pages.render(rw, r, http.StatusOK, "report", reportPageData{
		pageData: pageData{Title: "Network report: " + rep.ScopeName, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)},
		Report:   rep, Dated: rep.GeneratedAt.Format("Monday 2 January 2006, 15:04 UTC"), CSV: link})
}

func (w *Web) nationalReportCSV(rw http.ResponseWriter, r *http.Request) { w.reportCSV(rw, r, "") }

func (w *Web) regionReportCSV(rw http.ResponseWriter, r *http.Request) {
	w.reportCSV(rw, r, r.PathValue("id"))
}

// ReportCSVHeader is the network report's header row. Each row is a region, the nation's
// totals ("total") or, in a region's report, one of its CoPs ("cop"), with the columns
// that apply to it; the others are empty.
func ReportCSVHeader() []string {
	h := []string{"kind", "id", "name", "region", "cops"}
	for _, s := range projection.Statuses {
		h = append(h, "status_"+s)
	}
	for _, s := range projection.Stages {
		h = append(h, "stage_"+s)
	}
	return append(h, "members", "sessions_held", "sessions_held_90d", "attendance_trend", "latest_attendance_rate",
		"confidence_trend", "latest_confidence_mean", "declining", "overlaps_detected", "overlaps_coordinated", "overlaps_open",
		"gaps_open", "gaps_supplied", "gaps_filled", "requests_raised", "requests_answered", "charter_version", "latest_checkin_meets_needs_share")
}

// reportCSVRows are the report's rows under ReportCSVHeader: the regions, then the totals
// (the nation's report) or the region's CoPs.
func reportCSVRows(rep *projection.Report) [][]string {
	counts := func(byStatus, byStage map[string]int) []string {
		var out []string
		for _, s := range projection.Statuses {
			out = append(out, strconv.Itoa(byStatus[s]))
		}
		for _, s := range projection.Stages {
			out = append(out, strconv.Itoa(byStage[s]))
		}
		return out
	}
	evidence := func(f projection.ReportFigures) []string {
		return []string{strconv.Itoa(f.OverlapsDetected), strconv.Itoa(f.OverlapsCoordinated), strconv.Itoa(f.OverlapsOpen),
			strconv.Itoa(f.GapsOpen), strconv.Itoa(f.GapsSupplied), strconv.Itoa(f.GapsFilled), strconv.Itoa(f.RequestsRaised), strconv.Itoa(f.RequestsAnswered)}
	}
	var rows [][]string
	for _, g := range rep.Regions {
		row := slices.Concat([]string{"region", g.ID, g.Name, g.ID, strconv.Itoa(g.CoPs)}, counts(g.CoPsByStatus, g.CoPsByStage),
			[]string{strconv.Itoa(g.Members), strconv.Itoa(g.SessionsHeld), strconv.Itoa(g.SessionsHeld90d),
				series(g.AttendanceTrend), last(g.AttendanceTrend), series(g.ConfidenceTrend), last(g.ConfidenceTrend), strconv.Itoa(g.Declining)},
			evidence(g.ReportFigures), []string{"", ""})
		rows = append(rows, row)
	}
	if rep.Scope == "" {
		t := rep.Totals
		rows = append(rows, slices.Concat([]string{"total", "", "All regions", "", strconv.Itoa(t.CoPs)}, counts(t.CoPsByStatus, t.CoPsByStage),
			[]string{strconv.Itoa(t.Members), strconv.Itoa(t.SessionsHeld), strconv.Itoa(t.SessionsHeld90d), "", "", "", "", ""},
			evidence(t.ReportFigures), []string{"", ""}))
	}
	for _, h := range rep.CoPs {
		byStatus, byStage := map[string]int{h.Status: 1}, map[string]int{h.Stage: 1}
		declining, checkin := "0", ""
		if h.Declining {
			declining = "1"
		}
		if h.LatestCheckin != nil {
			checkin = strconv.FormatFloat(round3(h.LatestCheckin.YesShare()), 'f', -1, 64)
		}
		rows = append(rows, slices.Concat([]string{"cop", h.ID, h.Name, h.Region, "1"}, counts(byStatus, byStage),
			[]string{strconv.Itoa(h.Members), "", strconv.Itoa(h.SessionsHeld90d), series(h.AttendanceTrend), last(h.AttendanceTrend),
				"", "", declining, "", "", "", "", "", "", "", ""},
			[]string{strconv.Itoa(h.CharterVersion), checkin}))
	}
	return rows
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// series writes a trend as its values separated by spaces, oldest first: one cell.
func series(s []float64) string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strings.Join(out, " ")
}

func (w *Web) reportCSV(rw http.ResponseWriter, r *http.Request, region string) {
	c, ok := w.whoIs(r)
	if !ok {
		w.pageCaller(rw, r)
		return
	}
	rep, err := w.readReport(r, c, region)
	if err != nil {
		httpx.WriteProblem(rw, r, err)
		return
	}
	scope := "national"
	if region != "" {
		scope = "region-" + region
	}
	writeCSVFile(rw, "copnet-report-"+scope+"-"+rep.GeneratedAt.Format(time.DateOnly), ReportCSVHeader(), reportCSVRows(rep))
}

// writeCSVFile answers a CSV download: RFC 4180 (CRLF line ends), the header row first,
// every cell through csvCell.
func writeCSVFile(rw http.ResponseWriter, name string, header []string, rows [][]string) {
	h := rw.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+url.PathEscape(name)+`.csv"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	out := csv.NewWriter(rw)
	out.UseCRLF = true
	_ = writeCSV(out, header)
	for _, row := range rows {
		_ = writeCSV(out, row)
	}
	out.Flush()
}

// copReportAccess says whether c may have CoP id's report and exports: national, its
// region's hub, its coordinator or working group. A member is not given the CoP's records
// of other people; an unknown CoP is forbidden rather than missing for anyone else.
func (w *Web) copReportAccess(r *http.Request, c caller, id string) error {
	if err := checkID("id", id); err != nil {
		return err
	}
	if c.claims.IsNational() || c.claims.IsCoordinatorOf(id) ||
		slices.Contains(c.claims.Grants, httpx.Grant{Role: httpx.RoleWorkingGroup, CoP: id}) {
		return nil
	}
	region, err := w.store.RegionOf(r.Context(), id)
	if err != nil && !errors.Is(err, projection.ErrNotFound) {
		return err
	}
	return httpx.Authorize(c.claims, err == nil && c.claims.IsHubOf(region), "have the reports of CoP "+id)
}

// copRead is the common start of a CoP report or export: the caller, their access, the
// CoP's report from the projection. ok is false once the answer is sent (as a page when
// page is true, else as a problem).
func (w *Web) copRead(rw http.ResponseWriter, r *http.Request, page bool) (caller, *projection.CoPReport, bool) {
	c, signed := w.whoIs(r)
	if !signed {
		w.pageCaller(rw, r)
		return c, nil, false
	}
	id := r.PathValue("id")
	err := w.copReportAccess(r, c, id)
	var rep *projection.CoPReport
	if err == nil {
		rep, err = w.store.CoPReport(r.Context(), id)
		if errors.Is(err, projection.ErrNotFound) {
			err = apperr.NotFound("the console has no events about CoP %q yet", id)
		}
	}
	if err != nil {
		if page {
			w.pageError(rw, r, c, err)
		} else {
			httpx.WriteProblem(rw, r, err)
		}
		return c, nil, false
	}
	return c, rep, true
}

// schSession is what the CoP report reads of scheduling's session: its outcomes.
type schSession struct {
	ID       string    `json:"id"`
	Number   int       `json:"number"`
	StartsAt time.Time `json:"starts_at"`
	Timezone string    `json:"timezone"`
	Topic    string    `json:"topic"`
	Status   string    `json:"status"`
	Notes    string    `json:"notes"`
	Outcomes []string  `json:"outcomes"`
}

// outcomeView is one held session's outcomes as the report lists them.
type outcomeView struct {
	Session  string
	When     string
	Outcomes []string
}

// attendanceView is one session's attendance row, its day in the CoP's zone.
type attendanceView struct {
	projection.SessionAttendance
	When string
}

// copReportData is what the CoP report shows.
type copReportData struct {
	pageData
	Report     *projection.CoPReport
	Dated      string
	Attendance []attendanceView
	Outcomes   []outcomeView
	// OutcomesError says why the outcomes could not be read from scheduling;
	// OutcomesNote that this node keeps no sessions of the CoP (scheduling runs elsewhere).
	OutcomesError, OutcomesNote string
}

func (w *Web) copReport(rw http.ResponseWriter, r *http.Request) {
	c, rep, ok := w.copRead(rw, r, true)
	if !ok {
		return
	}
	d := copReportData{pageData: pageData{Title: "Report: " + rep.Name, Caller: c.claims, CSRF: httpx.CSRFToken(rw, r)},
		Report: rep, Dated: rep.GeneratedAt.Format("Monday 2 January 2006, 15:04 UTC")}
	for _, s := range rep.Attendance {
		d.Attendance = append(d.Attendance, attendanceView{SessionAttendance: s, When: localDay(sessionWhen(s.Session), s.Timezone)})
	}
	// The outcomes recorded when sessions were marked held stay in scheduling: read them
	// with the person's own token, so scheduling decides whether they may.
	var page struct {
		Sessions []schSession `json:"sessions"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(rep.ID)+"/sessions", nil, &page)
	switch {
	case err != nil:
		w.log.WarnContext(r.Context(), "read the CoP's sessions from scheduling", "cop", rep.ID, "error", err)
		d.OutcomesError = "The outcomes could not be read from the scheduling service just now."
	case status == http.StatusNotFound:
		d.OutcomesNote = "The outcomes are kept by the scheduling service, which has no sessions of this CoP on this node."
	case status >= 300:
		d.OutcomesError = "The scheduling service did not give the outcomes: " + detail
	}
	for _, s := range page.Sessions {
		if s.Status != "held" || (len(s.Outcomes) == 0 && strings.TrimSpace(s.Notes) == "") {
			continue
		}
		outcomes := slices.Clone(s.Outcomes)
		if len(outcomes) == 0 {
			outcomes = []string{s.Notes}
		}
		name := fmt.Sprintf("Session %d", s.Number)
		if s.Topic != "" {
			name += ": " + s.Topic
		}
		d.Outcomes = append(d.Outcomes, outcomeView{Session: name, When: localDay(&s.StartsAt, s.Timezone), Outcomes: outcomes})
	}
	w.pages.render(rw, r, http.StatusOK, "copreport", d)
}

// sessionWhen is when a session took place, else when it was marked held.
func sessionWhen(s projection.Session) *time.Time {
	if s.StartsAt != nil {
		return s.StartsAt
	}
	return s.HeldAt
}

// localDay is t's day in zone, as a person reads it ("Tue 10 Mar 2026"); UTC when the zone
// is unknown, and then it says so.
func localDay(t *time.Time, zone string) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		return t.In(loc).Format("Mon 2 Jan 2006")
	}
	return t.UTC().Format("Mon 2 Jan 2006") + " (UTC)"
}

// isoDay is t's date in zone for a spreadsheet (YYYY-MM-DD).
func isoDay(t *time.Time, zone string) string {
	if t == nil || t.IsZero() {
		return ""
	}
	if loc, err := time.LoadLocation(zone); err == nil && zone != "" {
		return t.In(loc).Format(time.DateOnly)
	}
	return t.UTC().Format(time.DateOnly)
}

// RosterCSVHeader, AttendanceCSVHeader, ProjectsCSVHeader and PollsCSVHeader are the CoP
// exports' header rows.
func RosterCSVHeader() []string {
	return []string{"name", "roles", "code_of_practice_version", "joined_on", "coordinator_term_ends_on"}
}

// AttendanceCSVHeader is the attendance export's header: one row per session, counts only.
func AttendanceCSVHeader() []string {
	return []string{"session_number", "topic", "date", "timezone", "held", "attended", "apologies", "absent", "expected", "attendance_rate"}
}

// ProjectsCSVHeader is the projects export's header: one row per mapped project.
func ProjectsCSVHeader() []string {
	return []string{"project_id", "title", "organisation", "topics", "communities", "starts_on", "ends_on"}
}

// PollsCSVHeader is the polls export's header: one row per poll, its published figures.
func PollsCSVHeader() []string {
	return []string{"poll_id", "session_id", "kind", "purpose", "state", "responses", "confidence_mean", "usefulness_mean",
		"meets_needs_yes", "meets_needs_partly", "meets_needs_no"}
}

// rosterCSV exports the roster as membership gives it to the caller: names and roles only,
// never contact details.
func (w *Web) rosterCSV(rw http.ResponseWriter, r *http.Request) {
	c, rep, ok := w.copRead(rw, r, false)
	if !ok {
		return
	}
	var page struct {
		Members []struct {
			Name                  string     `json:"name"`
			Roles                 []string   `json:"roles"`
			CodeOfPracticeVersion int        `json:"code_of_practice_version"`
			JoinedAt              time.Time  `json:"joined_at"`
			CoordinatorTermEndsAt *time.Time `json:"coordinator_term_ends_at"`
		} `json:"members"`
	}
	status, detail, err := w.callAPI(r, c.token, http.MethodGet, "/v1/cops/"+url.PathEscape(rep.ID)+"/members", nil, &page)
	if err != nil {
		w.log.ErrorContext(r.Context(), "read the roster from membership", "cop", rep.ID, "error", err)
		httpx.WriteProblem(rw, r, apperr.NotFound("the roster of CoP %q could not be read just now", rep.ID))
		return
	}
	if status >= 300 {
		httpx.WriteProblem(rw, r, problemOf(status, detail))
		return
	}
	zone := copZone(rep)
	rows := make([][]string, 0, len(page.Members))
	for _, m := range page.Members {
		rows = append(rows, []string{m.Name, strings.Join(m.Roles, " "), strconv.Itoa(m.CodeOfPracticeVersion),
			isoDay(&m.JoinedAt, zone), isoDay(m.CoordinatorTermEndsAt, zone)})
	}
	slices.SortFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	writeCSVFile(rw, "copnet-roster-"+rep.ID, RosterCSVHeader(), rows)
}

// copZone is the CoP's time zone as its sessions tell it ("" when none says).
func copZone(rep *projection.CoPReport) string {
	for _, s := range rep.Attendance {
		if s.Timezone != "" {
			return s.Timezone
		}
	}
	return ""
}

func (w *Web) attendanceCSV(rw http.ResponseWriter, r *http.Request) {
	_, rep, ok := w.copRead(rw, r, false)
	if !ok {
		return
	}
	opt := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	rows := make([][]string, 0, len(rep.Attendance))
	for _, s := range rep.Attendance {
		rate := ""
		if s.Rate != nil {
			rate = strconv.FormatFloat(*s.Rate, 'f', -1, 64)
		}
		rows = append(rows, []string{strconv.Itoa(s.Number), s.Topic, isoDay(sessionWhen(s.Session), s.Timezone), s.Timezone,
			strconv.FormatBool(s.HeldAt != nil), opt(s.Attended), opt(s.Apologies), opt(s.Absent), opt(s.Expected), rate})
	}
	writeCSVFile(rw, "copnet-attendance-"+rep.ID, AttendanceCSVHeader(), rows)
}

func (w *Web) projectsCSV(rw http.ResponseWriter, r *http.Request) {
	_, rep, ok := w.copRead(rw, r, false)
	if !ok {
		return
	}
	rows := make([][]string, 0, len(rep.Projects))
	for _, p := range rep.Projects {
		var communities []string
		for _, c := range p.Communities {
			communities = append(communities, c.Place+": "+c.Group)
		}
		rows = append(rows, []string{p.ID, p.Title, p.Organisation, strings.Join(p.Topics, "; "), strings.Join(communities, "; "), p.StartsOn, p.EndsOn})
	}
	writeCSVFile(rw, "copnet-projects-"+rep.ID, ProjectsCSVHeader(), rows)
}

func (w *Web) pollsCSV(rw http.ResponseWriter, r *http.Request) {
	_, rep, ok := w.copRead(rw, r, false)
	if !ok {
		return
	}
	mean := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	rows := make([][]string, 0, len(rep.Polls))
	for _, p := range rep.Polls {
		state, responses := "open", ""
		switch {
		case p.Withheld:
			state = "withheld"
		case p.Responses != nil:
			state, responses = "published", strconv.Itoa(*p.Responses)
		case p.Closed:
			state = "closed"
		}
		meets := []string{"", "", ""}
		if p.MeetsNeeds != nil {
			meets = []string{strconv.Itoa(p.MeetsNeeds["yes"]), strconv.Itoa(p.MeetsNeeds["partly"]), strconv.Itoa(p.MeetsNeeds["no"])}
		}
		rows = append(rows, slices.Concat([]string{p.ID, p.SessionID, p.Kind, p.Purpose, state, responses,
			mean(p.ConfidenceMean), mean(p.UsefulnessMean)}, meets))
	}
	writeCSVFile(rw, "copnet-polls-"+rep.ID, PollsCSVHeader(), rows)
}

// trendWords says in words where a trend went from its first point to its latest, for the
// people who read a table rather than a line: "falling, 80% to 50%".
func trendWords(kind string, values []float64) string {
	if len(values) < 2 {
		return ""
	}
	show := pct
	step := 0.05 // five points of attendance
	if kind == "mean" {
		show = func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
		step = 0.2 // a fifth of a point on the 1-5 scale
	}
	first, latest := values[0], values[len(values)-1]
	word := "steady"
	switch {
	case latest <= first-step:
		word = "falling"
	case latest >= first+step:
		word = "rising"
	}
	return fmt.Sprintf("%s, %s to %s over %d sessions", word, show(first), show(latest), len(values))
}
