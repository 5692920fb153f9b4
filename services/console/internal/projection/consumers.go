// Package projection keeps the console's read models: it applies other services' events to
// the console's own tables and reads the figures the pages and the read API show.
package projection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
)

// Status ranks: the registry's onboarding moves forward round by round (proposed, changes
// asked, resubmitted as the next round's proposal ...) and then to approved or declined and
// retired, so the highest rank seen is the current status whatever order the consumers ran
// in. A proposal of round r ranks 2r-1, changes asked of it 2r; decisions rank above any
// round (migrations/007_applications.sql).
var statusRank = map[string]int{"proposed": 1, "approved": decidedRank, "declined": decidedRank, "retired": decidedRank + 1}

const decidedRank = 1 << 20

// onboardingRank is the rank of round's proposal, or of the changes asked of it.
func onboardingRank(round int, changesAsked bool) int {
	round = min(max(round, 1), decidedRank/2-1)
	if changesAsked {
		return 2 * round
	}
	return 2*round - 1
}

// The Apply<Event> methods project one event each. Each joins the transaction ctx carries
// (the consumer's, postgres.WithTx), so the rows, the aggregate deltas and the origin's
// count commit with the record that the event was processed. Each event type has exactly
// one console consumer, so each event is counted once; the bus skips redeliveries before
// the app calls these.

// apply runs fn for one event in the transaction ctx carries, or in its own.
func (s *Store) apply(ctx context.Context, env events.Envelope, fn func(*txn) error) error {
	return postgres.Tx(ctx, s.pool, func(tx pgx.Tx) error { return run(ctx, tx, env, fn) })
}

// ApplyRegionCreated projects region_created.
func (s *Store) ApplyRegionCreated(ctx context.Context, ev events.RegionCreated, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.regionCreated(ev, env) })
}

// ApplyCoPProposed projects cop_proposed.
func (s *Store) ApplyCoPProposed(ctx context.Context, ev events.CoPProposed, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.copProposed(ev, env) })
}

// ApplyCoPChangesRequested projects cop_changes_requested: the CoP stays in onboarding
// (shown as proposed), one rank up.
func (s *Store) ApplyCoPChangesRequested(ctx context.Context, ev events.CoPChangesRequested, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error {
		return t.changeCoP(ev.CoPID, ev.Region, func() error {
			return t.rankedStatusRow(ev.CoPID, "proposed", onboardingRank(ev.Round, true), env)
		})
	})
}

// ApplyCoPResubmitted projects cop_resubmitted: the next round's proposal, with its name,
// scope and topics as they now stand.
func (s *Store) ApplyCoPResubmitted(ctx context.Context, ev events.CoPResubmitted, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error {
		return t.changeCoP(ev.CoPID, ev.Region, func() error {
			if err := t.exec(`UPDATE cops SET name = $2, scope = $3, topics = $4, name_round = $5 WHERE id = $1 AND name_round <= $5`,
				ev.CoPID, ev.Name, ev.Scope, nonNil(ev.Topics), ev.Round); err != nil {
				return err
			}
			return t.rankedStatusRow(ev.CoPID, "proposed", onboardingRank(ev.Round, false), env)
		})
	})
}

// ApplyCoPApproved projects cop_approved.
func (s *Store) ApplyCoPApproved(ctx context.Context, ev events.CoPApproved, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.setStatus(ev.CoPID, ev.Region, "approved", env) })
}

// ApplyCoPDeclined projects cop_declined.
func (s *Store) ApplyCoPDeclined(ctx context.Context, ev events.CoPDeclined, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.setStatus(ev.CoPID, ev.Region, "declined", env) })
}

// ApplyCoPRetired projects cop_retired.
func (s *Store) ApplyCoPRetired(ctx context.Context, ev events.CoPRetired, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.setStatus(ev.CoPID, ev.Region, "retired", env) })
}

// ApplyCharterPublished projects charter_published.
func (s *Store) ApplyCharterPublished(ctx context.Context, ev events.CharterPublished, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.charterPublished(ev, env) })
}

// ApplyStageChanged projects stage_changed.
func (s *Store) ApplyStageChanged(ctx context.Context, ev events.StageChanged, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.setStage(ev.CoPID, ev.Region, ev.To, env) })
}

// ApplyMemberJoined projects member_joined.
func (s *Store) ApplyMemberJoined(ctx context.Context, ev events.MemberJoined, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.memberJoined(ev, env) })
}

