package console_test

// Shared setup of the console's tests: a real node (PostgreSQL, embedded NATS with
// JetStream) running the console, a seeded event scenario with two regions, and the figures
// that scenario must produce.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/console/internal/projection"
)

// waitFor bounds every Eventually: generous for small CI machines, reached only when
// something is really wrong.
const waitFor = 30 * time.Second

// startConsole boots the console (and any other factories) on a fresh node.
func startConsole(t *testing.T, others ...node.Factory) *testkit.Node {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	factories := append(others, console.NewFactory(console.Options{}))
	return testkit.StartNode(t, testkit.NodeOptions{Logger: logger}, factories...)
}

func national(t *testing.T, n *testkit.Node) string {
	return n.National(t)
}

func hub(t *testing.T, n *testkit.Node, region string) string {
	return n.Hub(t, region)
}

// summary reads GET /v1/network/summary as national.
func summary(t *testing.T, n *testkit.Node) projection.Network {
	t.Helper()
	var s projection.Network
	if status := n.JSON(t, "GET", "/v1/network/summary", national(t, n), nil, &s); status != http.StatusOK {
		t.Fatalf("summary: status %d", status)
	}
	return s
}

// browser is a cookie-keeping client that does not follow redirects, so tests see them.
type browser struct {
	t      *testing.T
	base   string
	client *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) response {
	b.t.Helper()
	return b.send("GET", path, nil, nil)
}

func (b *browser) post(path string, form url.Values, header map[string]string) response {
	b.t.Helper()
	return b.send("POST", path, form, header)
}

func (b *browser) send(method, path string, form url.Values, header map[string]string) response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(raw)}
}

// cookie returns the browser's cookie name, or "".
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signIn pastes tok into the sign-in form, as a person would.
// signIn holds tok as a signed-in browser does: in the access cookie membership sets at the
// end of a sign-in (membership's tests and the journeys cover the sign-in itself).
func (b *browser) signIn(tok string) {
	b.t.Helper()
	u, err := url.Parse(b.base)
	if err != nil {
		b.t.Fatal(err)
	}
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.AccessCookie, Value: tok, Path: "/"}})
}

