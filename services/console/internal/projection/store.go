package projection

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the console's projection: the Apply<Event> methods write it from other
// services' events (consumers.go) and the rest read it. Every read is bounded by what it shows: the national summary
// reads the regions' counters, the whole days of the recent window per region, the two
// partial days' sessions and the latest TrendPoints of each region's trends, all through
// indexes (migrations/002_aggregates.sql); a region or CoP page reads that region's or CoP's
// rows.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewStore returns the projection kept in pool.
func NewStore(pool *pgxpool.Pool, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, now: now}
}

// ErrNotFound is returned for a region or CoP the console has never heard of.
var ErrNotFound = fmt.Errorf("not found")

// read runs fn in one read-only repeatable-read transaction, so that every figure of one
// page comes from the same moment.
func (s *Store) read(ctx context.Context, fn func(tx pgx.Tx, now time.Time) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	return fn(tx, s.now().UTC())
}

// Network returns the national picture.
func (s *Store) Network(ctx context.Context) (*Network, error) {
	return s.network(ctx, "")
}

// RegionNetwork returns the network as a region's hub sees it: its region, the overlaps
// touching it, its gaps and the gaps it could fill, and no federation links (those are the
// national tier's concern).
func (s *Store) RegionNetwork(ctx context.Context, region string) (*Network, error) {
	return s.network(ctx, region)
}

func (s *Store) network(ctx context.Context, scope string) (*Network, error) {
	var n *Network
	err := s.read(ctx, func(tx pgx.Tx, now time.Time) error {
		n = &Network{GeneratedAt: now, Regions: []RegionFigures{}, Overlaps: []Overlap{}, Gaps: []Gap{}, Federation: []Origin{}}
		ids, err := knownRegions(ctx, tx, scope)
		if err != nil {
			return err
		}
		if n.Regions, err = regionFigures(ctx, tx, now, ids); err != nil {
			return err
		}
		for _, f := range n.Regions {
			n.Totals.CoPs += f.CoPs
			n.Totals.Members += f.Members
			n.Totals.SessionsHeld90d += f.SessionsHeld90d
			n.Totals.AwaitingDecision += f.Onboarding.Proposed
		}
		if n.Overlaps, err = overlaps(ctx, tx, overlapScope{region: scope}, OverlapsShown); err != nil {
			return err
		}
		if n.Totals.OpenOverlaps, err = openOverlaps(ctx, tx, scope); err != nil {
			return err
		}
		if n.Gaps, err = gaps(ctx, tx, scope, scope != ""); err != nil {
			return err
		}
		n.Totals.Gaps = len(n.Gaps)
		if scope == "" {
			n.Federation, err = origins(ctx, tx, now)
		}
		return err
	})
	return n, err
}

// Overlaps lists every open overlap, best first; with a region, those touching it.
func (s *Store) Overlaps(ctx context.Context, region string) ([]Overlap, error) {
	var out []Overlap
	err := s.read(ctx, func(tx pgx.Tx, _ time.Time) (err error) {
		out, err = overlaps(ctx, tx, overlapScope{region: region}, 0)
		return err
	})
	return out, err
}

// Gaps lists every gap; with a region, its own gaps and the gaps it could fill.
func (s *Store) Gaps(ctx context.Context, region string) ([]Gap, error) {
	var out []Gap
	err := s.read(ctx, func(tx pgx.Tx, _ time.Time) (err error) {
		out, err = gaps(ctx, tx, region, region != "")
		return err
	})
	return out, err
}

