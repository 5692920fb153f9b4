package adapters

import (
	"context"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/events"
)

// The projections below run inside the consumer's transaction (tx), which also records the
// event as processed: a redelivered event changes nothing twice.

// ApproveCoP starts serving a CoP. A retirement that arrived first wins.
func (r *Repository) ApproveCoP(ctx context.Context, tx pgx.Tx, cop, region string) error {
	_, err := tx.Exec(ctx, "INSERT INTO cops (id, region) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", cop, region)
	return err
}

// RetireCoP stops a CoP and cancels its upcoming sessions, publishing session_cancelled
// for each so that calendars and feedback learn of it.
func (r *Repository) RetireCoP(ctx context.Context, tx pgx.Tx, cop, region string) error {
	if _, err := tx.Exec(ctx, `INSERT INTO cops (id, region, retired) VALUES ($1, $2, true)
		ON CONFLICT (id) DO UPDATE SET retired = true`, cop, region); err != nil {
		return err
	}
	if _, err := loadCoP(ctx, tx, cop, "FOR UPDATE"); err != nil {
		return err
	}
	upcoming, err := collectSessions(tx.Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id = $1 AND status = 'scheduled' AND starts_at > $2 ORDER BY starts_at`, cop, r.now()))
	if err != nil {
		return err
	}
	var evs []events.Event
	for _, s := range upcoming {
		ev, err := s.Cancel("the CoP was retired")
		if err != nil {
			return err
		}
		if err := saveSession(ctx, tx, s); err != nil {
			return err
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil
	}
	return r.outbox.Publish(ctx, tx, evs...)
}

func personHash(person string) []byte {
	h := sha256.Sum256([]byte("copnet-erased:" + person))
	return h[:]
}

// NameCoP learns a CoP's name (cop_proposed), for calendars and event titles.
func (r *Repository) NameCoP(ctx context.Context, tx pgx.Tx, cop, name string) error {
	_, err := tx.Exec(ctx, `INSERT INTO cop_names (cop_id, name) VALUES ($1, $2)
		ON CONFLICT (cop_id) DO UPDATE SET name = $2`, cop, name)
	return err
}

// erased reports whether person was erased: the tombstone every write of a person id
// checks first, because events about them may still arrive after person_erased.
func erased(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, person string) (bool, error) {
	var yes bool
	err := q.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM erased WHERE person_hash = $1)", personHash(person)).Scan(&yes)
	return yes, err
}

// Joined records a membership as of the event's time and lets the member into the rotation.
func (r *Repository) Joined(ctx context.Context, tx pgx.Tx, cop, person string, at time.Time) error {
	return r.setMember(ctx, tx, cop, person, true, at)
}

// Left ends a membership as of the event's time (member_left, removal_carried) and hands
// the person's upcoming turns to others, publishing roles_assigned for each.
func (r *Repository) Left(ctx context.Context, tx pgx.Tx, cop, person string, at time.Time) error {
	return r.setMember(ctx, tx, cop, person, false, at)
}

// setMember applies a membership change unless a later one was applied already (membership
// events reach separate consumers, so a leave can be processed before its join), then
// rebalances the CoP's upcoming turns. Nothing is written for an erased person: a join or
// leave delivered after person_erased would otherwise bring their id back.
func (r *Repository) setMember(ctx context.Context, tx pgx.Tx, cop, person string, current bool, at time.Time) error {
	if gone, err := erased(ctx, tx, person); err != nil || gone {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO roster_changes (cop_id, person_id, at, current) VALUES ($1,$2,$3,$4)
		ON CONFLICT DO NOTHING`, cop, person, at, current); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO members (cop_id, person_id, current, as_of) VALUES ($1,$2,$3,$4)
		ON CONFLICT (cop_id, person_id) DO UPDATE SET current = $3, as_of = $4 WHERE members.as_of <= $4`,
		cop, person, current, at); err != nil {
		return err
	}
	return r.rebalance(ctx, tx, cop, person)
}

// rebalance drops a former member from the host groups of upcoming sessions and recomputes
// the CoP's turns. A CoP scheduling has not heard of yet has no sessions to rebalance.
func (r *Repository) rebalance(ctx context.Context, tx pgx.Tx, cop, person string) error {
	var known bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM cops WHERE id = $1)", cop).Scan(&known); err != nil || !known {
		return err
	}
	if _, err := loadCoP(ctx, tx, cop, "FOR UPDATE"); err != nil {
		return err
	}
	var member bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM members WHERE cop_id=$1 AND person_id=$2 AND current)",
		cop, person).Scan(&member); err != nil {
		return err
	}
	if !member {
		if err := r.dropFromHostGroups(ctx, tx, cop, person); err != nil {
			return err
		}
	}
	return r.rotate(ctx, tx, cop)
}

func (r *Repository) dropFromHostGroups(ctx context.Context, tx pgx.Tx, cop, person string) error {
	hosted, err := collectSessions(tx.Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id = $1 AND status = 'scheduled' AND starts_at > $2 AND $3 = ANY(host_group)`, cop, r.now(), person))
	if err != nil {
		return err
	}
	for _, s := range hosted {
		s.HostGroup = removeAll(s.HostGroup, person)
		if _, err := tx.Exec(ctx, "UPDATE sessions SET host_group = $2 WHERE id = $1", s.ID, s.HostGroup); err != nil {
			return err
		}
		// A group that still hosts announces its new line-up; an emptied one goes back to
		// the rotation, whose roles_assigned follows from rotate.
		if len(s.HostGroup) > 0 {
			if err := r.outbox.Publish(ctx, tx, rolesAssigned(s)); err != nil {
				return err
			}
		}
	}
	return nil
}