// ApplyMemberLeft projects member_left.
func (s *Store) ApplyMemberLeft(ctx context.Context, ev events.MemberLeft, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.memberLeft(ev, env) })
}

// ApplyPersonErased projects person_erased.
func (s *Store) ApplyPersonErased(ctx context.Context, ev events.PersonErased, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.personErased(ev, env) })
}

// ApplySessionScheduled projects session_scheduled.
func (s *Store) ApplySessionScheduled(ctx context.Context, ev events.SessionScheduled, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.sessionScheduled(ev, env) })
}

// ApplySessionRescheduled projects session_rescheduled.
func (s *Store) ApplySessionRescheduled(ctx context.Context, ev events.SessionRescheduled, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.sessionRescheduled(ev, env) })
}

// ApplySessionCancelled projects session_cancelled.
func (s *Store) ApplySessionCancelled(ctx context.Context, ev events.SessionCancelled, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.sessionCancelled(ev, env) })
}

// ApplySessionHeld projects session_held.
func (s *Store) ApplySessionHeld(ctx context.Context, ev events.SessionHeld, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.sessionHeld(ev, env) })
}

// ApplyAttendanceRecorded projects attendance_recorded.
func (s *Store) ApplyAttendanceRecorded(ctx context.Context, ev events.AttendanceRecorded, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.attendanceRecorded(ev, env) })
}

// ApplyParticipationDeclining projects participation_declining.
func (s *Store) ApplyParticipationDeclining(ctx context.Context, ev events.ParticipationDeclining, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.participationDeclining(ev, env) })
}

// ApplyPollOpened projects poll_opened.
func (s *Store) ApplyPollOpened(ctx context.Context, ev events.PollOpened, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.pollOpened(ev, env) })
}

// ApplyPollClosed projects poll_closed.
func (s *Store) ApplyPollClosed(ctx context.Context, ev events.PollClosed, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.pollClosed(ev, env) })
}

// ApplyResultsPublished projects results_published.
func (s *Store) ApplyResultsPublished(ctx context.Context, ev events.ResultsPublished, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.resultsPublished(ev, env) })
}

// ApplyStageAssessed projects stage_assessed.
func (s *Store) ApplyStageAssessed(ctx context.Context, ev events.StageAssessed, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.stageAssessed(ev, env) })
}

// ApplyProjectMapped projects project_mapped.
func (s *Store) ApplyProjectMapped(ctx context.Context, ev events.ProjectMapped, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.projectMapped(ev, env) })
}

// ApplyOverlapDetected projects overlap_detected.
func (s *Store) ApplyOverlapDetected(ctx context.Context, ev events.OverlapDetected, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.overlapDetected(ev, env) })
}

// ApplyOverlapResolved projects overlap_resolved.
func (s *Store) ApplyOverlapResolved(ctx context.Context, ev events.OverlapResolved, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.overlapResolved(ev, env) })
}

// ApplyGapIdentified projects gap_identified.
func (s *Store) ApplyGapIdentified(ctx context.Context, ev events.GapIdentified, env events.Envelope) error {
	return s.apply(ctx, env, func(t *txn) error { return t.gapIdentified(ev, env) })
}

