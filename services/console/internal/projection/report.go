package projection

// The network reports: what a funder or a secretariat asks a hub or the national tier for
// (the Jobs for Nature secretariat needed the same evidence from 408 funded projects). Every
// figure is read from rows the events wrote (migrations/008_reports.sql for requests), so a
// replay of the same events gives the same report.

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
)

// ApplyRequestRaised projects request_raised: the request's CoP and region, nothing of the
// asker.
func (s *Store) ApplyRequestRaised(ctx context.Context, ev events.RequestRaised, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error {
		return t.exec(`INSERT INTO requests (id, cop_id, region, raised_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET cop_id = EXCLUDED.cop_id, region = EXCLUDED.region, raised_at = EXCLUDED.raised_at`,
			ev.RequestID, ev.CoPID, ev.Region, env.Time)
	})
}

// ApplyGapFilled projects gap_filled: the gap closes unless identified again later, and
// the filling counts once.
func (s *Store) ApplyGapFilled(ctx context.Context, ev events.GapFilled, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error {
		if err := t.exec(`INSERT INTO gap_fills (region, topic, filled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			ev.Region, ev.Topic, env.Time); err != nil {
			return err
		}
		return t.exec(`INSERT INTO gaps (region, topic, identified_at, filled_at) VALUES ($1, $2, '-infinity', $3)
			ON CONFLICT (region, topic) DO UPDATE SET filled_at = GREATEST(gaps.filled_at, EXCLUDED.filled_at)`,
			ev.Region, ev.Topic, env.Time)
	})
}

// ApplyRequestAnswered projects request_answered: one row per answer, so a request answered
// twice counts once as answered and an answer consumed before its request waits for it.
func (s *Store) ApplyRequestAnswered(ctx context.Context, ev events.RequestAnswered, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error {
		return t.exec(`INSERT INTO request_answers (answer_id, request_id, answered_at) VALUES ($1, $2, $3)
			ON CONFLICT (answer_id) DO NOTHING`, ev.AnswerID, ev.RequestID, env.Time)
	})
}

// Report is a printable network report: the nation's (Scope "") or one region's.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Scope is the region reported on; empty for the nation.
	Scope     string         `json:"scope"`
	ScopeName string         `json:"scope_name"`
	Regions   []RegionReport `json:"regions"`
	// Totals add up the regions, except overlaps: a cross-region overlap counts once.
	Totals ReportTotals `json:"totals"`
	// CoPs is each CoP's health, for a region's report only.
	CoPs []CoPHealth `json:"cops"`
}

// ReportFigures are the evidence figures of a region, or of the nation.
type ReportFigures struct {
	// SessionsHeld counts every session held (not cancelled), since the first.
	SessionsHeld int `json:"sessions_held"`
	// OverlapsDetected counts overlaps ever detected; OverlapsCoordinated those the CoPs
	// marked coordinated; OverlapsOpen those still waiting for action.
	OverlapsDetected    int `json:"overlaps_detected"`
	OverlapsCoordinated int `json:"overlaps_coordinated"`
	OverlapsOpen        int `json:"overlaps_open"`
	// GapsOpen counts topics asked for without supply in the region; GapsSupplied those
	// another region could fill.
	GapsOpen     int `json:"gaps_open"`
	GapsSupplied int `json:"gaps_supplied"`
	// GapsFilled counts the times a gap of the region closed: supply in the region now
	// meets the demand.
	GapsFilled int `json:"gaps_filled"`
	// RequestsRaised counts requests for information raised by the region's CoPs;
	// RequestsAnswered those with at least one answer.
	RequestsRaised   int `json:"requests_raised"`
	RequestsAnswered int `json:"requests_answered"`
}

// RegionReport is one region's part of a report.
type RegionReport struct {
	RegionFigures
	ReportFigures
}

// ReportTotals are the nation's figures.
type ReportTotals struct {
	Totals
	ReportFigures
	CoPsByStatus map[string]int `json:"cops_by_status"`
	CoPsByStage  map[string]int `json:"cops_by_stage"`
}

// Report returns the nation's report (region "") or one region's; ErrNotFound for a region
// the console has never heard of.
func (s *Store) Report(ctx context.Context, region string) (*Report, error) {
	var rep *Report
	err := s.read(ctx, func(tx pgx.Tx, now time.Time) error {
		ids, err := knownRegions(ctx, tx, region)
		if err != nil {
			return err
		}
		if region != "" && len(ids) == 0 {
			return ErrNotFound
		}
		figures, err := regionFigures(ctx, tx, now, ids)
		if err != nil {
			return err
		}
		rep = &Report{GeneratedAt: now, Scope: region, ScopeName: "National network", Regions: make([]RegionReport, len(figures)),
			CoPs: []CoPHealth{}, Totals: ReportTotals{CoPsByStatus: map[string]int{}, CoPsByStage: map[string]int{}}}
		at := map[string]*RegionReport{}
		for i, f := range figures {
			rep.Regions[i] = RegionReport{RegionFigures: f}
			at[f.ID] = &rep.Regions[i]
		}
		if region != "" && len(figures) == 1 {
			rep.ScopeName = figures[0].Name
		}
		if err := reportFigures(ctx, tx, ids, at); err != nil {
			return err
		}
		t := &rep.Totals
		for _, r := range rep.Regions {
			t.CoPs += r.CoPs
			t.Members += r.Members
			t.SessionsHeld90d += r.SessionsHeld90d
			t.AwaitingDecision += r.Onboarding.Proposed
			t.Gaps += r.GapsOpen
			t.SessionsHeld += r.SessionsHeld
			t.GapsOpen += r.GapsOpen
			t.GapsSupplied += r.GapsSupplied
			t.GapsFilled += r.GapsFilled
			t.RequestsRaised += r.RequestsRaised
			t.RequestsAnswered += r.RequestsAnswered
			for k, v := range r.CoPsByStatus {
				t.CoPsByStatus[k] += v
			}
			for k, v := range r.CoPsByStage {
				t.CoPsByStage[k] += v
			}
		}
		// Overlaps span regions: the nation counts each once, a region those touching it.
		err = tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'coordinated'),
				count(*) FILTER (WHERE status = 'open')
			FROM cop_overlaps WHERE detected_at IS NOT NULL AND ($1 = '' OR $1 = ANY(regions))`, region).
			Scan(&t.OverlapsDetected, &t.OverlapsCoordinated, &t.OverlapsOpen)
		if err != nil {
			return err
		}
		t.OpenOverlaps = t.OverlapsOpen
		if region != "" {
			rep.CoPs, err = health(ctx, tx, now, `c.region = $1 AND c.status IN ('approved', 'retired')`, region)
		}
		return err
	})
	return rep, err
}

