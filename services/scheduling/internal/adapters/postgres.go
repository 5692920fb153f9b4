// Package adapters keeps scheduling's state in PostgreSQL: it loads and stores, and owns the
// transaction and the outbox. Every change commits together with the events it causes, and
// every change to a CoP's rota runs under that CoP's row lock (InCoP, InSession), so two
// requests cannot hand out the same turn twice. The rules themselves live in app and domain.
package adapters

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/scheduling/domain"
)

// Repository stores scheduling's state.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *bus.Outbox
}

// NewRepository returns a repository writing events through outbox.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox) *Repository {
	return &Repository{pool: pool, outbox: outbox}
}

// querier is what both the pool and a transaction answer.
type querier interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}

// db is the transaction ctx carries (InCoP's, or an event consumer's), else the pool: a
// method called inside a use case reads and writes in that use case's transaction.
func (r *Repository) db(ctx context.Context) querier {
	if tx, ok := postgres.TxFrom(ctx); ok {
		return tx
	}
	return r.pool
}

// InCoP runs fn in a transaction holding the CoP's row lock, then writes the events fn
// returns to the outbox in that transaction. ctx as fn sees it carries the transaction, so
// repository methods called with it take part; when the caller's ctx already carries one
// (an event consumer's), InCoP joins it.
func (r *Repository) InCoP(ctx context.Context, copID string, fn func(context.Context, domain.CoP) ([]events.Event, error)) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		ctx := postgres.WithTx(ctx, tx)
		c, err := loadCoP(ctx, tx, copID, "FOR UPDATE")
		if err != nil {
			return err
		}
		evs, err := fn(ctx, c)
		if err != nil || len(evs) == 0 {
			return err
		}
		return r.outbox.Publish(ctx, tx, evs...)
	})
}

// InSession locks the session's CoP, loads the session and runs fn as InCoP does.
func (r *Repository) InSession(ctx context.Context, id string, fn func(context.Context, *domain.Session) ([]events.Event, error)) error {
	var cop string
	err := r.db(ctx).QueryRow(ctx, "SELECT cop_id FROM sessions WHERE id = $1", id).Scan(&cop)
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.NotFound("session %q does not exist", id)
	}
	if err != nil {
		return err
	}
	return r.InCoP(ctx, cop, func(ctx context.Context, _ domain.CoP) ([]events.Event, error) {
		s, err := scanSession(r.db(ctx).QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1", id))
		if err != nil {
			return nil, err
		}
		return fn(ctx, s)
	})
}

// CoP loads what scheduling knows of a CoP; an unknown one has not been approved (yet).
func (r *Repository) CoP(ctx context.Context, id string) (domain.CoP, error) {
	return loadCoP(ctx, r.db(ctx), id, "")
}

func loadCoP(ctx context.Context, q querier, id, lock string) (domain.CoP, error) {
	c := domain.CoP{ID: id}
	err := q.QueryRow(ctx, `SELECT region, retired, coalesce((SELECT name FROM cop_names WHERE cop_id = $1), '')
		FROM cops WHERE id = $1 `+lock, id).Scan(&c.Region, &c.Retired, &c.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, apperr.NotFound("CoP %q is not known to scheduling (it is not approved)", id)
	}
	return c, err
}

// KnowsCoP reports whether scheduling has heard of the CoP (approved or retired).
func (r *Repository) KnowsCoP(ctx context.Context, cop string) (bool, error) {
	var known bool
	err := r.db(ctx).QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM cops WHERE id = $1)", cop).Scan(&known)
	return known, err
}

// ApproveCoP starts serving a CoP. A retirement that arrived first wins.
func (r *Repository) ApproveCoP(ctx context.Context, cop, region string) error {
	_, err := r.db(ctx).Exec(ctx, "INSERT INTO cops (id, region) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", cop, region)
	return err
}

// RetireCoP marks a CoP retired, recording it when it was never approved here.
func (r *Repository) RetireCoP(ctx context.Context, cop, region string) error {
	_, err := r.db(ctx).Exec(ctx, `INSERT INTO cops (id, region, retired) VALUES ($1, $2, true)
		ON CONFLICT (id) DO UPDATE SET retired = true`, cop, region)
	return err
}

