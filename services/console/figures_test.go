package console_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console/internal/projection"
	"github.com/copnet/copnet/services/console/migrations"
)

// settled waits until the console has applied n events (the federation count is one per
// applied event) and returns the summary then.
func settled(t *testing.T, node *testkit.Node, n int) projection.Network {
	t.Helper()
	var s projection.Network
	testkit.Eventually(t, waitFor, func() error {
		s = summary(t, node)
		var got int64
		for _, o := range s.Federation {
			got += o.Events
		}
		if got != int64(n) {
			return fmt.Errorf("console applied %d of %d events", got, n)
		}
		return nil
	})
	return s
}

// TestFiguresFromEvents feeds the console a seeded history of two regions and checks every
// figure of the summary, the region and CoP reads, the CSV and the pages against the
// figures worked out by hand.
func TestFiguresFromEvents(t *testing.T) {
	n := startConsole(t)
	evs := scenario(time.Now())
	n.Publish(t, evs...)
	s := settled(t, n, len(evs))

	want := expectedRegions()
	if len(s.Regions) != 2 {
		t.Fatalf("regions = %+v, want north and south", s.Regions)
	}
	for _, got := range s.Regions {
		if !reflect.DeepEqual(got, want[got.ID]) {
			t.Errorf("region %s:\n got  %+v\n want %+v", got.ID, got, want[got.ID])
		}
	}
	wantTotals := projection.Totals{CoPs: 5, Members: 6, SessionsHeld90d: 2, AwaitingDecision: 1, OpenOverlaps: 1, Gaps: 2}
	if s.Totals != wantTotals {
		t.Errorf("totals = %+v, want %+v", s.Totals, wantTotals)
	}
	if len(s.Overlaps) != 1 || s.Overlaps[0].ID != "o1" || !s.Overlaps[0].CrossRegion ||
		s.Overlaps[0].CoPs[0] != (projection.CoPRef{ID: "n1", Name: "Nurses North"}) {
		t.Errorf("overlaps = %+v, want only o1, cross-region, naming its CoPs (o2 was acknowledged)", s.Overlaps)
	}
	if len(s.Gaps) != 2 || s.Gaps[0].Region != "north" || !slices.Equal(s.Gaps[0].SupplyingRegions, []string{"south"}) {
		t.Errorf("gaps = %+v", s.Gaps)
	}
	if len(s.Federation) != 1 || s.Federation[0].Node != "national" || s.Federation[0].Health != "receiving" {
		t.Errorf("federation = %+v, want one receiving node", s.Federation)
	}

	t.Run("region read", func(t *testing.T) {
		var d projection.RegionDetail
		if st := n.JSON(t, "GET", "/v1/network/regions/north", hub(t, n, "north"), nil, &d); st != http.StatusOK {
			t.Fatalf("status %d", st)
		}
		if !reflect.DeepEqual(d.RegionFigures, want["north"]) {
			t.Errorf("figures differ from the summary's: %+v", d.RegionFigures)
		}
		if len(d.Queue) != 1 || d.Queue[0].ID != "n3" {
			t.Errorf("queue = %+v, want n3", d.Queue)
		}
		n1 := d.Health[slices.IndexFunc(d.Health, func(h projection.CoPHealth) bool { return h.ID == "n1" })]
		if n1.Members != 2 || n1.CharterVersion != 1 || !n1.Declining || n1.AssessedStage != "coalescing" ||
			n1.SessionsHeld90d != 1 || !slices.Equal(n1.AttendanceTrend, []float64{0.5, 0.8}) || n1.LastSessionAt == nil {
			t.Errorf("n1 health = %+v", n1)
		}
		var south projection.RegionDetail
		n.JSON(t, "GET", "/v1/network/regions/south", national(t, n), nil, &south)
		if len(south.Health) != 1 || south.Health[0].LatestCheckin == nil || south.Health[0].LatestCheckin.MeetsNeeds["yes"] != 4 {
			t.Errorf("south health = %+v, want s1 with its check-in (the declined s2 has no health)", south.Health)
		}
	})

	t.Run("csv", func(t *testing.T) {
		st, raw := n.Do(t, "GET", "/v1/network/summary.csv", national(t, n), nil)
		if st != http.StatusOK {
			t.Fatalf("status %d: %s", st, raw)
		}
		rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		wantRows := [][]string{
			{"region", "name", "cops", "status_proposed", "status_approved", "status_active", "status_dormant", "status_declined", "status_retired",
				"stage_potential", "stage_coalescing", "stage_maturing", "stage_stewardship", "stage_transformation",
				"members", "sessions_held_90d", "latest_attendance_rate", "latest_confidence_mean", "declining"},
			{"north", "Northland", "3", "1", "1", "1", "0", "0", "0", "2", "1", "0", "0", "0", "3", "1", "0.8", "3.8", "1"},
			{"south", "Southland", "2", "0", "0", "1", "0", "1", "0", "0", "0", "1", "0", "0", "3", "1", "0.75", "", "0"},
		}
		if !reflect.DeepEqual(rows, wantRows) {
			t.Errorf("csv:\n got  %q\n want %q", rows, wantRows)
		}
	})

	t.Run("pages show the same figures", func(t *testing.T) {
		b := newBrowser(t, n.URL)
		b.signIn(national(t, n))
		p := b.get("/")
		if p.status != http.StatusOK {
			t.Fatalf("national page: %d", p.status)
		}
		for _, r := range s.Regions {
			block := between(p.body, `id="region-`+r.ID+`"`, "</article>")
			checks := map[string]string{
				"cops": fmt.Sprint(r.CoPs), "members": fmt.Sprint(r.Members), "sessions_held_90d": fmt.Sprint(r.SessionsHeld90d),
				"declining": fmt.Sprint(r.Declining), "onboarding.proposed": fmt.Sprint(r.Onboarding.Proposed),
				"onboarding.approved": fmt.Sprint(r.Onboarding.Approved), "onboarding.declined": fmt.Sprint(r.Onboarding.Declined),
			}
			for st, c := range r.CoPsByStatus {
				checks["cops_by_status."+st] = fmt.Sprint(c)
			}
			for st, c := range r.CoPsByStage {
				checks["cops_by_stage."+st] = fmt.Sprint(c)
			}
			for name, want := range checks {
				if got := figure(block, name); got != want {
					t.Errorf("national page, %s %s = %q, summary says %s", r.ID, name, got, want)
				}
			}
		}
		if !strings.Contains(p.body, "Mean confidence per session evaluation in Northland on a 1 to 5 scale, oldest to latest: 3.2, 3.8") ||
			!strings.Contains(p.body, "Attendance rate per session in Northland, oldest to latest: 50%, 80%") {
			t.Error("national page lacks the trends' text equivalents")
		}
		if !strings.Contains(p.body, "wetland restoration") || !strings.Contains(p.body, "cross-region") {
			t.Error("national page lacks the gap or the cross-region overlap")
		}

		region := b.get("/regions/south")
		if !strings.Contains(region.body, "80% say it meets their needs (yes 4 · partly 1 · no 0") {
			t.Errorf("region page lacks s1's check-in:\n%s", region.body)
		}
		cop := b.get("/cops/n1")
		for _, want := range []string{"Applying triage", "8 of 10", "80%", "3.8", "Triage outreach", "older people in Kaitaia", "Version 1"} {
			if !strings.Contains(cop.body, want) {
				t.Errorf("CoP page n1 lacks %q", want)
			}
		}
		if s1 := b.get("/cops/s1"); !strings.Contains(s1.body, "Withheld: fewer responses than the minimum") {
			t.Error("CoP page s1 does not show its evaluation as withheld")
		}
		for _, personal := range []string{"p1", "p5", "p8"} {
			if strings.Contains(cop.body, `"`+personal+`"`) || strings.Contains(p.body, ">"+personal+"<") {
				t.Errorf("a page shows person id %s", personal)
			}
		}
	})
}