// Apply runs the console's handler for ev inside tx, as the bus would. Tests and replays
// use it to rebuild a projection from a fixed list of events.
func Apply(ctx context.Context, tx pgx.Tx, ev events.Event, env events.Envelope) error {
	// The store's writes join the transaction ctx carries, so they need no pool of their own.
	s, ctx := &Store{}, postgres.WithTx(ctx, tx)
	switch ev := ev.(type) {
	case events.RegionCreated:
		return s.ApplyRegionCreated(ctx, ev, env)
	case events.CoPProposed:
		return s.ApplyCoPProposed(ctx, ev, env)
	case events.CoPChangesRequested:
		return s.ApplyCoPChangesRequested(ctx, ev, env)
	case events.CoPResubmitted:
		return s.ApplyCoPResubmitted(ctx, ev, env)
	case events.CoPApproved:
		return s.ApplyCoPApproved(ctx, ev, env)
	case events.CoPDeclined:
		return s.ApplyCoPDeclined(ctx, ev, env)
	case events.CoPRetired:
		return s.ApplyCoPRetired(ctx, ev, env)
	case events.CharterPublished:
		return s.ApplyCharterPublished(ctx, ev, env)
	case events.StageChanged:
		return s.ApplyStageChanged(ctx, ev, env)
	case events.MemberJoined:
		return s.ApplyMemberJoined(ctx, ev, env)
	case events.MemberLeft:
		return s.ApplyMemberLeft(ctx, ev, env)
	case events.PersonErased:
		return s.ApplyPersonErased(ctx, ev, env)
	case events.SessionScheduled:
		return s.ApplySessionScheduled(ctx, ev, env)
	case events.SessionRescheduled:
		return s.ApplySessionRescheduled(ctx, ev, env)
	case events.SessionCancelled:
		return s.ApplySessionCancelled(ctx, ev, env)
	case events.SessionHeld:
		return s.ApplySessionHeld(ctx, ev, env)
	case events.AttendanceRecorded:
		return s.ApplyAttendanceRecorded(ctx, ev, env)
	case events.ParticipationDeclining:
		return s.ApplyParticipationDeclining(ctx, ev, env)
	case events.PollOpened:
		return s.ApplyPollOpened(ctx, ev, env)
	case events.PollClosed:
		return s.ApplyPollClosed(ctx, ev, env)
	case events.ResultsPublished:
		return s.ApplyResultsPublished(ctx, ev, env)
	case events.StageAssessed:
		return s.ApplyStageAssessed(ctx, ev, env)
	case events.ProjectMapped:
		return s.ApplyProjectMapped(ctx, ev, env)
	case events.OverlapDetected:
		return s.ApplyOverlapDetected(ctx, ev, env)
	case events.OverlapResolved:
		return s.ApplyOverlapResolved(ctx, ev, env)
	case events.GapIdentified:
		return s.ApplyGapIdentified(ctx, ev, env)
	case events.GapFilled:
		return s.ApplyGapFilled(ctx, ev, env)
	case events.RequestRaised:
		return s.ApplyRequestRaised(ctx, ev, env)
	case events.RequestAnswered:
		return s.ApplyRequestAnswered(ctx, ev, env)
	default:
		return nil // the console does not project this event
	}
}

