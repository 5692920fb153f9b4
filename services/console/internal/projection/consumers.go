// Package projection keeps the console's read models: it applies other services' events to
// the console's own tables and reads the figures the pages and the read API show.
package projection

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
)

// Status ranks: the registry's onboarding only moves forward (proposed → approved or
// declined → retired), so the highest rank seen is the current status whatever order the
// consumers ran in.
var statusRank = map[string]int{"proposed": 1, "approved": 2, "declined": 2, "retired": 3}

// Register subscribes the console to every event it projects. Handler names are durable
// consumer names, so they are part of the contract: renaming one replays the stream.
func Register(r *bus.Router) {
	handle(r, "on_region_created", applyRegionCreated)
	handle(r, "on_cop_proposed", applyCoPProposed)
	handle(r, "on_cop_approved", func(ctx context.Context, tx pgx.Tx, ev events.CoPApproved, env events.Envelope) error {
		return setStatus(ctx, tx, ev.CoPID, ev.Region, "approved", env)
	})
	handle(r, "on_cop_declined", func(ctx context.Context, tx pgx.Tx, ev events.CoPDeclined, env events.Envelope) error {
		return setStatus(ctx, tx, ev.CoPID, ev.Region, "declined", env)
	})
	handle(r, "on_cop_retired", func(ctx context.Context, tx pgx.Tx, ev events.CoPRetired, env events.Envelope) error {
		return setStatus(ctx, tx, ev.CoPID, ev.Region, "retired", env)
	})
	handle(r, "on_charter_published", applyCharterPublished)
	handle(r, "on_stage_changed", func(ctx context.Context, tx pgx.Tx, ev events.StageChanged, env events.Envelope) error {
		return setStage(ctx, tx, ev.CoPID, ev.Region, ev.To, env)
	})
	handle(r, "on_member_joined", applyMemberJoined)
	handle(r, "on_member_left", applyMemberLeft)
	handle(r, "on_person_erased", applyPersonErased)
	handle(r, "on_session_scheduled", applySessionScheduled)
	handle(r, "on_session_rescheduled", applySessionRescheduled)
	handle(r, "on_session_cancelled", applySessionCancelled)
	handle(r, "on_session_held", applySessionHeld)
	handle(r, "on_attendance_recorded", applyAttendanceRecorded)
	handle(r, "on_participation_declining", applyParticipationDeclining)
	handle(r, "on_poll_opened", applyPollOpened)
	handle(r, "on_poll_closed", applyPollClosed)
	handle(r, "on_results_published", applyResultsPublished)
	handle(r, "on_stage_assessed", applyStageAssessed)
	handle(r, "on_project_mapped", applyProjectMapped)
	handle(r, "on_overlap_detected", applyOverlapDetected)
	handle(r, "on_overlap_resolved", applyOverlapResolved)
	handle(r, "on_gap_identified", applyGapIdentified)
}

// handle registers fn and counts the event against its origin node in the same
// transaction. Each event type has exactly one console handler, so each event is counted
// once; the bus skips redeliveries before fn runs.
func handle[E events.Event](r *bus.Router, name string, fn bus.HandlerFunc[E]) {
	bus.Handle(r, name, func(ctx context.Context, tx pgx.Tx, ev E, env events.Envelope) error {
		if err := fn(ctx, tx, ev, env); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return seen(ctx, tx, env)
	})
}

