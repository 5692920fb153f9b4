package console_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console/internal/projection"
	"github.com/copnet/copnet/services/console/migrations"
)

// projectionDB is a fresh database with the console's schema, and its URL.
func projectionDB(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	ctx := context.Background()
	url := testkit.PostgresURL(t)
	pool, err := postgres.Open(ctx, url, "console")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, migrations.FS); err != nil {
		t.Fatal(err)
	}
	return pool, url
}

type envelopedEvent struct {
	ev  events.Event
	env events.Envelope
}

// history is a seeded, varied history of a few regions, as the services would publish it,
// each event stamped with its own time: CoPs through onboarding (some only named by other
// services' events), members joining, leaving and erased, sessions held around the edges
// of the 90-day window, rescheduled, cancelled and with attendance, evaluations and
// check-ins, overlaps detected and resolved.
func history(seed uint64, now time.Time) []envelopedEvent {
	r := mrand.New(mrand.NewPCG(seed, 1))
	day := 24 * time.Hour
	var evs []events.Event
	regions := []string{"ra", "rb", "rc", "rd"}
	for _, id := range regions[:3] { // rd is only ever named by its CoPs
		evs = append(evs, events.RegionCreated{RegionID: id, Name: "Region " + id})
	}
	stages := projection.Stages
	const cops = 30
	copRegion := func(i int) string { return regions[i%len(regions)] }
	copID := func(i int) string { return fmt.Sprintf("c%02d", i) }
	for i := range cops {
		id, reg := copID(i), copRegion(i)
		if i%10 != 9 { // every tenth CoP is never proposed: only other services name it
			evs = append(evs, events.CoPProposed{CoPID: id, Region: reg, Name: "CoP " + id, Scope: "local",
				Topics: []string{"t"}, HostOrganisations: []string{"o"}, Stage: "potential"})
		}
		switch i % 5 {
		case 1, 2:
			evs = append(evs, events.CoPApproved{CoPID: id, Region: reg})
		case 3:
			evs = append(evs, events.CoPDeclined{CoPID: id, Region: reg, Reason: "no"})
		case 4:
			evs = append(evs, events.CoPApproved{CoPID: id, Region: reg}, events.CoPRetired{CoPID: id, Region: reg})
		}
		if i%3 == 0 {
			evs = append(evs, events.StageChanged{CoPID: id, Region: reg, From: "potential", To: stages[1+r.IntN(len(stages)-1)]})
		}
		if i%4 == 0 {
			evs = append(evs, events.ParticipationDeclining{CoPID: id, EarlyRate: 0.8, RecentRate: 0.4, Drop: 0.5})
		}
		evs = append(evs, events.CharterPublished{CoPID: id, Region: reg, Version: 1 + r.IntN(3)})
	}
	for p := range 60 {
		person := fmt.Sprintf("p%02d", p)
		joined := map[int]bool{}
		for range 1 + r.IntN(3) {
			c := r.IntN(cops)
			if joined[c] {
				continue
			}
			joined[c] = true
			evs = append(evs, events.MemberJoined{CoPID: copID(c), Region: copRegion(c), PersonID: person, CodeOfPracticeVersion: 1})
			if r.IntN(5) == 0 {
				evs = append(evs, events.MemberLeft{CoPID: copID(c), Region: copRegion(c), PersonID: person, Reason: "left"})
			}
		}
		if p%15 == 0 {
			for c := range joined {
				evs = append(evs, events.MemberLeft{CoPID: copID(c), Region: copRegion(c), PersonID: person, Reason: "erased"})
			}
			evs = append(evs, events.PersonErased{PersonID: person})
		}
	}
	for s := range 200 {
		id, c := fmt.Sprintf("s%03d", s), r.IntN(cops)
		// Around the window's edges as well as inside and outside it.
		var at time.Time
		switch s % 4 {
		case 0:
			at = now.Add(-90*day + time.Duration(r.IntN(48)-24)*time.Hour)
		case 1:
			at = now.Add(-time.Duration(r.IntN(36)) * time.Hour)
		default:
			at = now.Add(-time.Duration(r.IntN(200)) * day).Add(time.Duration(r.IntN(86400)) * time.Second)
		}
		evs = append(evs, events.SessionScheduled{SessionID: id, ProgramID: "pg", CoPID: copID(c), Number: s, StartsAt: at,
			EndsAt: at.Add(time.Hour), Timezone: "UTC", Topic: "topic"})
		switch r.IntN(6) {
		case 0:
			evs = append(evs, events.SessionCancelled{SessionID: id, CoPID: copID(c), Reason: "storm"})
		case 1:
			evs = append(evs, events.SessionRescheduled{SessionID: id, CoPID: copID(c), StartsAt: at.Add(30 * day),
				EndsAt: at.Add(30*day + time.Hour), Sequence: 1, Topic: "later"})
		default:
			held := events.SessionHeld{SessionID: id, CoPID: copID(c), ProgramID: "pg", Number: s, HeldAt: at}
			if s%5 == 0 {
				// Marked held weeks after it took place, saying when it took place.
				held.HeldAt, held.StartsAt = at.Add(20*day), at
			}
			evs = append(evs, held)
			if r.IntN(4) > 0 {
				rec := events.AttendanceRecorded{SessionID: id, CoPID: copID(c), Attended: r.IntN(10),
					Apologies: r.IntN(3), Absent: r.IntN(3), Records: []events.Attendance{}}
				if s%3 == 0 {
					rec.Members, rec.StartsAt = 8+r.IntN(6), at
				}
				evs = append(evs, rec)
			}
		}
	}
	for p := range 50 {
		id, c := fmt.Sprintf("e%02d", p), r.IntN(cops)
		if p%5 == 0 {
			evs = append(evs, events.ResultsPublished{PollID: id, CoPID: copID(c), Region: copRegion(c), Kind: "checkin", Purpose: "checkin",
				Responses: 5, Results: map[string]any{"questions": []any{map[string]any{"key": "meets_needs", "kind": "choice",
					"counts": map[string]any{"yes": r.IntN(5), "no": 1}}}}})
			continue
		}
		evs = append(evs, events.PollOpened{PollID: id, CoPID: copID(c), Kind: "evaluation", Purpose: "evaluation"},
			events.ResultsPublished{PollID: id, CoPID: copID(c), Kind: "evaluation", Purpose: "evaluation", Responses: 6,
				Results: map[string]any{"questions": []any{map[string]any{"key": "confidence", "kind": "scale", "mean": 1 + 4*r.Float64()}}}})
	}
	for o := range 20 {
		a, b := r.IntN(cops), r.IntN(cops)
		id := fmt.Sprintf("o%02d", o)
		evs = append(evs, events.OverlapDetected{OverlapID: id, Kind: "fatigue", Score: float64(r.IntN(100)) / 100,
			ProjectIDs: []string{"x", "y"}, CoPIDs: []string{copID(a), copID(b)}, Regions: []string{copRegion(a), copRegion(b)}})
		if o%3 == 0 {
			evs = append(evs, events.OverlapResolved{OverlapID: id, Status: "acknowledged"})
		}
	}
	out := make([]envelopedEvent, len(evs))
	start := now.Add(-time.Hour)
	for i, ev := range evs {
		out[i] = envelopedEvent{ev, events.Envelope{ID: fmt.Sprintf("ev-%05d", i), Type: ev.EventName().Type(), Source: "national",
			Time: start.Add(time.Duration(i) * time.Millisecond)}}
	}
	return out
}