// scenario is a fixed history of two regions, as the other services would publish it.
// Times are relative to now so that "held in the last 90 days" holds whenever it runs.
func scenario(now time.Time) []events.Event {
	day := 24 * time.Hour
	evaluation := func(poll, cop, session string, confidence, usefulness float64, responses int) events.Event {
		return events.ResultsPublished{PollID: poll, CoPID: cop, SessionID: session, Kind: "evaluation", Purpose: "evaluation",
			Responses: responses, Results: map[string]any{"questions": []any{
				map[string]any{"key": "confidence", "kind": "scale", "mean": confidence},
				map[string]any{"key": "usefulness", "kind": "scale", "mean": usefulness},
			}}}
	}
	return []events.Event{
		events.RegionCreated{RegionID: "north", Name: "Northland"},
		events.RegionCreated{RegionID: "south", Name: "Southland"},
		events.CoPProposed{CoPID: "n1", Region: "north", Name: "Nurses North", Scope: "regional", Topics: []string{"triage"}, HostOrganisations: []string{"Health North"}, Stage: "potential"},
		events.CoPApproved{CoPID: "n1", Region: "north"},
		events.StageChanged{CoPID: "n1", Region: "north", From: "potential", To: "coalescing"},
		events.CharterPublished{CoPID: "n1", Region: "north", Version: 1},
		events.CoPProposed{CoPID: "n2", Region: "north", Name: "Rangers North", Scope: "local", Topics: []string{"wetlands"}, HostOrganisations: []string{"DOC"}, Stage: "potential"},
		events.CoPApproved{CoPID: "n2", Region: "north"},
		events.CoPProposed{CoPID: "n3", Region: "north", Name: "Kai North", Scope: "local", Topics: []string{"food"}, HostOrganisations: []string{"Marae"}, Stage: "potential"},
		events.CoPProposed{CoPID: "s1", Region: "south", Name: "Health South", Scope: "regional", Topics: []string{"wetland restoration"}, HostOrganisations: []string{"Health South"}, Stage: "maturing"},
		events.CoPApproved{CoPID: "s1", Region: "south"},
		events.CharterPublished{CoPID: "s1", Region: "south", Version: 1},
		events.CharterPublished{CoPID: "s1", Region: "south", Version: 2},
		events.CoPProposed{CoPID: "s2", Region: "south", Name: "Wetlands South", Scope: "local", Topics: []string{"wetlands"}, HostOrganisations: []string{"Iwi"}, Stage: "potential"},
		events.CoPDeclined{CoPID: "s2", Region: "south", Reason: "merged with Health South"},
		// n1: three join, one leaves; n2: one; s1: four join, one is erased.
		events.MemberJoined{CoPID: "n1", Region: "north", PersonID: "p1", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "n1", Region: "north", PersonID: "p2", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "n1", Region: "north", PersonID: "p3", CodeOfPracticeVersion: 1},
		events.MemberLeft{CoPID: "n1", Region: "north", PersonID: "p3", Reason: "left"},
		events.MemberJoined{CoPID: "n2", Region: "north", PersonID: "p4", CodeOfPracticeVersion: 1},
		events.MemberJoined{CoPID: "s1", Region: "south", PersonID: "p5", CodeOfPracticeVersion: 2},
		events.MemberJoined{CoPID: "s1", Region: "south", PersonID: "p6", CodeOfPracticeVersion: 2},
		events.MemberJoined{CoPID: "s1", Region: "south", PersonID: "p7", CodeOfPracticeVersion: 2},
		events.MemberJoined{CoPID: "s1", Region: "south", PersonID: "p8", CodeOfPracticeVersion: 2},
		events.MemberLeft{CoPID: "s1", Region: "south", PersonID: "p8", Reason: "erased"},
		events.PersonErased{PersonID: "p8"},
		// Sessions: n1 held one 120 days ago (outside the window) and one 10 days ago, and
		// has one coming; s1 held one 5 days ago and cancelled one.
		events.SessionScheduled{SessionID: "sn2", ProgramID: "pg1", CoPID: "n1", Number: 1, StartsAt: now.Add(-120 * day), EndsAt: now.Add(-120*day + time.Hour), Timezone: "Pacific/Auckland", Topic: "Triage basics"},
		events.SessionHeld{SessionID: "sn2", CoPID: "n1", ProgramID: "pg1", Number: 1, HeldAt: now.Add(-120 * day), Topics: []string{"triage"}},
		events.AttendanceRecorded{SessionID: "sn2", CoPID: "n1", Attended: 5, Apologies: 3, Absent: 2, Records: []events.Attendance{}},
		events.SessionScheduled{SessionID: "sn1", ProgramID: "pg1", CoPID: "n1", Number: 2, StartsAt: now.Add(-10 * day), EndsAt: now.Add(-10*day + time.Hour), Timezone: "Pacific/Auckland", Topic: "Triage in practice"},
		events.SessionHeld{SessionID: "sn1", CoPID: "n1", ProgramID: "pg1", Number: 2, HeldAt: now.Add(-10 * day), Topics: []string{"triage"}},
		events.AttendanceRecorded{SessionID: "sn1", CoPID: "n1", Attended: 8, Apologies: 1, Absent: 1, Records: []events.Attendance{}},
		events.SessionScheduled{SessionID: "sn3", ProgramID: "pg1", CoPID: "n1", Number: 3, StartsAt: now.Add(7 * day), EndsAt: now.Add(7*day + time.Hour), Timezone: "Pacific/Auckland", Topic: "Applying triage"},
		events.SessionScheduled{SessionID: "ss1", ProgramID: "pg2", CoPID: "s1", Number: 1, StartsAt: now.Add(-5 * day), EndsAt: now.Add(-5*day + time.Hour), Timezone: "Pacific/Auckland", Topic: "Restoring wetlands"},
		events.SessionHeld{SessionID: "ss1", CoPID: "s1", ProgramID: "pg2", Number: 1, HeldAt: now.Add(-5 * day), Topics: []string{"wetland restoration"}},
		events.AttendanceRecorded{SessionID: "ss1", CoPID: "s1", Attended: 6, Apologies: 2, Absent: 0, Records: []events.Attendance{}},
		events.SessionScheduled{SessionID: "ss2", ProgramID: "pg2", CoPID: "s1", Number: 2, StartsAt: now.Add(-2 * day), EndsAt: now.Add(-2*day + time.Hour), Timezone: "Pacific/Auckland"},
		events.SessionCancelled{SessionID: "ss2", CoPID: "s1", Reason: "storm"},
		events.ParticipationDeclining{CoPID: "n1", EarlyRate: 0.8, RecentRate: 0.5, Drop: 0.375},
		events.StageAssessed{AssessmentID: "a1", CoPID: "n1", Stage: "coalescing"},
		// Evaluations: two of n1 published (older first); s1's withheld (closed, no results).
		events.PollOpened{PollID: "e2", CoPID: "n1", SessionID: "sn2", Kind: "evaluation", Purpose: "evaluation"},
		events.PollClosed{PollID: "e2", CoPID: "n1"},
		evaluation("e2", "n1", "sn2", 3.2, 3.9, 7),
		events.PollOpened{PollID: "e1", CoPID: "n1", SessionID: "sn1", Kind: "evaluation", Purpose: "evaluation"},
		events.PollClosed{PollID: "e1", CoPID: "n1"},
		evaluation("e1", "n1", "sn1", 3.8, 4.2, 6),
		events.PollOpened{PollID: "e3", CoPID: "s1", SessionID: "ss1", Kind: "evaluation", Purpose: "evaluation"},
		events.PollClosed{PollID: "e3", CoPID: "s1"},
		events.ResultsPublished{PollID: "c1", CoPID: "s1", Region: "south", Kind: "checkin", Purpose: "checkin", Responses: 5,
			Results: map[string]any{"questions": []any{map[string]any{"key": "meets_needs", "kind": "choice",
				"counts": map[string]any{"yes": 4, "partly": 1, "no": 0}}}}},
		events.ProjectMapped{ProjectID: "pr1", CoPID: "n1", Region: "north", Organisation: "Health North", Topics: []string{"triage"},
			Communities: []events.Community{{Place: "Kaitaia", Group: "older people"}}, StartsOn: "2026-01-01", EndsOn: "2026-06-30", Title: "Triage outreach"},
		events.ProjectMapped{ProjectID: "pr2", CoPID: "s1", Region: "south", Organisation: "Health South", Topics: []string{"triage"},
			Communities: []events.Community{{Place: "Kaitaia", Group: "older people"}}, StartsOn: "2026-02-01", EndsOn: "2026-05-31", Title: "Wellbeing survey"},
		events.OverlapDetected{OverlapID: "o1", Kind: "fatigue", Score: 0.9, ProjectIDs: []string{"pr1", "pr2"}, CoPIDs: []string{"n1", "s1"}, Regions: []string{"north", "south"}},
		events.OverlapDetected{OverlapID: "o2", Kind: "duplication", Score: 0.6, ProjectIDs: []string{"pr1", "pr3"}, CoPIDs: []string{"n1", "n2"}, Regions: []string{"north"}},
		events.OverlapResolved{OverlapID: "o2", Status: "acknowledged"},
		events.GapIdentified{Region: "north", Topic: "wetland restoration", SupplyingRegions: []string{"south"}},
		events.GapIdentified{Region: "south", Topic: "food security", SupplyingRegions: []string{}},
		// For the reports: n1 and n2 coordinated a duplication; requests r1 (answered twice)
		// and r3 in north, r2 (answered) in south.
		events.OverlapDetected{OverlapID: "o3", Kind: "duplication", Score: 0.7, ProjectIDs: []string{"pr1", "pr4"}, CoPIDs: []string{"n1", "n2"}, Regions: []string{"north"}},
		events.OverlapResolved{OverlapID: "o3", Status: "coordinated"},
		events.RequestRaised{RequestID: "r1", CoPID: "n1", Region: "north", Topics: []string{"triage"}},
		events.RequestAnswered{RequestID: "r1", AnswerID: "ra1"},
		events.RequestAnswered{RequestID: "r1", AnswerID: "ra2"},
		events.RequestRaised{RequestID: "r2", CoPID: "s1", Region: "south", Topics: []string{"wetlands"}},
		events.RequestAnswered{RequestID: "r2", AnswerID: "ra3"},
		events.RequestRaised{RequestID: "r3", CoPID: "n2", Region: "north", Topics: []string{"food"}},
		// North had a gap on wound care, filled since.
		events.GapIdentified{Region: "north", Topic: "wound care", SupplyingRegions: []string{}},
		events.GapFilled{Region: "north", Topic: "wound care"},
	}
}