// Apply runs the console's handler for ev inside tx, as the bus would. Tests and replays
// use it to rebuild a projection from a fixed list of events.
func Apply(ctx context.Context, tx pgx.Tx, ev events.Event, env events.Envelope) error {
	var err error
	switch ev := ev.(type) {
	case events.RegionCreated:
		err = applyRegionCreated(ctx, tx, ev, env)
	case events.CoPProposed:
		err = applyCoPProposed(ctx, tx, ev, env)
	case events.CoPApproved:
		err = setStatus(ctx, tx, ev.CoPID, ev.Region, "approved", env)
	case events.CoPDeclined:
		err = setStatus(ctx, tx, ev.CoPID, ev.Region, "declined", env)
	case events.CoPRetired:
		err = setStatus(ctx, tx, ev.CoPID, ev.Region, "retired", env)
	case events.CharterPublished:
		err = applyCharterPublished(ctx, tx, ev, env)
	case events.StageChanged:
		err = setStage(ctx, tx, ev.CoPID, ev.Region, ev.To, env)
	case events.MemberJoined:
		err = applyMemberJoined(ctx, tx, ev, env)
	case events.MemberLeft:
		err = applyMemberLeft(ctx, tx, ev, env)
	case events.PersonErased:
		err = applyPersonErased(ctx, tx, ev, env)
	case events.SessionScheduled:
		err = applySessionScheduled(ctx, tx, ev, env)
	case events.SessionRescheduled:
		err = applySessionRescheduled(ctx, tx, ev, env)
	case events.SessionCancelled:
		err = applySessionCancelled(ctx, tx, ev, env)
	case events.SessionHeld:
		err = applySessionHeld(ctx, tx, ev, env)
	case events.AttendanceRecorded:
		err = applyAttendanceRecorded(ctx, tx, ev, env)
	case events.ParticipationDeclining:
		err = applyParticipationDeclining(ctx, tx, ev, env)
	case events.PollOpened:
		err = applyPollOpened(ctx, tx, ev, env)
	case events.PollClosed:
		err = applyPollClosed(ctx, tx, ev, env)
	case events.ResultsPublished:
		err = applyResultsPublished(ctx, tx, ev, env)
	case events.StageAssessed:
		err = applyStageAssessed(ctx, tx, ev, env)
	case events.ProjectMapped:
		err = applyProjectMapped(ctx, tx, ev, env)
	case events.OverlapDetected:
		err = applyOverlapDetected(ctx, tx, ev, env)
	case events.OverlapResolved:
		err = applyOverlapResolved(ctx, tx, ev, env)
	case events.GapIdentified:
		err = applyGapIdentified(ctx, tx, ev, env)
	default:
		return nil // the console does not project this event
	}
	if err != nil {
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

// touchCoP makes sure the CoP's row exists and knows its region: any service's event may
// be the first the console hears of a CoP.
func touchCoP(ctx context.Context, tx pgx.Tx, cop, region string) error {
	_, err := tx.Exec(ctx, `INSERT INTO cops (id, region) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET region = CASE WHEN EXCLUDED.region <> '' THEN EXCLUDED.region ELSE cops.region END`,
		cop, region)
	return err
}

func applyRegionCreated(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, _ events.Envelope) error {
	_, err := tx.Exec(ctx, `INSERT INTO regions (id, name) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name`, ev.RegionID, ev.Name)
	return err
}

func applyCoPProposed(ctx context.Context, tx pgx.Tx, ev events.CoPProposed, env events.Envelope) error {
	if err := touchCoP(ctx, tx, ev.CoPID, ev.Region); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE cops SET name = $2, scope = $3, topics = $4 WHERE id = $1`,
		ev.CoPID, ev.Name, ev.Scope, nonNil(ev.Topics)); err != nil {
		return err
	}
	if err := setStatus(ctx, tx, ev.CoPID, ev.Region, "proposed", env); err != nil {
		return err
	}
	return setStage(ctx, tx, ev.CoPID, ev.Region, ev.Stage, env)
}

func setStatus(ctx context.Context, tx pgx.Tx, cop, region, status string, env events.Envelope) error {
	if err := touchCoP(ctx, tx, cop, region); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE cops SET status = $2, status_rank = $3, status_at = $4
		WHERE id = $1 AND (status_rank < $3 OR (status_rank = $3 AND status_at < $4))`,
		cop, status, statusRank[status], env.Time)
	return err
}

// setStage keeps the stage of the latest event that set one.
func setStage(ctx context.Context, tx pgx.Tx, cop, region, stage string, env events.Envelope) error {
	if err := touchCoP(ctx, tx, cop, region); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE cops SET stage = $2, stage_at = $3
		WHERE id = $1 AND (stage_at IS NULL OR stage_at < $3 OR (stage_at = $3 AND stage < $2))`,
		cop, stage, env.Time)
	return err
}

func applyCharterPublished(ctx context.Context, tx pgx.Tx, ev events.CharterPublished, _ events.Envelope) error {
	if err := touchCoP(ctx, tx, ev.CoPID, ev.Region); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE cops SET charter_version = GREATEST(charter_version, $2) WHERE id = $1`, ev.CoPID, ev.Version)
	return err
}