func applyAll(t *testing.T, pool *pgxpool.Pool, evs []envelopedEvent) {
	t.Helper()
	ctx := context.Background()
	for _, e := range evs {
		if err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error { return projection.Apply(ctx, tx, e.ev, e.env) }); err != nil {
			t.Fatalf("apply %s: %v", e.env.Type, err)
		}
	}
}

// aggregates reads every pre-aggregated row, zeros left out.
func aggregates(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, sql := range map[string]string{
		"region_counts":    `SELECT region || '/' || figure || '=' || n FROM region_counts WHERE n <> 0 ORDER BY 1`,
		"region_held_days": `SELECT day || '/' || region || '=' || n FROM region_held_days WHERE n <> 0 ORDER BY 1`,
		"network_counts":   `SELECT figure || '=' || n FROM network_counts WHERE n <> 0 ORDER BY 1`,
		"overlap_regions":  `SELECT region || '/' || overlap_id || '=' || score FROM overlap_regions ORDER BY 1`,
		"cop_members":      `SELECT id || '=' || members FROM cops ORDER BY 1`,
		"session_regions":  `SELECT id || '=' || region FROM sessions ORDER BY 1`,
		"poll_regions":     `SELECT id || '=' || region FROM polls ORDER BY 1`,
		"cop_last_held":    `SELECT id || '=' || coalesce(last_held_on::text, '-') FROM cops ORDER BY 1`,
		"poll_dated":       `SELECT id || '=' || coalesce(dated_at::text, '-') FROM polls ORDER BY 1`,
	} {
		rows, err := pool.Query(context.Background(), sql)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out[name] = vals
	}
	return out
}