// NameCoP learns a CoP's name (cop_proposed), for calendars and event titles.
func (r *Repository) NameCoP(ctx context.Context, cop, name string) error {
	_, err := r.db(ctx).Exec(ctx, `INSERT INTO cop_names (cop_id, name) VALUES ($1, $2)
		ON CONFLICT (cop_id) DO UPDATE SET name = $2`, cop, name)
	return err
}

// IsMember reports whether person is a current member of cop.
func (r *Repository) IsMember(ctx context.Context, cop, person string) (bool, error) {
	var ok bool
	err := r.db(ctx).QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM members WHERE cop_id=$1 AND person_id=$2 AND current)",
		cop, person).Scan(&ok)
	return ok, err
}

// SetMembership records a membership change as of at, in the roster's history and, unless
// a later change was applied already (membership events reach separate consumers, so a
// leave can be processed before its join), as the member's current state.
func (r *Repository) SetMembership(ctx context.Context, cop, person string, current bool, at time.Time) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO roster_changes (cop_id, person_id, at, current) VALUES ($1,$2,$3,$4)
			ON CONFLICT DO NOTHING`, cop, person, at, current); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO members (cop_id, person_id, current, as_of) VALUES ($1,$2,$3,$4)
			ON CONFLICT (cop_id, person_id) DO UPDATE SET current = $3, as_of = $4 WHERE members.as_of <= $4`,
			cop, person, current, at)
		return err
	})
}

func personHash(person string) []byte {
	h := sha256.Sum256([]byte("copnet-erased:" + person))
	return h[:]
}

// Erased reports whether person was erased: the tombstone every write of a person id
// checks first, because events about them may still arrive after person_erased.
func (r *Repository) Erased(ctx context.Context, person string) (bool, error) {
	var yes bool
	err := r.db(ctx).QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM erased WHERE person_hash = $1)", personHash(person)).Scan(&yes)
	return yes, err
}

// Erase scrubs a person and returns the CoPs they belonged to: memberships, willingness,
// feed key and past roles go; attendance rows keep their status under a random stand-in id,
// so participation rates stay true without pointing at anyone. Roles of sessions upcoming
// at now stay for the caller to reassign.
func (r *Repository) Erase(ctx context.Context, person string, now time.Time) ([]string, error) {
	var cops []string
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO erased (person_hash) VALUES ($1) ON CONFLICT DO NOTHING", personHash(person)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT DISTINCT cop_id FROM members WHERE person_id = $1 ORDER BY cop_id", person)
		if err != nil {
			return err
		}
		if cops, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
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
			"DELETE FROM rsvps WHERE person_id = $1",
			"DELETE FROM feed_keys WHERE kind = 'person' AND subject = $1",
			"UPDATE attendance SET person_id = 'erased-' || gen_random_uuid() WHERE person_id = $1",
			"UPDATE sessions SET facilitator = '' WHERE facilitator = $1 AND NOT (status = 'scheduled' AND starts_at > $2)",
			"UPDATE sessions SET note_taker = '' WHERE note_taker = $1 AND NOT (status = 'scheduled' AND starts_at > $2)",
			"UPDATE sessions SET host_group = array_remove(host_group, $1) WHERE $1 = ANY(host_group) AND NOT (status = 'scheduled' AND starts_at > $2)",
		} {
			args := []any{person}
			if strings.Contains(q, "$2") {
				args = append(args, now)
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	return cops, err
}

// AddProgram stores a program (setting its CreatedAt) and its sessions.
func (r *Repository) AddProgram(ctx context.Context, p *domain.Program, sessions []*domain.Session) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO programs (id, cop_id, title, sessions, first_session_at, timezone,
			cadence, duration_minutes, format, checkins) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING created_at`,
			p.ID, p.CoPID, p.Title, p.Sessions, p.FirstSessionAt, p.Timezone, p.Cadence, p.DurationMinutes,
			p.Format, p.Checkins).Scan(&p.CreatedAt)
		if err != nil {
			return err
		}
		for _, s := range sessions {
			_, err := tx.Exec(ctx, `INSERT INTO sessions (id, program_id, cop_id, number, starts_at, ends_at,
				timezone, status) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
				s.ID, s.ProgramID, s.CoPID, s.Number, s.StartsAt, s.EndsAt, s.Timezone, s.Status)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// CheckinAfter reports whether the program asked for a check-in after its session number.