func applyMemberJoined(ctx context.Context, tx pgx.Tx, ev events.MemberJoined, env events.Envelope) error {
	if err := touchCoP(ctx, tx, ev.CoPID, ev.Region); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO memberships (cop_id, person_key, joined_at) VALUES ($1, $2, $3)
		ON CONFLICT (cop_id, person_key) DO UPDATE SET joined_at = GREATEST(memberships.joined_at, EXCLUDED.joined_at)`,
		ev.CoPID, personKey(ev.PersonID), env.Time)
	return err
}

func applyMemberLeft(ctx context.Context, tx pgx.Tx, ev events.MemberLeft, env events.Envelope) error {
	if err := touchCoP(ctx, tx, ev.CoPID, ev.Region); err != nil {
		return err
	}
	left := pgtype.Timestamptz{Time: env.Time, Valid: true}
	if ev.Reason == "erased" {
		// An erased person never counts again, whatever order the join and the leave
		// are consumed in.
		left = infinity
	}
	_, err := tx.Exec(ctx, `INSERT INTO memberships (cop_id, person_key, left_at) VALUES ($1, $2, $3)
		ON CONFLICT (cop_id, person_key) DO UPDATE SET left_at = GREATEST(memberships.left_at, EXCLUDED.left_at)`,
		ev.CoPID, personKey(ev.PersonID), left)
	return err
}

func applyPersonErased(ctx context.Context, tx pgx.Tx, ev events.PersonErased, _ events.Envelope) error {
	_, err := tx.Exec(ctx, `UPDATE memberships SET left_at = $2 WHERE person_key = $1`, personKey(ev.PersonID), infinity)
	return err
}

// infinity is later than any join: PostgreSQL stores it as 'infinity'.
var infinity = pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}

// personKey is what the console keeps of a person: a one-way digest of their id, enough
// to count each member once and nothing that names or reaches them.
func personKey(id string) string {
	sum := sha256.Sum256([]byte("copnet-console-member:" + id))
	return hex.EncodeToString(sum[:])
}

func touchSession(ctx context.Context, tx pgx.Tx, session, cop string) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, cop_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, session, cop)
	return err
}

func applySessionScheduled(ctx context.Context, tx pgx.Tx, ev events.SessionScheduled, _ events.Envelope) error {
	if err := touchSession(ctx, tx, ev.SessionID, ev.CoPID); err != nil {
		return err
	}
	// A scheduling is sequence 0; a reschedule with a higher sequence wins whichever
	// arrives first.
	if _, err := tx.Exec(ctx, `UPDATE sessions SET number = $2 WHERE id = $1`, ev.SessionID, ev.Number); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET starts_at = $2, topic = $3, sequence = 0 WHERE id = $1 AND sequence < 0`,
		ev.SessionID, ev.StartsAt, ev.Topic)
	return err
}

func applySessionRescheduled(ctx context.Context, tx pgx.Tx, ev events.SessionRescheduled, _ events.Envelope) error {
	if err := touchSession(ctx, tx, ev.SessionID, ev.CoPID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET starts_at = $2, topic = $3, sequence = $4 WHERE id = $1 AND sequence < $4`,
		ev.SessionID, ev.StartsAt, ev.Topic, ev.Sequence)
	return err
}

func applySessionCancelled(ctx context.Context, tx pgx.Tx, ev events.SessionCancelled, _ events.Envelope) error {
	if err := touchSession(ctx, tx, ev.SessionID, ev.CoPID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET cancelled = true WHERE id = $1`, ev.SessionID)
	return err
}

func applySessionHeld(ctx context.Context, tx pgx.Tx, ev events.SessionHeld, _ events.Envelope) error {
	if err := touchSession(ctx, tx, ev.SessionID, ev.CoPID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET held_at = $2, number = $3,
		topic = CASE WHEN $4 <> '' THEN $4 ELSE topic END WHERE id = $1`, ev.SessionID, ev.HeldAt, ev.Number, ev.Topic)
	return err
}

// applyAttendanceRecorded keeps the counts only; who attended stays in scheduling.
// A correction replaces the record when it is later.
func applyAttendanceRecorded(ctx context.Context, tx pgx.Tx, ev events.AttendanceRecorded, env events.Envelope) error {
	if err := touchSession(ctx, tx, ev.SessionID, ev.CoPID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE sessions SET attended = $2, apologies = $3, absent = $4, attendance_at = $5
		WHERE id = $1 AND (attendance_at IS NULL OR attendance_at < $5)`,
		ev.SessionID, ev.Attended, ev.Apologies, ev.Absent, env.Time)
	return err
}

func applyParticipationDeclining(ctx context.Context, tx pgx.Tx, ev events.ParticipationDeclining, env events.Envelope) error {
	if err := touchCoP(ctx, tx, ev.CoPID, ""); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE cops SET declining = true, declining_at = $2, early_rate = $3, recent_rate = $4
		WHERE id = $1 AND (declining_at IS NULL OR declining_at < $2)`, ev.CoPID, env.Time, ev.EarlyRate, ev.RecentRate)
	return err
}

func applyStageAssessed(ctx context.Context, tx pgx.Tx, ev events.StageAssessed, env events.Envelope) error {
	if err := touchCoP(ctx, tx, ev.CoPID, ""); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE cops SET assessed_stage = $2, assessed_at = $3
		WHERE id = $1 AND (assessed_at IS NULL OR assessed_at < $3)`, ev.CoPID, ev.Stage, env.Time)
	return err
}