// reportFigures reads the evidence figures of regions ids into at.
func reportFigures(ctx context.Context, tx pgx.Tx, ids []string, at map[string]*RegionReport) error {
	if len(ids) == 0 {
		return nil
	}
	var id string
	var a, b, c int
	rows, err := tx.Query(ctx, `SELECT region, count(*) FROM sessions
		WHERE region = ANY($1) AND held_on IS NOT NULL AND NOT cancelled GROUP BY region`, ids)
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &a}, func() error {
		at[id].SessionsHeld = a
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT r, count(*), count(*) FILTER (WHERE o.status = 'coordinated'),
			count(*) FILTER (WHERE o.status = 'open')
		FROM cop_overlaps o CROSS JOIN LATERAL (SELECT DISTINCT r FROM unnest(o.regions) r) x
		WHERE o.detected_at IS NOT NULL AND r = ANY($1) GROUP BY r`, ids)
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &a, &b, &c}, func() error {
		at[id].OverlapsDetected, at[id].OverlapsCoordinated, at[id].OverlapsOpen = a, b, c
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT region, count(*), count(*) FILTER (WHERE cardinality(supplying_regions) > 0)
		FROM gaps WHERE region = ANY($1) AND (filled_at IS NULL OR identified_at > filled_at) GROUP BY region`, ids)
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &a, &b}, func() error {
		at[id].GapsOpen, at[id].GapsSupplied = a, b
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT region, count(*) FROM gap_fills WHERE region = ANY($1) GROUP BY region`, ids)
	if err != nil {
		return err
	}
	if _, err := pgx.ForEachRow(rows, []any{&id, &a}, func() error {
		at[id].GapsFilled = a
		return nil
	}); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT q.region, count(*),
			count(*) FILTER (WHERE EXISTS (SELECT 1 FROM request_answers a WHERE a.request_id = q.id))
		FROM requests q WHERE q.region = ANY($1) AND q.raised_at IS NOT NULL GROUP BY q.region`, ids)
	if err != nil {
		return err
	}
	_, err = pgx.ForEachRow(rows, []any{&id, &a, &b}, func() error {
		at[id].RequestsRaised, at[id].RequestsAnswered = a, b
		return nil
	})
	return err
}