// TestAggregatesFollowTheRows: the counters the handlers keep event by event are exactly
// what a recount from the rows gives, and the same history applied in three different
// orders (recorded, shuffled, reversed) and partly twice gives the same figures.
func TestAggregatesFollowTheRows(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: applies a long history in three orders and recounts it")
	}
	ctx := context.Background()
	now := time.Now().UTC()
	fixed := func() time.Time { return now }
	evs := history(42, now)

	orders := map[string][]envelopedEvent{"recorded": evs}
	shuffled := append([]envelopedEvent(nil), evs...)
	mrand.New(mrand.NewPCG(7, 7)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	orders["shuffled"] = shuffled
	reversed := make([]envelopedEvent, len(evs))
	for i, e := range evs {
		reversed[len(evs)-1-i] = e
	}
	orders["reversed"] = reversed

	var want *projection.Network
	var wantAgg map[string][]string
	for _, name := range []string{"recorded", "shuffled", "reversed"} {
		pool, _ := projectionDB(t)
		applyAll(t, pool, orders[name])
		if name == "shuffled" {
			// The same events again (a replay without the bus's dedupe): rows do not
			// change, so neither do the figures.
			applyAll(t, pool, orders[name][:len(evs)/3])
		}
		got, err := projection.NewStore(pool, fixed).Network(ctx)
		if err != nil {
			t.Fatal(err)
		}
		agg := aggregates(t, pool)
		if _, err := pool.Exec(ctx, `SELECT recount_aggregates()`); err != nil {
			t.Fatal(err)
		}
		if recounted := aggregates(t, pool); !reflect.DeepEqual(agg, recounted) {
			for k := range agg {
				if !reflect.DeepEqual(agg[k], recounted[k]) {
					t.Errorf("%s order: %s kept by the handlers\n %v\nrecounted from the rows\n %v", name, k, agg[k], recounted[k])
				}
			}
		}
		if name == "shuffled" {
			continue // applied partly twice, so the origin's event count differs
		}
		if want == nil {
			want, wantAgg = got, agg
			if got.Totals.CoPs == 0 || got.Totals.Members == 0 || got.Totals.SessionsHeld90d == 0 || got.Totals.OpenOverlaps == 0 {
				t.Fatalf("the history gives empty figures: %+v", got.Totals)
			}
			continue
		}
		if !reflect.DeepEqual(comparable(*got), comparable(*want)) {
			t.Errorf("%s order gives other figures:\n got  %+v\n want %+v", name, comparable(*got), comparable(*want))
		}
		if !reflect.DeepEqual(agg, wantAgg) {
			t.Errorf("%s order gives other aggregates:\n got  %v\n want %v", name, agg, wantAgg)
		}
	}
}

// queryLog records the statements a pool runs.
type queryLog struct {
	mu      sync.Mutex
	queries []pgx.TraceQueryStartData
}

func (l *queryLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, d)
	return ctx
}

func (l *queryLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l *queryLog) take() []pgx.TraceQueryStartData {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queries
	l.queries = nil
	return q
}

var seqScanRE = regexp.MustCompile(`Seq Scan on (\w+)`)