func touchPoll(ctx context.Context, tx pgx.Tx, poll, cop string) error {
	_, err := tx.Exec(ctx, `INSERT INTO polls (id, cop_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, poll, cop)
	return err
}

func applyPollOpened(ctx context.Context, tx pgx.Tx, ev events.PollOpened, _ events.Envelope) error {
	if err := touchPoll(ctx, tx, ev.PollID, ev.CoPID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE polls SET session_id = $2, kind = $3, purpose = $4 WHERE id = $1`,
		ev.PollID, ev.SessionID, ev.Kind, ev.Purpose)
	return err
}

func applyPollClosed(ctx context.Context, tx pgx.Tx, ev events.PollClosed, _ events.Envelope) error {
	if err := touchPoll(ctx, tx, ev.PollID, ev.CoPID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE polls SET closed = true WHERE id = $1`, ev.PollID)
	return err
}

// questionResult is the part of feedback's per-question aggregate the console reads.
type questionResult struct {
	Key    string         `json:"key"`
	Mean   *float64       `json:"mean"`
	Counts map[string]int `json:"counts"`
}

// applyResultsPublished keeps the figures the console shows: the confidence mean (the
// network's confidence trend), usefulness, and the check-in's "still meets our needs".
func applyResultsPublished(ctx context.Context, tx pgx.Tx, ev events.ResultsPublished, env events.Envelope) error {
	if err := touchPoll(ctx, tx, ev.PollID, ev.CoPID); err != nil {
		return err
	}
	if err := touchCoP(ctx, tx, ev.CoPID, ev.Region); err != nil {
		return err
	}
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
	_, err = tx.Exec(ctx, `UPDATE polls SET closed = true, kind = $2, purpose = $3,
		session_id = CASE WHEN $4 <> '' THEN $4 ELSE session_id END,
		responses = $5, confidence_mean = $6, usefulness_mean = $7, meets_needs = $8, published_at = $9
		WHERE id = $1`, ev.PollID, ev.Kind, ev.Purpose, ev.SessionID, ev.Responses, confidence, usefulness, meetsNeeds, env.Time)
	return err
}

func applyProjectMapped(ctx context.Context, tx pgx.Tx, ev events.ProjectMapped, _ events.Envelope) error {
	communities, err := json.Marshal(nonNilCommunities(ev.Communities))
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO projects (id, cop_id, region, title, organisation, topics, communities, starts_on, ends_on)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET cop_id = EXCLUDED.cop_id, region = EXCLUDED.region, title = EXCLUDED.title,
			organisation = EXCLUDED.organisation, topics = EXCLUDED.topics, communities = EXCLUDED.communities,
			starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on`,
		ev.ProjectID, ev.CoPID, ev.Region, ev.Title, ev.Organisation, nonNil(ev.Topics), communities, ev.StartsOn, ev.EndsOn)
	return err
}

func applyOverlapDetected(ctx context.Context, tx pgx.Tx, ev events.OverlapDetected, env events.Envelope) error {
	// The status is left alone: a resolution consumed first must not be reopened.
	_, err := tx.Exec(ctx, `INSERT INTO cop_overlaps (id, kind, score, project_ids, cop_ids, regions, detected_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, score = EXCLUDED.score, project_ids = EXCLUDED.project_ids,
			cop_ids = EXCLUDED.cop_ids, regions = EXCLUDED.regions, detected_at = EXCLUDED.detected_at`,
		ev.OverlapID, ev.Kind, ev.Score, nonNil(ev.ProjectIDs), nonNil(ev.CoPIDs), nonNil(ev.Regions), env.Time)
	return err
}

func applyOverlapResolved(ctx context.Context, tx pgx.Tx, ev events.OverlapResolved, _ events.Envelope) error {
	_, err := tx.Exec(ctx, `INSERT INTO cop_overlaps (id, status) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status`, ev.OverlapID, ev.Status)
	return err
}

// applyGapIdentified keeps the latest word on each region's gap on a topic.
func applyGapIdentified(ctx context.Context, tx pgx.Tx, ev events.GapIdentified, env events.Envelope) error {
	_, err := tx.Exec(ctx, `INSERT INTO gaps (region, topic, supplying_regions, identified_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (region, topic) DO UPDATE SET supplying_regions = EXCLUDED.supplying_regions, identified_at = EXCLUDED.identified_at
		WHERE gaps.identified_at < EXCLUDED.identified_at`, ev.Region, ev.Topic, nonNil(ev.SupplyingRegions), env.Time)
	return err
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