// CoPReport is a CoP's printable report: its health, sessions, polls and projects.
type CoPReport struct {
	GeneratedAt time.Time `json:"generated_at"`
	*CoPDetail
	// SessionsHeld counts the CoP's sessions held, since the first.
	SessionsHeld int `json:"sessions_held"`
	// ConfidenceTrend is the mean confidence of its published evaluations, oldest first.
	ConfidenceTrend []float64 `json:"confidence_trend"`
	// Attendance is each session with attendance recorded, oldest first.
	Attendance []SessionAttendance `json:"attendance"`
}

// SessionAttendance is one session's attendance counts (never who).
type SessionAttendance struct {
	Session
	Apologies *int `json:"apologies"`
	Absent    *int `json:"absent"`
	// Timezone is the CoP's zone as scheduling gave it ("" when unknown).
	Timezone string `json:"timezone"`
}

// CoPReport returns CoP id's report; ErrNotFound when the console has never heard of it.
func (s *Store) CoPReport(ctx context.Context, id string) (*CoPReport, error) {
	d, err := s.CoP(ctx, id)
	if err != nil {
		return nil, err
	}
	rep := &CoPReport{GeneratedAt: s.now().UTC(), CoPDetail: d, ConfidenceTrend: []float64{}, Attendance: []SessionAttendance{}}
	err = s.read(ctx, func(tx pgx.Tx, _ time.Time) error {
		rows, err := tx.Query(ctx, `SELECT id, number, topic, coalesce(took_place_at, starts_at), held_at, cancelled, attended, apologies, absent,
				CASE WHEN members > 0 THEN members ELSE attended + coalesce(apologies, 0) + coalesce(absent, 0) END, rate, timezone
			FROM sessions WHERE cop_id = $1 AND (held_at IS NOT NULL OR attended IS NOT NULL) AND NOT cancelled
			ORDER BY trend_at NULLS FIRST, id COLLATE "C"`, id)
		if err != nil {
			return err
		}
		var v SessionAttendance
		var startsAt, heldAt *time.Time
		var rate *float64
		if _, err := pgx.ForEachRow(rows, []any{&v.ID, &v.Number, &v.Topic, &startsAt, &heldAt, &v.Cancelled, &v.Attended,
			&v.Apologies, &v.Absent, &v.Expected, &rate, &v.Timezone}, func() error {
			v.StartsAt, v.HeldAt, v.Rate = utc(startsAt), utc(heldAt), nil
			if rate != nil {
				r := round(*rate, 3)
				v.Rate = &r
			}
			if heldAt != nil {
				rep.SessionsHeld++
			}
			rep.Attendance = append(rep.Attendance, v)
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT confidence_mean FROM polls WHERE cop_id = $1 AND purpose = 'evaluation'
			AND confidence_mean IS NOT NULL AND published_at IS NOT NULL ORDER BY dated_at, id COLLATE "C"`, id)
		if err != nil {
			return err
		}
		var m float64
		_, err = pgx.ForEachRow(rows, []any{&m}, func() error {
			rep.ConfidenceTrend = append(rep.ConfidenceTrend, round(m, 2))
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	// The report lists every session's attendance; the health's trend keeps its own bound.
	rep.Attendance = slices.Clip(rep.Attendance)
	return rep, nil
}