func removeAll(xs []string, x string) []string {
	out := []string{}
	for _, v := range xs {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}

// Erase scrubs a person: memberships, willingness, feed key and past roles go; attendance
// rows keep their status under a random stand-in id, so participation rates stay true
// without pointing at anyone. Their upcoming turns are reassigned.
func (r *Repository) Erase(ctx context.Context, tx pgx.Tx, person string) error {
	if _, err := tx.Exec(ctx, "INSERT INTO erased (person_hash) VALUES ($1) ON CONFLICT DO NOTHING", personHash(person)); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, "SELECT DISTINCT cop_id FROM members WHERE person_id = $1 ORDER BY cop_id", person)
	if err != nil {
		return err
	}
	cops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, q := range []string{
		"DELETE FROM members WHERE person_id = $1",
		// One stand-in per CoP keeps each past roster's size true without linking the
		// person's CoPs to each other.
		`UPDATE roster_changes h SET person_id = s.stand_in FROM
			(SELECT cop_id, 'erased-' || gen_random_uuid() AS stand_in
			 FROM (SELECT DISTINCT cop_id FROM roster_changes WHERE person_id = $1) c) s
			WHERE h.person_id = $1 AND h.cop_id = s.cop_id`,
		"DELETE FROM rotation WHERE person_id = $1",
		"DELETE FROM feed_keys WHERE kind = 'person' AND subject = $1",
		"UPDATE attendance SET person_id = 'erased-' || gen_random_uuid() WHERE person_id = $1",
		"UPDATE sessions SET facilitator = '' WHERE facilitator = $1 AND NOT (status = 'scheduled' AND starts_at > $2)",
		"UPDATE sessions SET note_taker = '' WHERE note_taker = $1 AND NOT (status = 'scheduled' AND starts_at > $2)",
		"UPDATE sessions SET host_group = array_remove(host_group, $1) WHERE $1 = ANY(host_group) AND NOT (status = 'scheduled' AND starts_at > $2)",
	} {
		args := []any{person}
		if strings.Contains(q, "$2") {
			args = append(args, r.now())
		}
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	for _, cop := range cops {
		if err := r.rebalance(ctx, tx, cop, person); err != nil {
			return err
		}
	}
	return nil
}
