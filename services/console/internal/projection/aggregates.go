package projection

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// The aggregates (migrations/002_aggregates.sql) are the sum of every row's contribution:
// a CoP contributes to its region's counters, a held session to its region's day, an open
// overlap to the national and its regions' counters. A handler that changes such a row
// reads the row's contribution before and after the change and records the difference;
// the differences are applied once, at the end of the handler's transaction, in a fixed
// order, so concurrent handlers take the counters' row locks in the same order.
//
// Every change to a CoP or to what belongs to it (memberships, sessions, polls) first takes
// the CoP's transaction-scoped advisory lock: the before and after a handler reads cannot
// interleave with another handler's change to the same CoP, and a session or poll created
// while the CoP starts to count takes the CoP's region either way. A transaction that locks
// several CoPs (an erasure) takes their locks in lock-key order.

// txn is one event's application: the transaction and the aggregate deltas it has caused.
type txn struct {
	ctx     context.Context
	tx      pgx.Tx
	region  map[[2]string]int64 // (region, figure) → delta
	days    map[heldDay]int64
	network map[string]int64
}

type heldDay struct {
	day    string // YYYY-MM-DD, UTC
	region string
}

func newTxn(ctx context.Context, tx pgx.Tx) *txn {
	return &txn{ctx: ctx, tx: tx, region: map[[2]string]int64{}, days: map[heldDay]int64{}, network: map[string]int64{}}
}

func (t *txn) exec(sql string, args ...any) error {
	_, err := t.tx.Exec(t.ctx, sql, args...)
	return err
}

// lockCoP serializes every change to the CoP and what belongs to it until commit.
func (t *txn) lockCoP(id string) error {
	return t.exec(`SELECT pg_advisory_xact_lock(hashtextextended('console.cop:' || $1, 0))`, id)
}

// copState is what of a CoP row feeds the region counters.
type copState struct {
	region, status, stage string
	members               int64
	declining             bool
}

// counted is the region the CoP counts in: its own once its status is known, else none.
func (s copState) counted() string {
	if s.status == "" {
		return ""
	}
	return s.region
}

// add adds sign × the CoP's contribution to its region's counters.
func (t *txn) addCoP(s copState, sign int64) {
	if s.region == "" {
		return
	}
	t.region[[2]string{s.region, "named"}] += sign
	if s.counted() == "" {
		return
	}
	for _, f := range []string{"cops", "status:" + s.status} {
		t.region[[2]string{s.region, f}] += sign
	}
	if s.stage != "" && (s.status == "proposed" || s.status == "approved") {
		// Stages describe living CoPs: a declined or retired one has none to count.
		t.region[[2]string{s.region, "stage:" + s.stage}] += sign
	}
	t.region[[2]string{s.region, "members"}] += sign * s.members
	if s.declining && s.status != "retired" {
		t.region[[2]string{s.region, "declining"}] += sign
	}
}

func (t *txn) copState(id string) (copState, error) {
	var s copState
	err := t.tx.QueryRow(t.ctx, `SELECT region, status, stage, members, declining FROM cops WHERE id = $1`, id).
		Scan(&s.region, &s.status, &s.stage, &s.members, &s.declining)
	return s, err
}