func (r *Repository) CheckinAfter(ctx context.Context, program string, number int) (bool, error) {
	var checkin bool
	err := r.db(ctx).QueryRow(ctx, "SELECT $2 = ANY(checkins) FROM programs WHERE id = $1", program, number).Scan(&checkin)
	return checkin, err
}

const sessionColumns = `id, program_id, cop_id, number, starts_at, ends_at, timezone, topic, location, link,
	status, sequence, facilitator, note_taker, host_group, cancel_reason, notes, outcomes, held_at, updated_at`

func scanSession(row pgx.Row) (*domain.Session, error) {
	var s domain.Session
	err := row.Scan(&s.ID, &s.ProgramID, &s.CoPID, &s.Number, &s.StartsAt, &s.EndsAt, &s.Timezone, &s.Topic,
		&s.Location, &s.Link, &s.Status, &s.Sequence, &s.Facilitator, &s.NoteTaker, &s.HostGroup,
		&s.CancelReason, &s.Notes, &s.Outcomes, &s.HeldAt, &s.UpdatedAt)
	if err != nil {
		return nil, err
	}
	s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
	return &s, nil
}

func collectSessions(rows pgx.Rows, err error) ([]*domain.Session, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*domain.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Session loads one session.
func (r *Repository) Session(ctx context.Context, id string) (*domain.Session, error) {
	s, err := scanSession(r.db(ctx).QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("session %q does not exist", id)
	}
	return s, err
}

// Sessions lists a CoP's sessions starting in [from, to), in date order.
func (r *Repository) Sessions(ctx context.Context, cop string, from, to time.Time) ([]*domain.Session, error) {
	return collectSessions(r.db(ctx).Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id = $1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at, id`, cop, from, to))
}

// UncancelledSessions lists a CoP's sessions that were not cancelled, in date order: the
// sessions the rotation deals turns over.
func (r *Repository) UncancelledSessions(ctx context.Context, cop string) ([]*domain.Session, error) {
	return collectSessions(r.db(ctx).Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id = $1 AND status <> 'cancelled' ORDER BY starts_at, id`, cop))
}