var figureRE = regexp.MustCompile(`data-figure="([^"]+)">([^<]*)<`)

// figure returns the value of the element marked data-figure=name in html.
func figure(html, name string) string {
	for _, m := range figureRE.FindAllStringSubmatch(html, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return "(missing)"
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}

// TestReplayGivesSameFigures consumes one recorded history into fresh projections and gets
// the same figures: on a second node fed the same messages, with every message delivered
// twice (same event ids, the broker's dedupe bypassed), and applied directly in reverse
// order, which is as far from the recorded order as consumers can get.
func TestReplayGivesSameFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: replays a recorded history into a second node, twice over and reversed")
	}
	a := startConsole(t)
	evs := scenario(time.Now())
	a.Publish(t, evs...)
	want := comparable(settled(t, a, len(evs)))
	recorded := a.Messages(t, "cop.>")
	if len(recorded) != len(evs) {
		t.Fatalf("recorded %d messages, published %d", len(recorded), len(evs))
	}

	t.Run("second node, every message twice", func(t *testing.T) {
		b := startConsole(t)
		nc := b.NATS.Connect(t)
		js, err := nc.JetStream()
		if err != nil {
			t.Fatal(err)
		}
		for round := range 2 {
			for _, m := range recorded {
				msg := &nats.Msg{Subject: m.Subject, Header: nats.Header{}, Data: m.Data}
				for k, v := range m.Header {
					msg.Header[k] = slices.Clone(v)
				}
				if round == 1 {
					// Without its Nats-Msg-Id the broker stores the copy, so the console's
					// consumers really receive each event id a second time.
					msg.Header.Del(nats.MsgIdHdr)
				}
				if _, err := js.PublishMsg(msg); err != nil {
					t.Fatalf("publish %s: %v", m.Subject, err)
				}
			}
		}
		consumedAll(t, js, 2*len(recorded))
		got := comparable(settled(t, b, len(evs)))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("figures differ after replay:\n got  %+v\n want %+v", got, want)
		}
		for _, path := range []string{"/report.csv", "/regions/north/report.csv", "/regions/south/report.csv"} {
			_, fromA := a.Do(t, "GET", path, national(t, a), nil)
			_, fromB := b.Do(t, "GET", path, national(t, b), nil)
			if string(fromA) != string(fromB) {
				t.Errorf("%s differs after replay:\n got  %s\n want %s", path, fromB, fromA)
			}
		}
	})

	t.Run("applied in reverse order", func(t *testing.T) {
		ctx := context.Background()
		pool, err := postgres.Open(ctx, testkit.PostgresURL(t), "console")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		if err := postgres.Migrate(ctx, pool, migrations.FS); err != nil {
			t.Fatal(err)
		}
		for i := len(recorded) - 1; i >= 0; i-- {
			ev, env := decodeRecorded(t, recorded[i])
			if err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error { return projection.Apply(ctx, tx, ev, env) }); err != nil {
				t.Fatalf("apply %s: %v", env.Type, err)
			}
		}
		got, err := projection.NewStore(pool, nil).Network(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(comparable(*got), want) {
			t.Errorf("figures differ when applied in reverse:\n got  %+v\n want %+v", comparable(*got), want)
		}
		for _, region := range []string{"", "north", "south"} {
			rep, err := projection.NewStore(pool, nil).Report(ctx, region)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep)
		}
	})
}

