package console_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/console/internal/ports"
	"github.com/copnet/copnet/services/console/internal/projection"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/scheduling"
)

// wantReport are the report's evidence figures of scenario, worked out by hand: north held
// sn2 and sn1, south ss1 (ss2 was cancelled); o1 touches both regions, o2 (acknowledged)
// and o3 (coordinated) north only; north's r1 was answered (twice), r3 not; south's r2 was;
// north's gap on wound care was filled.
var wantReport = map[string]projection.ReportFigures{
	"north": {SessionsHeld: 2, OverlapsDetected: 3, OverlapsCoordinated: 1, OverlapsOpen: 1, GapsOpen: 1, GapsSupplied: 1, GapsFilled: 1,
		RequestsRaised: 2, RequestsAnswered: 1},
	"south": {SessionsHeld: 1, OverlapsDetected: 1, OverlapsCoordinated: 0, OverlapsOpen: 1, GapsOpen: 1, GapsSupplied: 0,
		RequestsRaised: 1, RequestsAnswered: 1},
	// The nation counts the cross-region o1 once.
	"": {SessionsHeld: 3, OverlapsDetected: 3, OverlapsCoordinated: 1, OverlapsOpen: 1, GapsOpen: 2, GapsSupplied: 1, GapsFilled: 1,
		RequestsRaised: 3, RequestsAnswered: 2},
}

// checkReport compares a report's evidence figures with wantReport.
func checkReport(t *testing.T, rep *projection.Report) {
	t.Helper()
	if rep.Scope == "" && rep.Totals.ReportFigures != wantReport[""] {
		t.Errorf("national totals = %+v, want %+v", rep.Totals.ReportFigures, wantReport[""])
	}
	for _, r := range rep.Regions {
		if r.ReportFigures != wantReport[r.ID] {
			t.Errorf("region %s = %+v, want %+v", r.ID, r.ReportFigures, wantReport[r.ID])
		}
		want := expectedRegions()[r.ID]
		if !reflect.DeepEqual(r.RegionFigures, want) {
			t.Errorf("region %s figures differ from the summary's:\n got  %+v\n want %+v", r.ID, r.RegionFigures, want)
		}
	}
}

// readCSV parses a CSV answer back, as a spreadsheet would, and checks its header row.
func readCSV(t *testing.T, raw []byte, header []string) [][]string {
	t.Helper()
	if !strings.Contains(string(raw), "\r\n") {
		t.Errorf("CSV lines do not end in CRLF (RFC 4180): %q", raw)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, raw)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], header) {
		t.Fatalf("CSV header = %q, want %q", rows[0], header)
	}
	return rows[1:]
}

// cell is row's value under column name.
func cell(t *testing.T, header, row []string, name string) string {
	t.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("no column %q", name)
	}
	return row[i]
}