// knownRegions lists the regions the console has heard of (created, or named by a CoP), in
// id order; with only, that one region if known.
func knownRegions(ctx context.Context, tx pgx.Tx, only string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT id FROM regions WHERE $1 = '' OR id = $1
		UNION SELECT region FROM region_counts WHERE figure = 'named' AND n > 0 AND ($1 = '' OR region = $1)`, only)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	slices.Sort(ids)
	return ids, err
}

// window is "the last 90 days" before now: the whole UTC days inside it are summed from
// region_held_days, the partial first and last days counted from the sessions.
type window struct {
	lo, now               time.Time
	firstFull, today      time.Time // first whole day; today's start (the partial last day)
	firstFullD, todayDate string
}

func recent(now time.Time) window {
	w := window{lo: now.Add(-RecentWindow), now: now}
	w.firstFull = w.lo.Truncate(24 * time.Hour).Add(24 * time.Hour)
	w.today = now.Truncate(24 * time.Hour)
	w.firstFullD, w.todayDate = w.firstFull.Format(time.DateOnly), w.today.Format(time.DateOnly)
	return w
}

// regionFigures reads the figures of regions ids, in that order.
func regionFigures(ctx context.Context, tx pgx.Tx, now time.Time, ids []string) ([]RegionFigures, error) {
	out := make([]RegionFigures, len(ids))
	at := map[string]*RegionFigures{}
	for i, id := range ids {
		f := &out[i]
		*f = RegionFigures{ID: id, Name: id, CoPsByStatus: map[string]int{}, CoPsByStage: map[string]int{},
			AttendanceTrend: []float64{}, ConfidenceTrend: []float64{}}
		for _, st := range Statuses {
			f.CoPsByStatus[st] = 0
		}
		for _, st := range Stages {
			f.CoPsByStage[st] = 0
		}
		at[id] = f
	}
	if len(ids) == 0 {
		return out, nil
	}
	var id, name string
	rows, err := tx.Query(ctx, `SELECT id, name FROM regions WHERE id = ANY($1) AND name <> ''`, ids)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		at[id].Name = name
		return nil
	}); err != nil {
		return nil, err
	}

	var figure string
	var n int64
	rows, err = tx.Query(ctx, `SELECT region, figure, n FROM region_counts WHERE region = ANY($1) AND n <> 0`, ids)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &figure, &n}, func() error {
		f := at[id]
		switch {
		case figure == "cops":
			f.CoPs = int(n)
		case figure == "members":
			f.Members = int(n)
		case figure == "declining":
			f.Declining = int(n)
		case strings.HasPrefix(figure, "status:"):
			f.CoPsByStatus[strings.TrimPrefix(figure, "status:")] = int(n)
		case strings.HasPrefix(figure, "stage:"):
			f.CoPsByStage[strings.TrimPrefix(figure, "stage:")] = int(n)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	w := recent(now)
	rows, err = tx.Query(ctx, `SELECT region, sum(n)::bigint FROM region_held_days
		WHERE day >= $2::date AND day < $3::date AND region = ANY($1) GROUP BY region
		UNION ALL
		SELECT region, count(*) FROM sessions WHERE region = ANY($1) AND region <> '' AND NOT cancelled
			AND held_on >= $4 AND held_on < $5 GROUP BY region
		UNION ALL
		SELECT region, count(*) FROM sessions WHERE region = ANY($1) AND region <> '' AND NOT cancelled
			AND held_on >= $6 AND held_on <= $7 GROUP BY region`,
		ids, w.firstFullD, w.todayDate, w.lo, w.firstFull, w.today, w.now)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		at[id].SessionsHeld90d += int(n)
		return nil
	}); err != nil {
		return nil, err
	}

	// Approved CoPs split into active and dormant by their sessions (Status): two index
	// range counts per region, the rest stay approved.
	var active, dormant int64
	rows, err = tx.Query(ctx, `SELECT r.id,
			(SELECT count(*) FROM cops c WHERE c.region = r.id AND c.status = 'approved' AND c.last_held_on >= $2),
			(SELECT count(*) FROM cops c WHERE c.region = r.id AND c.status = 'approved' AND c.quiet_since < $2)
		FROM unnest($1::text[]) r(id)`, ids, w.lo)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &active, &dormant}, func() error {
		f := at[id]
		f.CoPsByStatus["active"], f.CoPsByStatus["dormant"] = int(active), int(dormant)
		f.CoPsByStatus["approved"] -= int(active + dormant)
		return nil
	}); err != nil {
		return nil, err
	}

	// The latest TrendPoints of each region, newest first: prepended, they end oldest first.
	var v float64
	rows, err = tx.Query(ctx, `SELECT r.id, t.rate FROM unnest($1::text[]) r(id) CROSS JOIN LATERAL (
		SELECT rate FROM sessions WHERE region = r.id AND region <> '' AND rate IS NOT NULL
		ORDER BY trend_at DESC NULLS LAST, id COLLATE "C" DESC LIMIT $2) t`, ids, TrendPoints)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
		f := at[id]
		f.AttendanceTrend = slices.Insert(f.AttendanceTrend, 0, round(v, 3))
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT r.id, t.confidence_mean FROM unnest($1::text[]) r(id) CROSS JOIN LATERAL (
		SELECT confidence_mean FROM polls WHERE region = r.id AND region <> '' AND purpose = 'evaluation'
			AND confidence_mean IS NOT NULL AND published_at IS NOT NULL
		ORDER BY dated_at DESC, id COLLATE "C" DESC LIMIT $2) t`, ids, TrendPoints)
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
		f := at[id]
		f.ConfidenceTrend = slices.Insert(f.ConfidenceTrend, 0, round(v, 2))
		return nil
	}); err != nil {
		return nil, err
	}
	for i := range out {
		f := &out[i]
		f.Onboarding = Onboarding{Proposed: f.CoPsByStatus["proposed"],
			// Active, dormant and retired CoPs were approved once; the pipeline counts
			// decisions made.
			Approved: f.CoPsByStatus["approved"] + f.CoPsByStatus["active"] + f.CoPsByStatus["dormant"] + f.CoPsByStatus["retired"],
			Declined: f.CoPsByStatus["declined"]}
	}
	return out, nil
}