// TestSummaryReadsIndexesOnly: on a projection of ten thousand CoPs, overlaps and projects
// and tens of thousands of members and sessions, every query the national summary, a hub's summary, the gaps and a
// region's figures run is planned without a sequential scan of a table that grows with
// the data: they read counters, bounded windows and the latest points through indexes.
func TestSummaryReadsIndexesOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds a projection of ten thousand CoPs to read query plans")
	}
	ctx := context.Background()
	pool, url := projectionDB(t)
	// Rows as the handlers leave them, written in bulk; the counters recounted from them.
	for _, sql := range []string{
		`INSERT INTO regions (id, name) SELECT 'r' || i, 'Region ' || i FROM generate_series(1, 20) i`,
		`INSERT INTO cops (id, region, name, status, status_rank, status_at, stage, stage_at, declining)
			SELECT 'c' || i, 'r' || (1 + i % 20), 'CoP ' || i, (ARRAY['proposed','approved','approved','declined','retired'])[1 + i % 5],
				2, now(), (ARRAY['potential','coalescing','maturing'])[1 + i % 3], now(), i % 7 = 0
			FROM generate_series(1, 10000) i`,
		`INSERT INTO memberships (cop_id, person_key, joined_at)
			SELECT 'c' || (1 + i % 10000), md5(i::text), now() - i * interval '1 minute' FROM generate_series(1, 30000) i`,
		`INSERT INTO sessions (id, cop_id, number, starts_at, held_at, cancelled, attended, apologies, absent)
			SELECT 's' || i, 'c' || (1 + i % 10000), i, now() - (i % 700) * interval '1 day',
				CASE WHEN i % 700 > 0 THEN now() - (i % 700) * interval '1 day' END, i % 31 = 0, 5 + i % 5, 2, 1
			FROM generate_series(1, 30000) i`,
		`INSERT INTO polls (id, cop_id, kind, purpose, closed, responses, confidence_mean, meets_needs, published_at)
			SELECT 'e' || i, 'c' || (1 + i % 10000), 'evaluation', CASE WHEN i % 4 = 0 THEN 'checkin' ELSE 'evaluation' END, true, 6,
				CASE WHEN i % 4 <> 0 THEN 1 + (i % 40) / 10.0 END,
				CASE WHEN i % 4 = 0 THEN '{"yes": 3, "no": 1}'::jsonb END, now() - (i % 500) * interval '1 day'
			FROM generate_series(1, 8000) i`,
		`INSERT INTO projects (id, cop_id, region, title, starts_on, ends_on)
			SELECT 'p' || i, 'c' || (1 + i % 10000), 'r' || (1 + i % 20), 'Project', '2026-01-01', '2026-06-30' FROM generate_series(1, 10000) i`,
		`INSERT INTO cop_overlaps (id, kind, score, project_ids, cop_ids, regions, status, detected_at)
			SELECT 'o' || i, 'fatigue', (i % 100) / 100.0, ARRAY['p' || i, 'p' || (i + 1)], ARRAY['c' || (1 + i % 10000), 'c' || (1 + (i * 7) % 10000)],
				ARRAY['r' || (1 + i % 20), 'r' || (1 + (i * 7) % 20)], CASE WHEN i % 3 = 0 THEN 'acknowledged' ELSE 'open' END, now()
			FROM generate_series(1, 10000) i`,
		`INSERT INTO gaps (region, topic, supplying_regions, identified_at)
			SELECT 'r' || (1 + i % 20), 'topic ' || i, ARRAY['r' || (1 + (i + 1) % 20)], now() FROM generate_series(1, 200) i`,
		`SELECT recount_aggregates()`,
		`ANALYZE`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = "console"
	log := &queryLog{}
	cfg.ConnConfig.Tracer = log
	traced, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(traced.Close)
	store := projection.NewStore(traced, nil)

	reads := []struct {
		name string
		read func() error
	}{
		{"national summary", func() error {
			n, err := store.Network(ctx)
			if err == nil && (len(n.Regions) != 20 || n.Totals.CoPs != 10000 || n.Totals.Members != 30000 || n.Totals.SessionsHeld90d == 0 ||
				len(n.Regions[0].AttendanceTrend) != projection.TrendPoints || len(n.Overlaps) != projection.OverlapsShown || n.Totals.OpenOverlaps != 6667) {
				err = fmt.Errorf("unexpected figures: %+v", n.Totals)
			}
			return err
		}},
		{"hub summary", func() error { _, err := store.RegionNetwork(ctx, "r3"); return err }},
		{"gaps", func() error { _, err := store.Gaps(ctx, ""); return err }},
	}
	large := map[string]bool{"sessions": true, "memberships": true, "projects": true, "polls": true, "cops": true, "cop_overlaps": true}
	for _, r := range reads {
		log.take()
		if err := r.read(); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		queries := 0
		for _, q := range log.take() {
			if !strings.HasPrefix(strings.TrimSpace(q.SQL), "SELECT") {
				continue // begin, rollback
			}
			queries++
			rows, err := pool.Query(ctx, "EXPLAIN "+q.SQL, q.Args...)
			if err != nil {
				t.Fatalf("%s: EXPLAIN %s: %v", r.name, q.SQL, err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			for _, m := range seqScanRE.FindAllStringSubmatch(plan, -1) {
				if large[m[1]] {
					t.Errorf("%s scans the whole of %s:\n%s\n%s", r.name, m[1], q.SQL, plan)
				}
			}
		}
		if queries == 0 {
			t.Errorf("%s: no queries traced", r.name)
		}
	}
}