// TestNetworkReports checks the national and regional reports' figures (HTML and CSV)
// against the scenario's, and who may have them.
func TestNetworkReports(t *testing.T) {
	n := startConsole(t)
	evs := scenario(time.Now())
	n.Publish(t, evs...)
	settled(t, n, len(evs))
	nat, north := national(t, n), hub(t, n, "north")

	t.Run("national CSV", func(t *testing.T) {
		st, raw := n.Do(t, "GET", "/report.csv", nat, nil)
		if st != http.StatusOK {
			t.Fatalf("status %d: %s", st, raw)
		}
		h := ports.ReportCSVHeader()
		rows := readCSV(t, raw, h)
		if len(rows) != 3 || rows[0][0] != "region" || rows[1][0] != "region" || rows[2][0] != "total" {
			t.Fatalf("rows = %q, want north, south and the total", rows)
		}
		want := map[string]map[string]string{
			"north": {"cops": "3", "status_active": "1", "status_proposed": "1", "stage_potential": "2", "members": "3", "sessions_held": "2",
				"sessions_held_90d": "1", "attendance_trend": "0.5 0.8", "latest_confidence_mean": "3.8", "declining": "1",
				"overlaps_detected": "3", "overlaps_coordinated": "1", "overlaps_open": "1", "gaps_open": "1", "gaps_supplied": "1", "gaps_filled": "1",
				"requests_raised": "2", "requests_answered": "1"},
			"south": {"cops": "2", "status_declined": "1", "sessions_held": "1", "overlaps_coordinated": "0", "requests_answered": "1"},
			"": {"name": "All regions", "cops": "5", "members": "6", "sessions_held": "3", "overlaps_detected": "3",
				"overlaps_coordinated": "1", "gaps_open": "2", "gaps_filled": "1", "requests_raised": "3", "requests_answered": "2"},
		}
		for _, row := range rows {
			for col, v := range want[row[1]] {
				if got := cell(t, h, row, col); got != v {
					t.Errorf("row %q column %s = %q, want %q", row[1], col, got, v)
				}
			}
		}
	})

	t.Run("region CSV lists its CoPs", func(t *testing.T) {
		st, raw := n.Do(t, "GET", "/regions/north/report.csv", north, nil)
		if st != http.StatusOK {
			t.Fatalf("status %d: %s", st, raw)
		}
		h := ports.ReportCSVHeader()
		rows := readCSV(t, raw, h)
		var kinds []string
		for _, r := range rows {
			kinds = append(kinds, r[0]+":"+r[1])
		}
		if !slices.Equal(kinds, []string{"region:north", "cop:n1", "cop:n2"}) {
			t.Fatalf("rows = %q, want north then its approved CoPs", kinds)
		}
		n1 := rows[1]
		for col, v := range map[string]string{"status_active": "1", "stage_coalescing": "1", "charter_version": "1", "members": "2",
			"attendance_trend": "0.5 0.8", "declining": "1"} {
			if got := cell(t, h, n1, col); got != v {
				t.Errorf("n1 %s = %q, want %q", col, got, v)
			}
		}
	})

	t.Run("pages", func(t *testing.T) {
		b := newBrowser(t, n.URL)
		b.signIn(nat)
		p := b.get("/report")
		if p.status != http.StatusOK {
			t.Fatalf("GET /report: %d", p.status)
		}
		for _, want := range []string{"Network report: National network", "Scope:", "every region", `data-figure="requests_answered">2 <span class="of">of 3`,
			`data-figure="overlaps_coordinated">1 <span class="of">of 3`, `href="/report.csv"`, "/static/report.css"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("national report lacks %q", want)
			}
		}
		hb := newBrowser(t, n.URL)
		hb.signIn(north)
		p = hb.get("/regions/north/report")
		if p.status != http.StatusOK || !strings.Contains(p.body, "Network report: Northland") || !strings.Contains(p.body, `id="report-cops"`) ||
			!strings.Contains(p.body, "rising, 50% to 80% over 2 sessions") {
			t.Errorf("north's report as its hub: %d\n%s", p.status, p.body)
		}
	})

	t.Run("access", func(t *testing.T) {
		south, coord, member := hub(t, n, "south"), n.Coordinator(t, "n1"), n.Member(t, "p1")
		for _, c := range []struct {
			path, token string
			want        int
		}{
			{"/report.csv", nat, http.StatusOK},
			{"/report.csv", north, http.StatusForbidden},
			{"/report.csv", coord, http.StatusForbidden},
			{"/regions/north/report.csv", north, http.StatusOK},
			{"/regions/north/report.csv", nat, http.StatusOK},
			{"/regions/north/report.csv", south, http.StatusForbidden},
			{"/regions/north/report.csv", coord, http.StatusForbidden},
			{"/regions/north/report.csv", member, http.StatusForbidden},
			{"/regions/nowhere/report.csv", nat, http.StatusNotFound},
		} {
			st, raw := n.Do(t, "GET", c.path, c.token, nil)
			if st != c.want {
				t.Errorf("GET %s: %d %s, want %d", c.path, st, raw, c.want)
				continue
			}
			if st >= 400 {
				if p := new(httpx.Problem); json.Unmarshal(raw, p) != nil || p.Status != st {
					t.Errorf("GET %s: %d is not a problem body: %s", c.path, st, raw)
				}
			}
		}
		for _, c := range []struct {
			path, token string
			want        int
		}{
			{"/report", north, http.StatusForbidden},
			{"/regions/north/report", south, http.StatusForbidden},
			{"/regions/north/report", member, http.StatusForbidden},
		} {
			b := newBrowser(t, n.URL)
			b.signIn(c.token)
			if p := b.get(c.path); p.status != c.want {
				t.Errorf("page %s: %d, want %d", c.path, p.status, c.want)
			}
		}
		if p := newBrowser(t, n.URL).get("/report.csv"); p.status != http.StatusSeeOther {
			t.Errorf("anonymous /report.csv: %d, want a redirect to sign in", p.status)
		}
	})
}