func round(f float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(f*p+0.5)) / p
}

func openOverlaps(ctx context.Context, tx pgx.Tx, region string) (int, error) {
	var n int64
	var err error
	if region == "" {
		err = tx.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::bigint FROM network_counts WHERE figure = 'open_overlaps'`).Scan(&n)
	} else {
		err = tx.QueryRow(ctx, `SELECT coalesce(sum(n), 0)::bigint FROM region_counts WHERE region = $1 AND figure = 'open_overlaps'`,
			region).Scan(&n)
	}
	return int(n), err
}

// overlapScope picks the open overlaps to list: all, a region's, or a CoP's.
type overlapScope struct{ region, cop string }

const overlapColumns = `o.id, o.kind, o.score, o.cop_ids, o.regions, o.status, o.detected_at`

// overlaps lists the open overlaps of scope, best first, at most limit (0: all), with
// their CoPs' names.
func overlaps(ctx context.Context, tx pgx.Tx, scope overlapScope, limit int) ([]Overlap, error) {
	lim := "ALL"
	if limit > 0 {
		lim = fmt.Sprint(limit)
	}
	var rows pgx.Rows
	var err error
	switch {
	case scope.cop != "":
		rows, err = tx.Query(ctx, `SELECT `+overlapColumns+` FROM cop_overlaps o
			WHERE o.cop_ids @> ARRAY[$1] AND o.status = 'open' AND o.detected_at IS NOT NULL
			ORDER BY o.score DESC, o.id LIMIT `+lim, scope.cop)
	case scope.region != "":
		rows, err = tx.Query(ctx, `SELECT `+overlapColumns+` FROM (
				SELECT overlap_id, score FROM overlap_regions WHERE region = $1 ORDER BY score DESC, overlap_id LIMIT `+lim+`
			) r JOIN cop_overlaps o ON o.id = r.overlap_id
			WHERE o.status = 'open' AND o.detected_at IS NOT NULL ORDER BY o.score DESC, o.id`, scope.region)
	default:
		rows, err = tx.Query(ctx, `SELECT `+overlapColumns+` FROM cop_overlaps o
			WHERE o.status = 'open' AND o.detected_at IS NOT NULL ORDER BY o.score DESC, o.id LIMIT `+lim)
	}
	if err != nil {
		return nil, err
	}
	out := []Overlap{}
	var o Overlap
	var cops []string
	names := map[string]string{}
	_, err = pgx.ForEachRow(rows, []any{&o.ID, &o.Kind, &o.Score, &cops, &o.Regions, &o.Status, &o.DetectedAt}, func() error {
		o.CoPs = make([]CoPRef, 0, len(cops))
		for _, id := range cops {
			o.CoPs = append(o.CoPs, CoPRef{ID: id})
			names[id] = ""
		}
		o.Regions = slices.Clone(o.Regions)
		slices.Sort(o.Regions)
		o.Regions = slices.Compact(o.Regions)
		o.CrossRegion = len(o.Regions) > 1
		o.DetectedAt = o.DetectedAt.UTC()
		out = append(out, o)
		return nil
	})
	if err != nil || len(names) == 0 {
		return out, err
	}
	var id, name string
	rows, err = tx.Query(ctx, `SELECT id, name FROM cops WHERE id = ANY($1)`, slices.Collect(maps.Keys(names)))
	if err != nil {
		return nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		names[id] = name
		return nil
	}); err != nil {
		return nil, err
	}
	for i := range out {
		for j := range out[i].CoPs {
			out[i].CoPs[j].Name = names[out[i].CoPs[j].ID]
		}
	}
	return out, nil
}

// gaps lists every gap; for a hub's view, its region's gaps and the gaps it could fill;
// for a region page (suppliers false), its region's gaps only.
func gaps(ctx context.Context, tx pgx.Tx, region string, suppliers bool) ([]Gap, error) {
	rows, err := tx.Query(ctx, `SELECT region, topic, supplying_regions, identified_at FROM gaps
		WHERE (filled_at IS NULL OR identified_at > filled_at)
			AND ($1 = '' OR region = $1 OR ($2 AND $1 = ANY(supplying_regions))) ORDER BY region, topic`, region, suppliers)
	if err != nil {
		return nil, err
	}
	out := []Gap{}
	var g Gap
	_, err = pgx.ForEachRow(rows, []any{&g.Region, &g.Topic, &g.SupplyingRegions, &g.IdentifiedAt}, func() error {
		g.IdentifiedAt = g.IdentifiedAt.UTC()
		g.SupplyingRegions = slices.Clone(g.SupplyingRegions)
		out = append(out, g)
		return nil
	})
	return out, err
}

func origins(ctx context.Context, tx pgx.Tx, now time.Time) ([]Origin, error) {
	rows, err := tx.Query(ctx, `SELECT node, events, first_event_at, last_event_at FROM origins ORDER BY node`)
	if err != nil {
		return nil, err
	}
	out := []Origin{}
	var o Origin
	_, err = pgx.ForEachRow(rows, []any{&o.Node, &o.Events, &o.FirstEventAt, &o.LastEventAt}, func() error {
		o.FirstEventAt, o.LastEventAt = o.FirstEventAt.UTC(), o.LastEventAt.UTC()
		o.Health = "receiving"
		if now.Sub(o.LastEventAt) > QuietAfter {
			o.Health = "quiet"
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// Region returns one region's page; ErrNotFound when the console has never heard of it.
func (s *Store) Region(ctx context.Context, id string) (*RegionDetail, error) {
	var d *RegionDetail
	err := s.read(ctx, func(tx pgx.Tx, now time.Time) error {
		ids, err := knownRegions(ctx, tx, id)
		if err != nil {
			return err
		}
		if id == "" || len(ids) == 0 {
			return ErrNotFound
		}
		figures, err := regionFigures(ctx, tx, now, ids)
		if err != nil {
			return err
		}
		d = &RegionDetail{RegionFigures: figures[0], Queue: []QueuedCoP{}, Health: []CoPHealth{}}
		// The queue is what awaits the hub's decision: a proposal of some round (odd rank),
		// not one whose group was asked for changes (even rank, waiting for the group).
		rows, err := tx.Query(ctx, `SELECT id, name, scope, topics, status_at FROM cops
			WHERE region = $1 AND status = 'proposed' AND status_rank % 2 = 1`, id)
		if err != nil {
			return err
		}
		var q QueuedCoP
		var at *time.Time
		if _, err := pgx.ForEachRow(rows, []any{&q.ID, &q.Name, &q.Scope, &q.Topics, &at}, func() error {
			q.Topics, q.ProposedAt = nonNil(q.Topics), time.Time{}
			if at != nil {
				q.ProposedAt = at.UTC()
			}
			d.Queue = append(d.Queue, q)
			return nil
		}); err != nil {
			return err
		}
		slices.SortFunc(d.Queue, func(a, b QueuedCoP) int {
			return cmp.Or(a.ProposedAt.Compare(b.ProposedAt), cmp.Compare(a.ID, b.ID))
		})
		// A declined proposal has no health to watch; a proposed one is in the queue.
		if d.Health, err = health(ctx, tx, now, `c.region = $1 AND c.status IN ('approved', 'retired')`, id); err != nil {
			return err
		}
		if d.Overlaps, err = overlaps(ctx, tx, overlapScope{region: id}, OverlapsShown); err != nil {
			return err
		}
		d.Gaps, err = gaps(ctx, tx, id, false)
		return err
	})
	return d, err
}

// health reads the health of the CoPs matching where (with $1 its argument), in id order:
// each CoP's figures through its own indexed rows, bounded by TrendPoints and the window.
func health(ctx context.Context, tx pgx.Tx, now time.Time, where string, arg string) ([]CoPHealth, error) {
	rows, err := tx.Query(ctx, `SELECT c.id, c.name, c.region, c.status, c.status_at, c.stage, c.assessed_stage, c.charter_version,
			c.members, c.declining, c.last_held_on,
			(SELECT count(*) FROM sessions s WHERE s.cop_id = c.id AND s.held_on IS NOT NULL AND NOT s.cancelled
				AND s.held_on >= $2 AND s.held_on <= $3),
			ARRAY(SELECT rate FROM (SELECT rate, trend_at, id FROM sessions s WHERE s.cop_id = c.id AND s.rate IS NOT NULL
				ORDER BY trend_at DESC NULLS LAST, id COLLATE "C" DESC LIMIT $4) t
				ORDER BY trend_at ASC NULLS FIRST, id COLLATE "C" ASC),
			ck.responses, ck.meets_needs, ck.published_at
		FROM cops c LEFT JOIN LATERAL (
			SELECT responses, meets_needs, published_at FROM polls p
			WHERE p.cop_id = c.id AND p.purpose = 'checkin' AND p.meets_needs IS NOT NULL AND p.published_at IS NOT NULL
				AND p.meets_needs <> 'null'::jsonb
			ORDER BY p.published_at DESC, p.id LIMIT 1) ck ON true
		WHERE `+where+` ORDER BY c.id`, arg, now.Add(-RecentWindow), now, TrendPoints)
	if err != nil {
		return nil, err
	}
	out := []CoPHealth{}
	var h CoPHealth
	var statusAt, last, published *time.Time
	var rates []float64
	var responses *int
	var meets []byte
	_, err = pgx.ForEachRow(rows, []any{&h.ID, &h.Name, &h.Region, &h.Status, &statusAt, &h.Stage, &h.AssessedStage, &h.CharterVersion,
		&h.Members, &h.Declining, &last, &h.SessionsHeld90d, &rates, &responses, &meets, &published}, func() error {
		if h.Name == "" {
			h.Name = h.ID
		}
		h.Status = Status(h.Status, statusAt, last, now)
		h.LastSessionAt = utc(last)
		h.AttendanceTrend = []float64{}
		for _, r := range rates {
			h.AttendanceTrend = append(h.AttendanceTrend, round(r, 3))
		}
		h.LatestCheckin = nil
		if published != nil {
			c := &Checkin{Responses: deref(responses), PublishedAt: published.UTC()}
			if err := json.Unmarshal(meets, &c.MeetsNeeds); err != nil {
				return err
			}
			h.LatestCheckin = c
		}
		out = append(out, h)
		return nil
	})
	return out, err
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// CoP returns one CoP's page; ErrNotFound when the console has never heard of it.
func (s *Store) CoP(ctx context.Context, id string) (*CoPDetail, error) {
	var d *CoPDetail
	err := s.read(ctx, func(tx pgx.Tx, now time.Time) error {
		hs, err := health(ctx, tx, now, `c.id = $1`, id)
		if err != nil {
			return err
		}
		if len(hs) == 0 {
			return ErrNotFound
		}
		d = &CoPDetail{CoPHealth: hs[0], Topics: []string{},
			Past: []Session{}, Upcoming: []Session{}, Polls: []Poll{}, Projects: []Project{}}
		if err := tx.QueryRow(ctx, `SELECT scope, topics FROM cops WHERE id = $1`, id).Scan(&d.Scope, &d.Topics); err != nil {
			return err
		}
		d.Topics = nonNil(d.Topics)
		if err := copSessions(ctx, tx, now, d); err != nil {
			return err
		}
		if err := copPolls(ctx, tx, d); err != nil {
			return err
		}
		if err := copProjects(ctx, tx, d); err != nil {
			return err
		}
		d.Overlaps, err = overlaps(ctx, tx, overlapScope{cop: id}, 0)
		return err
	})
	return d, err
}

func copSessions(ctx context.Context, tx pgx.Tx, now time.Time, d *CoPDetail) error {
	// The rate is the sessions row's own (migrations/004_session_time.sql), so the page, the
	// trends and the read API divide the same way.
	rows, err := tx.Query(ctx, `SELECT id, number, topic, coalesce(took_place_at, starts_at), held_at, cancelled, attended,
			CASE WHEN members > 0 THEN members ELSE attended + coalesce(apologies, 0) + coalesce(absent, 0) END, rate
		FROM sessions WHERE cop_id = $1 ORDER BY id`, d.ID)
	if err != nil {
		return err
	}
	var v Session
	var startsAt, heldAt *time.Time
	var attended, expected *int
	var rate *float64
	_, err = pgx.ForEachRow(rows, []any{&v.ID, &v.Number, &v.Topic, &startsAt, &heldAt, &v.Cancelled, &attended, &expected, &rate}, func() error {
		v.StartsAt, v.HeldAt, v.Attended, v.Rate, v.Expected = utc(startsAt), utc(heldAt), attended, nil, nil
		if rate != nil {
			r := round(*rate, 3)
			v.Rate, v.Expected = &r, expected
		}
		if heldAt == nil && !v.Cancelled && startsAt != nil && startsAt.After(now) {
			d.Upcoming = append(d.Upcoming, v)
		} else {
			d.Past = append(d.Past, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	byWhen := func(a, b Session) int {
		return cmp.Or(sessionTime(a).Compare(sessionTime(b)), cmp.Compare(a.ID, b.ID))
	}
	slices.SortFunc(d.Past, func(a, b Session) int { return byWhen(b, a) })
	slices.SortFunc(d.Upcoming, byWhen)
	return nil
}

func copPolls(ctx context.Context, tx pgx.Tx, d *CoPDetail) error {
	rows, err := tx.Query(ctx, `SELECT id, session_id, kind, purpose, closed, responses, confidence_mean,
		usefulness_mean, meets_needs, published_at FROM polls WHERE cop_id = $1 ORDER BY id`, d.ID)
	if err != nil {
		return err
	}
	var p Poll
	var meets []byte
	var published *time.Time
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.SessionID, &p.Kind, &p.Purpose, &p.Closed, &p.Responses,
		&p.ConfidenceMean, &p.UsefulnessMean, &meets, &published}, func() error {
		p.MeetsNeeds = nil
		if meets != nil {
			if err := json.Unmarshal(meets, &p.MeetsNeeds); err != nil {
				return err
			}
		}
		p.Withheld = p.Closed && published == nil
		d.Polls = append(d.Polls, p)
		return nil
	})
	return err
}

func copProjects(ctx context.Context, tx pgx.Tx, d *CoPDetail) error {
	rows, err := tx.Query(ctx, `SELECT id, title, organisation, topics, communities, starts_on, ends_on
		FROM projects WHERE cop_id = $1 ORDER BY starts_on, id`, d.ID)
	if err != nil {
		return err
	}
	var p Project
	var communities []byte
	_, err = pgx.ForEachRow(rows, []any{&p.ID, &p.Title, &p.Organisation, &p.Topics, &communities, &p.StartsOn, &p.EndsOn}, func() error {
		p.Communities = nil
		if err := json.Unmarshal(communities, &p.Communities); err != nil {
			return err
		}
		d.Projects = append(d.Projects, p)
		return nil
	})
	return err
}

// sessionTime is when a session took place (or is planned), else when it was marked held.
func sessionTime(s Session) time.Time {
	switch {
	case s.StartsAt != nil:
		return *s.StartsAt
	case s.HeldAt != nil:
		return *s.HeldAt
	}
	return time.Time{}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// RegionOf returns the region of a CoP, for scope checks; ErrNotFound for an unknown CoP.
func (s *Store) RegionOf(ctx context.Context, cop string) (string, error) {
	var region string
	err := s.pool.QueryRow(ctx, `SELECT region FROM cops WHERE id = $1`, cop).Scan(&region)
	if err == pgx.ErrNoRows {
		return "", ErrNotFound
	}
	return region, err
}