// ScheduledAfter lists a CoP's scheduled sessions starting after now, in date order.
func (r *Repository) ScheduledAfter(ctx context.Context, cop string, now time.Time) ([]*domain.Session, error) {
	return collectSessions(r.db(ctx).Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id = $1 AND status = 'scheduled' AND starts_at > $2 ORDER BY starts_at`, cop, now))
}

// SaveSession stores a session's changes and refreshes its UpdatedAt.
func (r *Repository) SaveSession(ctx context.Context, s *domain.Session) error {
	return r.db(ctx).QueryRow(ctx, `UPDATE sessions SET starts_at=$2, ends_at=$3, topic=$4, location=$5, link=$6,
		status=$7, sequence=$8, facilitator=$9, note_taker=$10, host_group=$11, cancel_reason=$12, notes=$13,
		outcomes=$14, held_at=$15, updated_at=now() WHERE id=$1 RETURNING updated_at`,
		s.ID, s.StartsAt, s.EndsAt, s.Topic, s.Location, s.Link, s.Status, s.Sequence, s.Facilitator,
		s.NoteTaker, s.HostGroup, s.CancelReason, s.Notes, s.Outcomes, s.HeldAt).Scan(&s.UpdatedAt)
}

// SetHostGroup stores a session's host group alone.
func (r *Repository) SetHostGroup(ctx context.Context, id string, group []string) error {
	_, err := r.db(ctx).Exec(ctx, "UPDATE sessions SET host_group = $2 WHERE id = $1", id, group)
	return err
}

// HandToHosts stores a session's host group and clears its rotating roles.
func (r *Repository) HandToHosts(ctx context.Context, id string, group []string) error {
	_, err := r.db(ctx).Exec(ctx, "UPDATE sessions SET host_group=$2, facilitator='', note_taker='' WHERE id=$1", id, group)
	return err
}

// SetRoles stores a session's facilitator and note-taker.
func (r *Repository) SetRoles(ctx context.Context, s *domain.Session) error {
	_, err := r.db(ctx).Exec(ctx, "UPDATE sessions SET facilitator=$2, note_taker=$3, updated_at=now() WHERE id=$1",
		s.ID, s.Facilitator, s.NoteTaker)
	return err
}

// SetWillingness records a member's opt-in to the rotating roles.
func (r *Repository) SetWillingness(ctx context.Context, cop, person string, w domain.Willingness) error {
	_, err := r.db(ctx).Exec(ctx, `INSERT INTO rotation (cop_id, person_id, facilitator, note_taker) VALUES ($1,$2,$3,$4)
		ON CONFLICT (cop_id, person_id) DO UPDATE SET facilitator=$3, note_taker=$4`, cop, person, w.Facilitator, w.NoteTaker)
	return err
}

// Willing lists, per role, the CoP's current members willing to take it, by person id.
func (r *Repository) Willing(ctx context.Context, cop string) (domain.Willing, error) {
	willing := domain.Willing{}
	rows, err := r.db(ctx).Query(ctx, `SELECT r.person_id, r.facilitator, r.note_taker FROM rotation r
		JOIN members m ON m.cop_id = r.cop_id AND m.person_id = r.person_id AND m.current
		WHERE r.cop_id = $1 ORDER BY r.person_id`, cop)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var f, n bool
		if err := rows.Scan(&p, &f, &n); err != nil {
			return nil, err
		}
		if f {
			willing[domain.Facilitator] = append(willing[domain.Facilitator], p)
		}
		if n {
			willing[domain.NoteTaker] = append(willing[domain.NoteTaker], p)
		}
	}
	return willing, rows.Err()
}

// SetAttendance stores attendance of a session, a record per person, replacing an earlier one.
func (r *Repository) SetAttendance(ctx context.Context, session string, records []events.Attendance) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		for _, rec := range records {
			if _, err := tx.Exec(ctx, `INSERT INTO attendance (session_id, person_id, status) VALUES ($1,$2,$3)
				ON CONFLICT (session_id, person_id) DO UPDATE SET status = $3`, session, rec.PersonID, rec.Status); err != nil {
				return err
			}
		}
		return nil
	})
}

// Attendance lists a session's attendance records by person id.
func (r *Repository) Attendance(ctx context.Context, session string) ([]events.Attendance, error) {
	rows, err := r.db(ctx).Query(ctx, "SELECT person_id, status FROM attendance WHERE session_id=$1 ORDER BY person_id", session)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (events.Attendance, error) {
		var a events.Attendance
		return a, row.Scan(&a.PersonID, &a.Status)
	})
}

// CountRoster counts, and stores as the session's members_held, the members of the
// session's CoP when it took place (domain.Turnout says why this is the rate's base): those
// on the roster at its start, as the membership changes dated up to then say, and anyone
// recorded at it, who evidently took part even if the roster learned of them later
// (attendance backfilled for a CoP whose members were imported afterwards). A change at the
// very moment of the start counts; of a join and a leave at the same instant, the leave.
func (r *Repository) CountRoster(ctx context.Context, s *domain.Session) (int, error) {
	var n int
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH latest AS (
				SELECT DISTINCT ON (person_id) person_id, current FROM roster_changes
				WHERE cop_id = $1 AND at <= $2 ORDER BY person_id, at DESC, current ASC)
			SELECT count(*) FROM (SELECT person_id FROM latest WHERE current
				UNION SELECT person_id FROM attendance WHERE session_id = $3) roster`,
			s.CoPID, s.StartsAt, s.ID).Scan(&n)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE sessions SET members_held = $2 WHERE id = $1", s.ID, n)
		return err
	})
	return n, err
}