// TestCoPReportAndExports checks a CoP's report and its CSV exports, and that only those
// who run the CoP (its coordinator, working group, hub, national) have them.
func TestCoPReportAndExports(t *testing.T) {
	n := startConsole(t)
	evs := scenario(time.Now())
	n.Publish(t, evs...)
	settled(t, n, len(evs))
	coord := n.Coordinator(t, "n1")

	t.Run("attendance", func(t *testing.T) {
		st, raw := n.Do(t, "GET", "/cops/n1/exports/attendance.csv", coord, nil)
		if st != http.StatusOK {
			t.Fatalf("status %d: %s", st, raw)
		}
		rows := readCSV(t, raw, ports.AttendanceCSVHeader())
		day := func(d int) string {
			loc, _ := time.LoadLocation("Pacific/Auckland")
			return time.Now().Add(time.Duration(d) * 24 * time.Hour).In(loc).Format(time.DateOnly)
		}
		want := [][]string{
			{"1", "Triage basics", day(-120), "Pacific/Auckland", "true", "5", "3", "2", "10", "0.5"},
			{"2", "Triage in practice", day(-10), "Pacific/Auckland", "true", "8", "1", "1", "10", "0.8"},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("attendance rows:\n got  %q\n want %q", rows, want)
		}
	})
	t.Run("projects and polls", func(t *testing.T) {
		_, raw := n.Do(t, "GET", "/cops/n1/exports/projects.csv", coord, nil)
		rows := readCSV(t, raw, ports.ProjectsCSVHeader())
		if want := [][]string{{"pr1", "Triage outreach", "Health North", "triage", "Kaitaia: older people", "2026-01-01", "2026-06-30"}}; !reflect.DeepEqual(rows, want) {
			t.Errorf("projects rows = %q, want %q", rows, want)
		}
		_, raw = n.Do(t, "GET", "/cops/n1/exports/polls.csv", coord, nil)
		rows = readCSV(t, raw, ports.PollsCSVHeader())
		want := [][]string{
			{"e1", "sn1", "evaluation", "evaluation", "published", "6", "3.8", "4.2", "", "", ""},
			{"e2", "sn2", "evaluation", "evaluation", "published", "7", "3.2", "3.9", "", "", ""},
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("polls rows:\n got  %q\n want %q", rows, want)
		}
		_, raw = n.Do(t, "GET", "/cops/s1/exports/polls.csv", hub(t, n, "south"), nil)
		rows = readCSV(t, raw, ports.PollsCSVHeader())
		if len(rows) != 2 || rows[0][0] != "c1" || rows[0][8] != "4" || rows[1][0] != "e3" || rows[1][4] != "withheld" {
			t.Errorf("s1 polls rows = %q, want c1's check-in counts and e3 withheld", rows)
		}
	})
	t.Run("report page", func(t *testing.T) {
		b := newBrowser(t, n.URL)
		b.signIn(coord)
		p := b.get("/cops/n1/report")
		if p.status != http.StatusOK {
			t.Fatalf("status %d: %s", p.status, p.body)
		}
		for _, want := range []string{"CoP report: Nurses North", `data-figure="sessions_held">2`, "rising, 50% to 80% over 2 sessions",
			"rising, 3.2 to 3.8 over 2 sessions", "Outcomes recorded", "/cops/n1/exports/roster.csv", "Triage outreach"} {
			if !strings.Contains(p.body, want) {
				t.Errorf("CoP report lacks %q", want)
			}
		}
	})
	t.Run("access", func(t *testing.T) {
		wg := n.Token(t, httpx.Claims{Subject: "wg-1", Grants: []httpx.Grant{{Role: httpx.RoleWorkingGroup, CoP: "n1"}}})
		member := n.Token(t, httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: "n1"}}})
		allowed := map[string]string{"national": national(t, n), "hub": hub(t, n, "north"), "coordinator": coord, "working group": wg}
		refused := map[string]string{"member": member, "other hub": hub(t, n, "south"), "other coordinator": n.Coordinator(t, "s1"),
			"member of another CoP": n.Token(t, httpx.Claims{Subject: "p5", Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: "s1"}}})}
		for _, export := range []string{"attendance", "projects", "polls", "roster"} {
			path := "/cops/n1/exports/" + export + ".csv"
			for who, tok := range allowed {
				// The roster comes from membership, which this node does not run: 404, not 403.
				if st, raw := n.Do(t, "GET", path, tok, nil); st == http.StatusForbidden || (export != "roster" && st != http.StatusOK) {
					t.Errorf("%s as %s: %d %s", path, who, st, raw)
				}
			}
			for who, tok := range refused {
				if st, raw := n.Do(t, "GET", path, tok, nil); st != http.StatusForbidden {
					t.Errorf("%s as %s: %d %s, want 403", path, who, st, raw)
				}
			}
		}
		for who, tok := range refused {
			b := newBrowser(t, n.URL)
			b.signIn(tok)
			if p := b.get("/cops/n1/report"); p.status != http.StatusForbidden {
				t.Errorf("/cops/n1/report as %s: %d, want 403", who, p.status)
			}
		}
	})
}