// changeCoP makes sure the CoP's row exists and knows its region (any service's event may
// be the first the console hears of a CoP), runs fn on it, and records what the change did
// to the aggregates.
func (t *txn) changeCoP(id, region string, fn func() error) error {
	if err := t.lockCoP(id); err != nil {
		return err
	}
	// Sessions may have named the CoP first: its latest held session comes with it.
	if err := t.exec(`INSERT INTO cops (id, last_held_on) VALUES ($1,
		(SELECT max(held_on) FROM sessions WHERE cop_id = $1 AND held_on IS NOT NULL AND NOT cancelled))
		ON CONFLICT (id) DO NOTHING`, id); err != nil {
		return err
	}
	before, err := t.copState(id)
	if err != nil {
		return err
	}
	if region != "" {
		if err := t.exec(`UPDATE cops SET region = $2 WHERE id = $1 AND region <> $2`, id, region); err != nil {
			return err
		}
	}
	if fn != nil {
		if err := fn(); err != nil {
			return err
		}
	}
	after, err := t.copState(id)
	if err != nil {
		return err
	}
	if before == after {
		return nil
	}
	t.addCoP(before, -1)
	t.addCoP(after, 1)
	from, to := before.counted(), after.counted()
	if from == to {
		return nil
	}
	// The CoP starts to count, or moves: its sessions and polls follow it, and so do its
	// held sessions' days.
	rows, err := t.tx.Query(t.ctx, `SELECT to_char((held_on AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), count(*) FROM sessions
		WHERE cop_id = $1 AND held_on IS NOT NULL AND NOT cancelled GROUP BY 1`, id)
	if err != nil {
		return err
	}
	var day string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&day, &n}, func() error {
		if from != "" {
			t.days[heldDay{day, from}] -= n
		}
		if to != "" {
			t.days[heldDay{day, to}] += n
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := t.exec(`UPDATE sessions SET region = $2 WHERE cop_id = $1 AND region <> $2`, id, to); err != nil {
		return err
	}
	return t.exec(`UPDATE polls SET region = $2 WHERE cop_id = $1 AND region <> $2`, id, to)
}

// changeMembership runs upsert (parameters: cop, person key, arg; returning the row's
// current flag) and keeps the CoP's member count.
func (t *txn) changeMembership(cop, region, key, upsert string, arg any) error {
	return t.changeCoP(cop, region, func() error {
		var before, after bool
		err := t.tx.QueryRow(t.ctx, `SELECT current FROM memberships WHERE cop_id = $1 AND person_key = $2`, cop, key).Scan(&before)
		if err != nil && err != pgx.ErrNoRows {
			return err
		}
		if err := t.tx.QueryRow(t.ctx, upsert, cop, key, arg).Scan(&after); err != nil {
			return err
		}
		switch {
		case after && !before:
			return t.exec(`UPDATE cops SET members = members + 1 WHERE id = $1`, cop)
		case before && !after:
			return t.exec(`UPDATE cops SET members = members - 1 WHERE id = $1`, cop)
		}
		return nil
	})
}

// heldKey is the day a session counts as held on (the day it took place), and where: none
// when it is not held, cancelled, or its CoP does not count.
func (t *txn) heldKey(session string) (heldDay, bool, error) {
	var k heldDay
	err := t.tx.QueryRow(t.ctx, `SELECT to_char((held_on AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD'), region FROM sessions
		WHERE id = $1 AND held_on IS NOT NULL AND NOT cancelled AND region <> ''`, session).Scan(&k.day, &k.region)
	if err == pgx.ErrNoRows {
		return k, false, nil
	}
	return k, err == nil, err
}

// changeSession makes sure the session's row exists (with its CoP's region), runs fn on
// it, moves the session between the held days it counts on, and keeps what is dated by
// the session's time: its CoP's latest held session and its polls' dates.
func (t *txn) changeSession(id, cop string, fn func() error) error {
	if err := t.lockCoP(cop); err != nil {
		return err
	}
	if err := t.exec(`INSERT INTO sessions (id, cop_id, region)
		VALUES ($1, $2, coalesce((SELECT region FROM cops WHERE id = $2 AND status <> ''), ''))
		ON CONFLICT (id) DO NOTHING`, id, cop); err != nil {
		return err
	}
	before, was, err := t.heldKey(id)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, is, err := t.heldKey(id)
	if err != nil {
		return err
	}
	if was {
		t.days[before]--
	}
	if is {
		t.days[after]++
	}
	if err := t.exec(`UPDATE cops c SET last_held_on = s.last FROM (SELECT max(held_on) AS last FROM sessions
			WHERE cop_id = $1 AND held_on IS NOT NULL AND NOT cancelled) s
		WHERE c.id = $1 AND c.last_held_on IS DISTINCT FROM s.last`, cop); err != nil {
		return err
	}
	return t.exec(`UPDATE polls p SET dated_at = coalesce(s.trend_at, p.published_at) FROM sessions s
		WHERE s.id = $1 AND p.session_id = $1 AND p.dated_at IS DISTINCT FROM coalesce(s.trend_at, p.published_at)`, id)
}

// datePoll dates a poll by its session's time, else by when its results were published.
func (t *txn) datePoll(poll string) error {
	return t.exec(`UPDATE polls p SET dated_at = coalesce((SELECT s.trend_at FROM sessions s WHERE s.id = p.session_id), p.published_at)
		WHERE p.id = $1`, poll)
}

func (t *txn) touchPoll(poll, cop string) error {
	if err := t.lockCoP(cop); err != nil {
		return err
	}
	return t.exec(`INSERT INTO polls (id, cop_id, region)
		VALUES ($1, $2, coalesce((SELECT region FROM cops WHERE id = $2 AND status <> ''), ''))
		ON CONFLICT (id) DO NOTHING`, poll, cop)
}

// openOverlap is an overlap row as far as the counters see it: open (and detected), with
// its regions and score.
type openOverlap struct {
	open    bool
	score   float64
	regions []string
}

func (t *txn) overlapState(id string) (openOverlap, error) {
	var o openOverlap
	err := t.tx.QueryRow(t.ctx, `SELECT status = 'open' AND detected_at IS NOT NULL, score, regions
		FROM cop_overlaps WHERE id = $1 FOR UPDATE`, id).Scan(&o.open, &o.score, &o.regions)
	slices.Sort(o.regions)
	o.regions = slices.Compact(o.regions)
	return o, err
}

// changeOverlap makes sure the overlap's row exists (open, not yet detected: counted
// nowhere), runs fn on it, and keeps the open-overlap counters and the per-region list.
func (t *txn) changeOverlap(id string, fn func() error) error {
	if err := t.exec(`INSERT INTO cop_overlaps (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, id); err != nil {
		return err
	}
	before, err := t.overlapState(id)
	if err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	after, err := t.overlapState(id)
	if err != nil {
		return err
	}
	for _, c := range []struct {
		o    openOverlap
		sign int64
	}{{before, -1}, {after, 1}} {
		if !c.o.open {
			continue
		}
		t.network["open_overlaps"] += c.sign
		for _, r := range c.o.regions {
			t.region[[2]string{r, "open_overlaps"}] += c.sign
		}
	}
	if err := t.exec(`DELETE FROM overlap_regions WHERE overlap_id = $1`, id); err != nil {
		return err
	}
	if !after.open {
		return nil
	}
	return t.exec(`INSERT INTO overlap_regions (region, overlap_id, score) SELECT r, $1, $2 FROM unnest($3::text[]) r`,
		id, after.score, after.regions)
}

// flush applies the deltas, skipping zeros, each table in key order.
func (t *txn) flush() error {
	var regions, figures []string
	var ns []int64
	keys := make([][2]string, 0, len(t.region))
	for k, n := range t.region {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for _, k := range keys {
		regions, figures, ns = append(regions, k[0]), append(figures, k[1]), append(ns, t.region[k])
	}
	if len(keys) > 0 {
		if err := t.exec(`INSERT INTO region_counts (region, figure, n)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
			ON CONFLICT (region, figure) DO UPDATE SET n = region_counts.n + EXCLUDED.n`, regions, figures, ns); err != nil {
			return err
		}
	}
	days := make([]heldDay, 0, len(t.days))
	for k, n := range t.days {
		if n != 0 {
			days = append(days, k)
		}
	}
	slices.SortFunc(days, func(a, b heldDay) int { return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.region, b.region)) })
	var dates []time.Time
	regions, ns = nil, nil
	for _, k := range days {
		d, err := time.Parse(time.DateOnly, k.day)
		if err != nil {
			return err
		}
		dates, regions, ns = append(dates, d), append(regions, k.region), append(ns, t.days[k])
	}
	if len(days) > 0 {
		if err := t.exec(`INSERT INTO region_held_days (day, region, n)
			SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[])
			ON CONFLICT (day, region) DO UPDATE SET n = region_held_days.n + EXCLUDED.n`, dates, regions, ns); err != nil {
			return err
		}
	}
	for _, f := range slices.Sorted(maps.Keys(t.network)) {
		if n := t.network[f]; n != 0 {
			if err := t.exec(`INSERT INTO network_counts (figure, n) VALUES ($1, $2)
				ON CONFLICT (figure) DO UPDATE SET n = network_counts.n + EXCLUDED.n`, f, n); err != nil {
				return err
			}
		}
	}
	return nil
}