const turnoutQuery = `SELECT s.id, s.number, s.starts_at, s.members_held,
	count(*) FILTER (WHERE a.status = 'attended'), count(*) FILTER (WHERE a.status = 'apologies'),
	count(*) FILTER (WHERE a.status = 'absent')
	FROM sessions s LEFT JOIN attendance a ON a.session_id = s.id
	WHERE s.cop_id = $1 AND s.status = 'held' GROUP BY s.id ORDER BY s.starts_at, s.id`

// HeldTurnouts lists the attendance of a CoP's held sessions, oldest first.
func (r *Repository) HeldTurnouts(ctx context.Context, cop string) ([]domain.HeldTurnout, error) {
	rows, err := r.db(ctx).Query(ctx, turnoutQuery, cop)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []domain.HeldTurnout{}
	for rows.Next() {
		var h domain.HeldTurnout
		if err := rows.Scan(&h.SessionID, &h.Number, &h.StartsAt, &h.Members, &h.Attended, &h.Apologies, &h.Absent); err != nil {
			return nil, err
		}
		h.StartsAt = h.StartsAt.UTC()
		out = append(out, h)
	}
	return out, rows.Err()
}

// SetDeclining stores whether the CoP's participation is declining and returns what was
// stored before.
func (r *Repository) SetDeclining(ctx context.Context, cop string, declining bool) (was bool, err error) {
	err = postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT declining FROM cops WHERE id = $1", cop).Scan(&was); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE cops SET declining = $2 WHERE id = $1", cop, declining)
		return err
	})
	return was, err
}

const calendarQuery = `SELECT s.id, s.program_id, s.cop_id, s.number, s.starts_at, s.ends_at, s.timezone, s.topic,
	s.location, s.link, s.status, s.sequence, s.facilitator, s.note_taker, s.host_group, s.cancel_reason, s.notes,
	s.outcomes, s.held_at, s.updated_at, p.title, p.sessions, coalesce(n.name, '')
	FROM sessions s JOIN programs p ON p.id = s.program_id LEFT JOIN cop_names n ON n.cop_id = s.cop_id `

// CoPCalendar lists a CoP's sessions with their names, in date order.
func (r *Repository) CoPCalendar(ctx context.Context, cop string) ([]domain.CalendarEntry, error) {
	return collectEntries(r.db(ctx).Query(ctx, calendarQuery+"WHERE s.cop_id = $1 ORDER BY s.starts_at, s.id", cop))
}

// PersonCalendar lists the sessions of every CoP the person currently belongs to, with
// their names.
func (r *Repository) PersonCalendar(ctx context.Context, person string) ([]domain.CalendarEntry, error) {
	return collectEntries(r.db(ctx).Query(ctx, calendarQuery+`WHERE s.cop_id IN
		(SELECT cop_id FROM members WHERE person_id = $1 AND current) ORDER BY s.starts_at, s.id`, person))
}