// TestRegionPageHealthAndQueueCard checks the region page: the "Awaiting a decision" card
// counts only proposals awaiting the hub (not those waiting for the group's changes), each
// CoP's health row says its trend in words and its declining flag, the overlaps link to
// where they are acted on, and the menu leads to the person's applications.
func TestRegionPageHealthAndQueueCard(t *testing.T) {
	n := startConsole(t)
	evs := append(scenario(time.Now()),
		events.CoPProposed{CoPID: "n4", Region: "north", Name: "Weavers North", Scope: "local", Topics: []string{}, HostOrganisations: []string{}, Stage: "potential"},
		events.CoPChangesRequested{CoPID: "n4", Region: "north", Reason: "Name a contact", Round: 1})
	n.Publish(t, evs...)
	settled(t, n, len(evs))
	b := newBrowser(t, n.URL)
	b.signIn(hub(t, n, "north"))
	p := b.get("/regions/north")
	if p.status != http.StatusOK {
		t.Fatalf("region page: %d", p.status)
	}
	if got := figure(p.body, "awaiting_decision"); got != "1" {
		t.Errorf("awaiting a decision = %q, want 1 (n3; n4 waits for the group's changes)", got)
	}
	row := between(p.body, `<tr data-cop="n1">`, "</tr>")
	for _, want := range []string{"rising, 50% to 80% over 2 sessions", `data-figure="declining">Declining`, "Version 1", "Coalescing", `href="/cops/n1/report"`} {
		if !strings.Contains(row, want) {
			t.Errorf("n1's health row lacks %q:\n%s", want, row)
		}
	}
	for _, want := range []string{`href="/overlaps/o1"`, `href="/regions/north/report"`, `href="/applications"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("region page lacks %s", want)
		}
	}
}

// TestCoPReportShowsSchedulingOutcomes runs scheduling beside the console: the outcomes
// recorded when a session is marked held come from scheduling with the coordinator's own
// token, and the session's day shows in the CoP's zone in the report and the export.
func TestCoPReportShowsSchedulingOutcomes(t *testing.T) {
	start := time.Now().UTC().Truncate(time.Hour)
	clock := testkit.NewClock(start)
	mel, err := time.LoadLocation("Australia/Melbourne")
	if err != nil {
		t.Fatal(err)
	}
	// The first session is two days on at 09:30 in Melbourne, whatever UTC day that is.
	first := time.Date(start.In(mel).Year(), start.In(mel).Month(), start.In(mel).Day()+2, 9, 30, 0, 0, mel)
	n := testkit.StartNode(t, testkit.NodeOptions{Now: clock.Now}, scheduling.Factory, console.NewFactory(console.Options{}))
	nat, coord := national(t, n), n.Coordinator(t, "c1")
	n.Publish(t,
		events.RegionCreated{RegionID: "vic", Name: "Victoria"},
		events.CoPProposed{CoPID: "c1", Region: "vic", Name: "Nurses", Scope: "regional", Topics: []string{"triage"},
			HostOrganisations: []string{"Health"}, Stage: "potential"},
		events.CoPApproved{CoPID: "c1", Region: "vic"})
	var prog struct {
		Sessions []struct {
			ID string `json:"id"`
		} `json:"sessions"`
	}
	testkit.Eventually(t, waitFor, func() error {
		if st := n.JSON(t, "POST", "/v1/cops/c1/programs", nat, map[string]any{
			"title": "Share, Discuss, Apply", "sessions": 2, "first_session_at": first.Format("2006-01-02T15:04"),
			"timezone": "Australia/Melbourne", "cadence": "FREQ=WEEKLY", "duration_minutes": 90,
			"format": []string{"share", "discuss", "apply"}, "checkins": []int{}}, &prog); st != http.StatusCreated {
			return fmt.Errorf("plan the program: %d (scheduling may not know the CoP yet)", st)
		}
		return nil
	})
	clock.Set(first.Add(24 * time.Hour))
	if st := n.JSON(t, "POST", "/v1/sessions/"+prog.Sessions[0].ID+"/held", nat,
		map[string]any{"notes": "Good turnout", "outcomes": []string{"Agreed a shared triage checklist"}}, nil); st != http.StatusOK {
		t.Fatalf("mark held: %d", st)
	}
	testkit.Eventually(t, waitFor, func() error {
		if len(n.Messages(t, "cop.*.scheduling.session_held")) != 1 {
			var subjects []string
			for _, m := range n.Messages(t, "cop.>") {
				subjects = append(subjects, m.Subject)
			}
			return fmt.Errorf("session_held not published yet: %v", subjects)
		}
		return nil
	})
	drained(t, n)

	b := newBrowser(t, n.URL)
	b.signIn(coord)
	p := b.get("/cops/c1/report")
	// 09:30 in Melbourne is the evening before in UTC: the report shows Melbourne's day.
	for _, want := range []string{"Agreed a shared triage checklist", first.Format("Mon 2 Jan 2006"), `data-figure="sessions_held">1`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("CoP report (%d) lacks %q", p.status, want)
		}
	}
	_, raw := n.Do(t, "GET", "/cops/c1/exports/attendance.csv", coord, nil)
	rows := readCSV(t, raw, ports.AttendanceCSVHeader())
	if len(rows) != 1 || rows[0][2] != first.Format(time.DateOnly) || rows[0][3] != "Australia/Melbourne" || rows[0][4] != "true" {
		t.Errorf("attendance rows = %q, want session 1 on %s in Melbourne, held", rows, first.Format(time.DateOnly))
	}
}

// TestRosterExportFromMembership runs membership beside the console: the roster export is
// what membership gives the caller (names and roles, never contact details), each name
// safe from spreadsheet formulas; a member of the CoP gets 403.
func TestRosterExportFromMembership(t *testing.T) {
	n := startConsole(t, membership.Factory)
	nat := national(t, n)
	evs := []events.Event{
		events.RegionCreated{RegionID: "vic", Name: "Victoria"},
		events.CoPProposed{CoPID: "c1", Region: "vic", Name: "Nurses", Scope: "regional", Topics: []string{}, HostOrganisations: []string{}, Stage: "potential"},
		events.CoPApproved{CoPID: "c1", Region: "vic"},
		events.CharterPublished{CoPID: "c1", Region: "vic", Version: 1},
	}
	n.Publish(t, evs...)
	people := map[string]string{}
	for i, name := range []string{"Mere Tane", "=SUM(A1:A9)"} {
		var p struct{ ID string }
		if st := n.JSON(t, "POST", "/v1/people", nat, map[string]string{"name": name, "email": fmt.Sprintf("person%d@example.org", i)}, &p); st != http.StatusCreated {
			t.Fatalf("register %s: %d", name, st)
		}
		people[name] = p.ID
		testkit.Eventually(t, waitFor, func() error {
			if st := n.JSON(t, "POST", "/v1/cops/c1/members", nat, map[string]any{"person_id": p.ID, "code_of_practice_version": 1}, nil); st != http.StatusCreated {
				return fmt.Errorf("join %s: %d (membership may not know the CoP yet)", name, st)
			}
			return nil
		})
	}
	if st := n.JSON(t, "PUT", "/v1/cops/c1/members/"+people["Mere Tane"]+"/roles", nat, map[string]any{"roles": []string{"working_group"}}, nil); st != http.StatusOK {
		t.Fatalf("working group role: %d", st)
	}
	drained(t, n)
	for _, who := range []string{"national", "coordinator"} {
		tok := map[string]string{"national": nat, "coordinator": n.Coordinator(t, "c1")}[who]
		st, raw := n.Do(t, "GET", "/cops/c1/exports/roster.csv", tok, nil)
		if st != http.StatusOK {
			t.Fatalf("roster as %s: %d %s", who, st, raw)
		}
		rows := readCSV(t, raw, ports.RosterCSVHeader())
		if len(rows) != 2 || rows[0][0] != "'=SUM(A1:A9)" || rows[1][0] != "Mere Tane" || rows[1][1] != "working_group" || rows[0][2] != "1" {
			t.Errorf("roster as %s = %q", who, rows)
		}
		if strings.Contains(string(raw), "@example.org") {
			t.Errorf("roster as %s carries e-mail addresses: %s", who, raw)
		}
	}
	member := n.Token(t, httpx.Claims{Subject: people["Mere Tane"], Grants: []httpx.Grant{{Role: httpx.RoleMember, CoP: "c1"}}})
	if st, raw := n.Do(t, "GET", "/cops/c1/exports/roster.csv", member, nil); st != http.StatusForbidden {
		t.Errorf("roster as a member: %d %s, want 403", st, raw)
	}
}