// expectedRegions are the figures scenario must give, worked out by hand.
func expectedRegions() map[string]projection.RegionFigures {
	return map[string]projection.RegionFigures{
		"north": {ID: "north", Name: "Northland", CoPs: 3,
			// n1 held a session 10 days ago (active); n2 was approved just now and has not met yet.
			CoPsByStatus: map[string]int{"proposed": 1, "approved": 1, "active": 1, "dormant": 0, "declined": 0, "retired": 0},
			CoPsByStage:  map[string]int{"potential": 2, "coalescing": 1, "maturing": 0, "stewardship": 0, "transformation": 0},
			Members:      3, SessionsHeld90d: 1,
			AttendanceTrend: []float64{0.5, 0.8}, ConfidenceTrend: []float64{3.2, 3.8},
			Onboarding: projection.Onboarding{Proposed: 1, Approved: 2}, Declining: 1},
		"south": {ID: "south", Name: "Southland", CoPs: 2,
			CoPsByStatus: map[string]int{"proposed": 0, "approved": 0, "active": 1, "dormant": 0, "declined": 1, "retired": 0},
			CoPsByStage:  map[string]int{"potential": 0, "coalescing": 0, "maturing": 1, "stewardship": 0, "transformation": 0},
			Members:      3, SessionsHeld90d: 1,
			AttendanceTrend: []float64{0.75}, ConfidenceTrend: []float64{},
			Onboarding: projection.Onboarding{Approved: 1, Declined: 1}},
	}
}

// comparable strips what legitimately differs between two reads of the same figures.
func comparable(n projection.Network) projection.Network {
	n.GeneratedAt = time.Time{}
	out := make([]projection.Origin, len(n.Federation))
	for i, o := range n.Federation {
		o.Health = ""
		out[i] = o
	}
	n.Federation = out
	return n
}

// drained waits until every durable consumer on the node's stream has applied everything
// delivered to it (nothing pending, nothing awaiting its acknowledgement, which the bus
// sends after the handler's transaction commits): the projection has applied every event
// published so far.
func drained(t *testing.T, n *testkit.Node) {
	t.Helper()
	nc := n.NATS.Connect(t)
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, waitFor, func() error { return drainedNow(js) })
}

func drainedNow(js nats.JetStreamContext) error {
	count := 0
	for ci := range js.Consumers(bus.DefaultStream) {
		count++
		if ci.NumPending > 0 || ci.NumAckPending > 0 {
			return fmt.Errorf("consumer %s: %d pending, %d unacknowledged", ci.Name, ci.NumPending, ci.NumAckPending)
		}
	}
	if count == 0 {
		return errors.New("no consumers yet")
	}
	return nil
}