func collectEntries(rows pgx.Rows, err error) ([]domain.CalendarEntry, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []domain.CalendarEntry{}
	for rows.Next() {
		var s domain.Session
		e := domain.CalendarEntry{Session: &s}
		if err := rows.Scan(&s.ID, &s.ProgramID, &s.CoPID, &s.Number, &s.StartsAt, &s.EndsAt, &s.Timezone, &s.Topic,
			&s.Location, &s.Link, &s.Status, &s.Sequence, &s.Facilitator, &s.NoteTaker, &s.HostGroup,
			&s.CancelReason, &s.Notes, &s.Outcomes, &s.HeldAt, &s.UpdatedAt, &e.ProgramTitle, &e.ProgramSessions,
			&e.CoP.Name); err != nil {
			return nil, err
		}
		s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
		e.CoP.ID = s.CoPID
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetFeedKey stores the hash of a new secret feed key of a kind of feed, replacing (and so
// revoking) the previous one.
func (r *Repository) SetFeedKey(ctx context.Context, kind, subject, key string) error {
	h := sha256.Sum256([]byte(key))
	_, err := r.db(ctx).Exec(ctx, `INSERT INTO feed_keys (kind, subject, key_hash) VALUES ($1,$2,$3)
		ON CONFLICT (kind, subject) DO UPDATE SET key_hash = $3, created_at = now()`, kind, subject, h[:])
	return err
}

// FeedKeyValid reports whether key is the current feed key of subject. Keys are long
// random strings, so a plain hash is enough; the comparison runs in constant time.
func (r *Repository) FeedKeyValid(ctx context.Context, kind, subject, key string) (bool, error) {
	var stored []byte
	err := r.db(ctx).QueryRow(ctx, "SELECT key_hash FROM feed_keys WHERE kind=$1 AND subject=$2", kind, subject).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	h := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(stored, h[:]) == 1, nil
}

// SetRSVP stores a member's answer ahead of a session, replacing an earlier one.
func (r *Repository) SetRSVP(ctx context.Context, rsvp domain.RSVP) error {
	_, err := r.db(ctx).Exec(ctx, `INSERT INTO rsvps (session_id, person_id, answer, answered_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (session_id, person_id) DO UPDATE SET answer = EXCLUDED.answer, answered_at = EXCLUDED.answered_at`,
		rsvp.SessionID, rsvp.PersonID, rsvp.Answer, rsvp.AnsweredAt)
	return err
}

// RSVPs lists the answers ahead of a session, of its CoP's current members only (someone
// who left since is not expected), oldest answer first.
func (r *Repository) RSVPs(ctx context.Context, session string) ([]domain.RSVP, error) {
	rows, err := r.db(ctx).Query(ctx, `SELECT v.session_id, v.person_id, v.answer, v.answered_at FROM rsvps v
		JOIN sessions s ON s.id = v.session_id
		JOIN members m ON m.cop_id = s.cop_id AND m.person_id = v.person_id AND m.current
		WHERE v.session_id = $1 ORDER BY v.answered_at, v.person_id`, session)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.RSVP, error) {
		var v domain.RSVP
		err := row.Scan(&v.SessionID, &v.PersonID, &v.Answer, &v.AnsweredAt)
		v.AnsweredAt = v.AnsweredAt.UTC()
		return v, err
	})
}

// NextSessions lists the scheduled sessions starting after now of every CoP the person
// currently belongs to, soonest first, at most limit, with the person's answer ahead of each
// ("" when they have not answered).
func (r *Repository) NextSessions(ctx context.Context, person string, now time.Time, limit int) ([]domain.PersonalSession, error) {
	rows, err := r.db(ctx).Query(ctx, calendarQuery+`WHERE s.cop_id IN
		(SELECT cop_id FROM members WHERE person_id = $1 AND current) AND s.status = 'scheduled' AND s.starts_at > $2
		ORDER BY s.starts_at, s.id LIMIT $3`, person, now, limit)
	entries, err := collectEntries(rows, err)
	if err != nil {
		return nil, err
	}
	out := make([]domain.PersonalSession, len(entries))
	for i, e := range entries {
		out[i].CalendarEntry = e
		err := r.db(ctx).QueryRow(ctx, "SELECT answer FROM rsvps WHERE session_id = $1 AND person_id = $2", e.ID, person).Scan(&out[i].RSVP)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	return out, nil
}

// Programs lists a CoP's programs, oldest first.
func (r *Repository) Programs(ctx context.Context, cop string) ([]*domain.Program, error) {
	rows, err := r.db(ctx).Query(ctx, `SELECT id, cop_id, title, sessions, first_session_at, timezone, cadence,
		duration_minutes, format, checkins, created_at FROM programs WHERE cop_id = $1 ORDER BY created_at, id`, cop)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.Program, error) {
		var p domain.Program
		err := row.Scan(&p.ID, &p.CoPID, &p.Title, &p.Sessions, &p.FirstSessionAt, &p.Timezone, &p.Cadence,
			&p.DurationMinutes, &p.Format, &p.Checkins, &p.CreatedAt)
		p.CreatedAt = p.CreatedAt.UTC()
		return &p, err
	})
}