// consumedAll waits until every durable consumer of the node's stream has seen all n
// messages and has nothing left to acknowledge.
func consumedAll(t *testing.T, js nats.JetStreamContext, n int) {
	t.Helper()
	info, err := js.StreamInfo(bus.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(n) {
		t.Fatalf("stream holds %d messages, want %d", info.State.Msgs, n)
	}
	testkit.Eventually(t, waitFor, func() error {
		count := 0
		for ci := range js.Consumers(bus.DefaultStream) {
			count++
			if ci.NumPending > 0 || ci.NumAckPending > 0 {
				return fmt.Errorf("consumer %s: %d pending, %d unacked", ci.Name, ci.NumPending, ci.NumAckPending)
			}
		}
		if count == 0 {
			return fmt.Errorf("no consumers yet")
		}
		return nil
	})
}

// decodeRecorded turns a stream message back into its event and envelope.
func decodeRecorded(t *testing.T, m *nats.RawStreamMsg) (events.Event, events.Envelope) {
	t.Helper()
	md := map[string]string{}
	for k := range m.Header {
		md[k] = m.Header.Get(k)
	}
	env, err := events.ParseEnvelope(md)
	if err != nil {
		t.Fatalf("%s: %v", m.Subject, err)
	}
	for _, zero := range events.All() {
		if zero.EventName().Type() != env.Type {
			continue
		}
		ptr := reflect.New(reflect.TypeOf(zero))
		if err := json.Unmarshal(m.Data, ptr.Interface()); err != nil {
			t.Fatalf("%s: %v", env.Type, err)
		}
		return ptr.Elem().Interface().(events.Event), env
	}
	t.Fatalf("unknown event type %s", env.Type)
	return nil, env
}