// run applies one event in tx: the rows, then the aggregate deltas they caused, then the
// origin's count.
func run(ctx context.Context, tx pgx.Tx, env events.Envelope, fn func(*txn) error) error {
	t := newTxn(ctx, tx)
	if err := fn(t); err != nil {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	return seen(ctx, tx, env)
}

func seen(ctx context.Context, tx pgx.Tx, env events.Envelope) error {
	_, err := tx.Exec(ctx, `INSERT INTO origins (node, events, first_event_at, last_event_at)
		VALUES ($1, 1, $2, $2)
		ON CONFLICT (node) DO UPDATE SET events = origins.events + 1,
			first_event_at = LEAST(origins.first_event_at, EXCLUDED.first_event_at),
			last_event_at = GREATEST(origins.last_event_at, EXCLUDED.last_event_at)`, env.Source, env.Time)
	return err
}

func (t *txn) regionCreated(ev events.RegionCreated, _ events.Envelope) error {
	return t.exec(`INSERT INTO regions (id, name) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, ev.RegionID, ev.Name)
}

func (t *txn) copProposed(ev events.CoPProposed, env events.Envelope) error {
	return t.changeCoP(ev.CoPID, ev.Region, func() error {
		if err := t.exec(`UPDATE cops SET name = $2, scope = $3, topics = $4, name_round = 1 WHERE id = $1 AND name_round <= 1`,
			ev.CoPID, ev.Name, ev.Scope, nonNil(ev.Topics)); err != nil {
			return err
		}
		if err := t.statusRow(ev.CoPID, "proposed", env); err != nil {
			return err
		}
		return t.stageRow(ev.CoPID, ev.Stage, env)
	})
}

func (t *txn) setStatus(cop, region, status string, env events.Envelope) error {
	return t.changeCoP(cop, region, func() error { return t.statusRow(cop, status, env) })
}

func (t *txn) statusRow(cop, status string, env events.Envelope) error {
	return t.rankedStatusRow(cop, status, statusRank[status], env)
}

func (t *txn) rankedStatusRow(cop, status string, rank int, env events.Envelope) error {
	return t.exec(`UPDATE cops SET status = $2, status_rank = $3, status_at = $4
		WHERE id = $1 AND (status_rank < $3 OR (status_rank = $3 AND status_at < $4))`,
		cop, status, rank, env.Time)
}

// setStage keeps the stage of the latest event that set one.
func (t *txn) setStage(cop, region, stage string, env events.Envelope) error {
	return t.changeCoP(cop, region, func() error { return t.stageRow(cop, stage, env) })
}

func (t *txn) stageRow(cop, stage string, env events.Envelope) error {
	return t.exec(`UPDATE cops SET stage = $2, stage_at = $3
		WHERE id = $1 AND (stage_at IS NULL OR stage_at < $3 OR (stage_at = $3 AND stage < $2))`,
		cop, stage, env.Time)
}

func (t *txn) charterPublished(ev events.CharterPublished, _ events.Envelope) error {
	return t.changeCoP(ev.CoPID, ev.Region, func() error {
		return t.exec(`UPDATE cops SET charter_version = GREATEST(charter_version, $2) WHERE id = $1`, ev.CoPID, ev.Version)
	})
}

func (t *txn) memberJoined(ev events.MemberJoined, env events.Envelope) error {
	key := personKey(ev.PersonID)
	if erased, err := t.erased(key); err != nil || erased {
		return err
	}
	return t.changeMembership(ev.CoPID, ev.Region, key, `INSERT INTO memberships (cop_id, person_key, joined_at)
		VALUES ($1, $2, $3)
		ON CONFLICT (cop_id, person_key) DO UPDATE SET joined_at = GREATEST(memberships.joined_at, EXCLUDED.joined_at)
		RETURNING current`, env.Time)
}

func (t *txn) memberLeft(ev events.MemberLeft, env events.Envelope) error {
	key := personKey(ev.PersonID)
	if ev.Reason == "erased" {
		// An erased person never counts again, whatever order the join, the leave and the
		// erasure are consumed in.
		return t.erase(key)
	}
	if erased, err := t.erased(key); err != nil || erased {
		return err
	}
	left := pgtype.Timestamptz{Time: env.Time, Valid: true}
	return t.changeMembership(ev.CoPID, ev.Region, key, `INSERT INTO memberships (cop_id, person_key, left_at)
		VALUES ($1, $2, $3)
		ON CONFLICT (cop_id, person_key) DO UPDATE SET left_at = GREATEST(memberships.left_at, EXCLUDED.left_at)
		RETURNING current`, left)
}

func (t *txn) personErased(ev events.PersonErased, _ events.Envelope) error {
	return t.erase(personKey(ev.PersonID))
}

// erased takes the person's lock and says whether they were erased. Every handler that
// writes a person's digest asks first, under the lock erase takes too: a join consumed
// after the erasure (its own consumer may lag) writes nothing, and a join racing the
// erasure either commits before it (and is ended by it) or sees its tombstone.
func (t *txn) erased(key string) (bool, error) {
	if err := t.exec(`SELECT pg_advisory_xact_lock(hashtextextended('console.person:' || $1, 0))`, key); err != nil {
		return false, err
	}
	var erased bool
	err := t.tx.QueryRow(t.ctx, `SELECT EXISTS (SELECT 1 FROM erased_people WHERE person_key = $1)`, key).Scan(&erased)
	return erased, err
}

// erase keeps a tombstone of the person's digest (so that nothing of them is written
// again), ends every membership of theirs and deletes it, one CoP at a time, taking the
// CoPs' locks in the order every other multi-CoP transaction takes them.
func (t *txn) erase(key string) error {
	if _, err := t.erased(key); err != nil {
		return err
	}
	if err := t.exec(`INSERT INTO erased_people (person_key) VALUES ($1) ON CONFLICT DO NOTHING`, key); err != nil {
		return err
	}
	rows, err := t.tx.Query(t.ctx, `SELECT cop_id FROM memberships WHERE person_key = $1
		ORDER BY hashtextextended('console.cop:' || cop_id, 0), cop_id`, key)
	if err != nil {
		return err
	}
	cops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, cop := range cops {
		err := t.changeMembership(cop, "", key, `UPDATE memberships SET left_at = $3
			WHERE cop_id = $1 AND person_key = $2 RETURNING current`, infinity)
		if err != nil {
			return err
		}
	}
	return t.exec(`DELETE FROM memberships WHERE person_key = $1`, key)
}

// infinity is later than any join: PostgreSQL stores it as 'infinity'.
var infinity = pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}

// personKey is what the console keeps of a person: a one-way digest of their id, enough
// to count each member once and nothing that names or reaches them.
func personKey(id string) string {
	sum := sha256.Sum256([]byte("copnet-console-member:" + id))
	return hex.EncodeToString(sum[:])
}

func (t *txn) sessionScheduled(ev events.SessionScheduled, _ events.Envelope) error {
	return t.changeSession(ev.SessionID, ev.CoPID, func() error {
		// A scheduling is sequence 0; a reschedule with a higher sequence wins whichever
		// arrives first.
		if err := t.exec(`UPDATE sessions SET number = $2, timezone = $3 WHERE id = $1`, ev.SessionID, ev.Number, ev.Timezone); err != nil {
			return err
		}
		return t.exec(`UPDATE sessions SET starts_at = $2, topic = $3, sequence = 0 WHERE id = $1 AND sequence < 0`,
			ev.SessionID, ev.StartsAt, ev.Topic)
	})
}

func (t *txn) sessionRescheduled(ev events.SessionRescheduled, _ events.Envelope) error {
	return t.changeSession(ev.SessionID, ev.CoPID, func() error {
		return t.exec(`UPDATE sessions SET starts_at = $2, topic = $3, sequence = $4 WHERE id = $1 AND sequence < $4`,
			ev.SessionID, ev.StartsAt, ev.Topic, ev.Sequence)
	})
}

func (t *txn) sessionCancelled(ev events.SessionCancelled, _ events.Envelope) error {
	return t.changeSession(ev.SessionID, ev.CoPID, func() error {
		return t.exec(`UPDATE sessions SET cancelled = true WHERE id = $1`, ev.SessionID)
	})
}

func (t *txn) sessionHeld(ev events.SessionHeld, _ events.Envelope) error {
	return t.changeSession(ev.SessionID, ev.CoPID, func() error {
		return t.exec(`UPDATE sessions SET held_at = $2, number = $3,
			topic = CASE WHEN $4 <> '' THEN $4 ELSE topic END, took_place_at = coalesce($5, took_place_at) WHERE id = $1`,
			ev.SessionID, ev.HeldAt, ev.Number, ev.Topic, optionalTime(ev.StartsAt))
	})
}

// attendanceRecorded keeps the counts only (who attended stays in scheduling) and the
// roster size the rate divides by. A correction replaces the record when it is later.
func (t *txn) attendanceRecorded(ev events.AttendanceRecorded, env events.Envelope) error {
	var members *int
	if ev.Members > 0 {
		members = &ev.Members
	}
	return t.changeSession(ev.SessionID, ev.CoPID, func() error {
		if err := t.exec(`UPDATE sessions SET took_place_at = coalesce($2, took_place_at) WHERE id = $1`,
			ev.SessionID, optionalTime(ev.StartsAt)); err != nil {
			return err
		}
		return t.exec(`UPDATE sessions SET attended = $2, apologies = $3, absent = $4, members = $5, attendance_at = $6
			WHERE id = $1 AND (attendance_at IS NULL OR attendance_at < $6)`,
			ev.SessionID, ev.Attended, ev.Apologies, ev.Absent, members, env.Time)
	})
}

// optionalTime is NULL for an optional time the event left out.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (t *txn) participationDeclining(ev events.ParticipationDeclining, env events.Envelope) error {
	return t.changeCoP(ev.CoPID, "", func() error {
		return t.exec(`UPDATE cops SET declining = true, declining_at = $2, early_rate = $3, recent_rate = $4
			WHERE id = $1 AND (declining_at IS NULL OR declining_at < $2)`, ev.CoPID, env.Time, ev.EarlyRate, ev.RecentRate)
	})
}

func (t *txn) stageAssessed(ev events.StageAssessed, env events.Envelope) error {
	return t.changeCoP(ev.CoPID, "", func() error {
		return t.exec(`UPDATE cops SET assessed_stage = $2, assessed_at = $3
			WHERE id = $1 AND (assessed_at IS NULL OR assessed_at < $3)`, ev.CoPID, ev.Stage, env.Time)
	})
}

func (t *txn) pollOpened(ev events.PollOpened, _ events.Envelope) error {
	if err := t.touchPoll(ev.PollID, ev.CoPID); err != nil {
		return err
	}
	if err := t.exec(`UPDATE polls SET session_id = $2, kind = $3, purpose = $4 WHERE id = $1`,
		ev.PollID, ev.SessionID, ev.Kind, ev.Purpose); err != nil {
		return err
	}
	return t.datePoll(ev.PollID)
}

func (t *txn) pollClosed(ev events.PollClosed, _ events.Envelope) error {
	if err := t.touchPoll(ev.PollID, ev.CoPID); err != nil {
		return err
	}
	return t.exec(`UPDATE polls SET closed = true WHERE id = $1`, ev.PollID)
}

// questionResult is the part of feedback's per-question aggregate the console reads.
type questionResult struct {
	Key    string         `json:"key"`
	Mean   *float64       `json:"mean"`
	Counts map[string]int `json:"counts"`
}

// resultsPublished keeps the figures the console shows: the confidence mean (the
// network's confidence trend), usefulness, and the check-in's "still meets our needs".
func (t *txn) resultsPublished(ev events.ResultsPublished, env events.Envelope) error {
	var res struct {
		Questions []questionResult `json:"questions"`
	}
	raw, err := json.Marshal(ev.Results)
	if err != nil {
		return bus.Permanent(fmt.Errorf("results: %w", err))
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		// A results shape the console cannot read is a contract break, not a retryable fault.
		return bus.Permanent(fmt.Errorf("results of poll %s: %w", ev.PollID, err))
	}
	var confidence, usefulness *float64
	var meetsNeeds []byte
	for _, q := range res.Questions {
		switch q.Key {
		case "confidence":
			confidence = q.Mean
		case "usefulness":
			usefulness = q.Mean
		case "meets_needs":
			if meetsNeeds, err = json.Marshal(q.Counts); err != nil {
				return err
			}
		}
	}
	// The CoP first: the poll takes the CoP's region when it is created.
	if err := t.changeCoP(ev.CoPID, ev.Region, nil); err != nil {
		return err
	}
	if err := t.touchPoll(ev.PollID, ev.CoPID); err != nil {
		return err
	}
	if err := t.exec(`UPDATE polls SET closed = true, kind = $2, purpose = $3,
		session_id = CASE WHEN $4 <> '' THEN $4 ELSE session_id END,
		responses = $5, confidence_mean = $6, usefulness_mean = $7, meets_needs = $8, published_at = $9
		WHERE id = $1`, ev.PollID, ev.Kind, ev.Purpose, ev.SessionID, ev.Responses, confidence, usefulness, meetsNeeds, env.Time); err != nil {
		return err
	}
	return t.datePoll(ev.PollID)
}

func (t *txn) projectMapped(ev events.ProjectMapped, _ events.Envelope) error {
	communities, err := json.Marshal(nonNilCommunities(ev.Communities))
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO projects (id, cop_id, region, title, organisation, topics, communities, starts_on, ends_on)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET cop_id = EXCLUDED.cop_id, region = EXCLUDED.region, title = EXCLUDED.title,
			organisation = EXCLUDED.organisation, topics = EXCLUDED.topics, communities = EXCLUDED.communities,
			starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on`,
		ev.ProjectID, ev.CoPID, ev.Region, ev.Title, ev.Organisation, nonNil(ev.Topics), communities, ev.StartsOn, ev.EndsOn)
}

func (t *txn) overlapDetected(ev events.OverlapDetected, env events.Envelope) error {
	// The status is left alone: a resolution consumed first must not be reopened.
	return t.changeOverlap(ev.OverlapID, func() error {
		return t.exec(`UPDATE cop_overlaps SET kind = $2, score = $3, project_ids = $4, cop_ids = $5, regions = $6,
			detected_at = $7 WHERE id = $1`,
			ev.OverlapID, ev.Kind, ev.Score, nonNil(ev.ProjectIDs), nonNil(ev.CoPIDs), nonNil(ev.Regions), env.Time)
	})
}

func (t *txn) overlapResolved(ev events.OverlapResolved, _ events.Envelope) error {
	return t.changeOverlap(ev.OverlapID, func() error {
		return t.exec(`UPDATE cop_overlaps SET status = $2 WHERE id = $1`, ev.OverlapID, ev.Status)
	})
}

// gapIdentified keeps the latest word on each region's gap on a topic.
func (t *txn) gapIdentified(ev events.GapIdentified, env events.Envelope) error {
	return t.exec(`INSERT INTO gaps (region, topic, supplying_regions, identified_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (region, topic) DO UPDATE SET supplying_regions = EXCLUDED.supplying_regions, identified_at = EXCLUDED.identified_at
		WHERE gaps.identified_at < EXCLUDED.identified_at`, ev.Region, ev.Topic, nonNil(ev.SupplyingRegions), env.Time)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilCommunities(c []events.Community) []events.Community {
	if c == nil {
		return []events.Community{}
	}
	return c
}
