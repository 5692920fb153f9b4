// Package adapters keeps scheduling's state in PostgreSQL. Every change commits together
// with the events it causes (the outbox), and every change to a CoP's rota runs under
// that CoP's row lock, so two requests cannot hand out the same turn twice.
package adapters

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/scheduling/domain"
)

// CoP is what scheduling knows of a CoP.
type CoP struct {
	ID, Region string
	Retired    bool
}

// Program is a planned series of sessions.
type Program struct {
	ID, CoPID, Title string
	Sessions         int
	FirstSessionAt   string
	Timezone         string
	Cadence          string
	DurationMinutes  int
	Format           []string
	Checkins         []int
	CreatedAt        time.Time
}

// Repository stores scheduling's state.
type Repository struct {
	pool    *pgxpool.Pool
	outbox  *bus.Outbox
	now     func() time.Time
	decline domain.DeclineRule
}

// NewRepository returns a repository writing events through outbox, reading the time from
// now and judging participation with decline.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox, now func() time.Time, decline domain.DeclineRule) *Repository {
	return &Repository{pool: pool, outbox: outbox, now: now, decline: decline}
}

// Now is the repository's clock.
func (r *Repository) Now() time.Time { return r.now() }

// CoP loads what scheduling knows of a CoP; an unknown one has not been approved (yet).
func (r *Repository) CoP(ctx context.Context, id string) (CoP, error) {
	return loadCoP(ctx, r.pool, id, "")
}

func loadCoP(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id, lock string) (CoP, error) {
	c := CoP{ID: id}
	err := q.QueryRow(ctx, "SELECT region, retired FROM cops WHERE id = $1 "+lock, id).Scan(&c.Region, &c.Retired)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, apperr.NotFound("CoP %q is not known to scheduling (it is not approved)", id)
	}
	return c, err
}

// IsMember reports whether person is a current member of cop.
func (r *Repository) IsMember(ctx context.Context, cop, person string) (bool, error) {
	var ok bool
	err := r.pool.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM members WHERE cop_id=$1 AND person_id=$2 AND current)",
		cop, person).Scan(&ok)
	return ok, err
}

// inCoP runs fn in a transaction holding the CoP's row lock.
func (r *Repository) inCoP(ctx context.Context, copID string, fn func(tx pgx.Tx, c CoP) error) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		c, err := loadCoP(ctx, tx, copID, "FOR UPDATE")
		if err != nil {
			return err
		}
		return fn(tx, c)
	})
}

// AddProgram stores a program and its sessions, publishes program_planned and one
// session_scheduled per session, then gives the new sessions their roles.
func (r *Repository) AddProgram(ctx context.Context, p *Program, sessions []*domain.Session) error {
	return r.inCoP(ctx, p.CoPID, func(tx pgx.Tx, c CoP) error {
		if c.Retired {
			return apperr.Conflict("CoP %s is retired; it plans no more sessions", c.ID)
		}
		err := tx.QueryRow(ctx, `INSERT INTO programs (id, cop_id, title, sessions, first_session_at, timezone,
			cadence, duration_minutes, format, checkins) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING created_at`,
			p.ID, p.CoPID, p.Title, p.Sessions, p.FirstSessionAt, p.Timezone, p.Cadence, p.DurationMinutes,
			p.Format, p.Checkins).Scan(&p.CreatedAt)
		if err != nil {
			return err
		}
		evs := []events.Event{events.ProgramPlanned{ProgramID: p.ID, CoPID: p.CoPID, Title: p.Title,
			Sessions: p.Sessions, Timezone: p.Timezone, Cadence: p.Cadence, Format: p.Format}}
		for _, s := range sessions {
			_, err := tx.Exec(ctx, `INSERT INTO sessions (id, program_id, cop_id, number, starts_at, ends_at,
				timezone, status) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
				s.ID, s.ProgramID, s.CoPID, s.Number, s.StartsAt, s.EndsAt, s.Timezone, s.Status)
			if err != nil {
				return err
			}
			evs = append(evs, events.SessionScheduled{SessionID: s.ID, ProgramID: s.ProgramID, CoPID: s.CoPID,
				Number: s.Number, StartsAt: s.StartsAt, EndsAt: s.EndsAt, Timezone: s.Timezone, Topic: s.Topic})
		}
		if err := r.outbox.Publish(ctx, tx, evs...); err != nil {
			return err
		}
		return r.rotate(ctx, tx, p.CoPID)
	})
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
	s, err := scanSession(r.pool.QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apperr.NotFound("session %q does not exist", id)
	}
	return s, err
}

// Sessions lists a CoP's sessions starting in [from, to), in date order.
func (r *Repository) Sessions(ctx context.Context, cop string, from, to time.Time) ([]*domain.Session, error) {
	return collectSessions(r.pool.Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id = $1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at, id`, cop, from, to))
}

// PersonSessions lists the sessions of every CoP the person currently belongs to.
func (r *Repository) PersonSessions(ctx context.Context, person string) ([]*domain.Session, error) {
	return collectSessions(r.pool.Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id IN (SELECT cop_id FROM members WHERE person_id = $1 AND current)
		ORDER BY starts_at, id`, person))
}

// UpdateSession applies fn to a session under its CoP's lock and stores the result with
// the event fn returns (none: nothing to store).
func (r *Repository) UpdateSession(ctx context.Context, id string, fn func(*domain.Session) (events.Event, error)) (*domain.Session, error) {
	var out *domain.Session
	err := r.inSession(ctx, id, func(tx pgx.Tx, s *domain.Session) error {
		ev, err := fn(s)
		if err != nil || ev == nil {
			out = s
			return err
		}
		if err := saveSession(ctx, tx, s); err != nil {
			return err
		}
		out = s
		return r.outbox.Publish(ctx, tx, ev)
	})
	return out, err
}

// inSession locks the session's CoP, then loads the session.
func (r *Repository) inSession(ctx context.Context, id string, fn func(tx pgx.Tx, s *domain.Session) error) error {
	var cop string
	err := r.pool.QueryRow(ctx, "SELECT cop_id FROM sessions WHERE id = $1", id).Scan(&cop)
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.NotFound("session %q does not exist", id)
	}
	if err != nil {
		return err
	}
	return r.inCoP(ctx, cop, func(tx pgx.Tx, _ CoP) error {
		s, err := scanSession(tx.QueryRow(ctx, "SELECT "+sessionColumns+" FROM sessions WHERE id = $1", id))
		if err != nil {
			return err
		}
		return fn(tx, s)
	})
}

func saveSession(ctx context.Context, tx pgx.Tx, s *domain.Session) error {
	return tx.QueryRow(ctx, `UPDATE sessions SET starts_at=$2, ends_at=$3, topic=$4, location=$5, link=$6,
		status=$7, sequence=$8, facilitator=$9, note_taker=$10, host_group=$11, cancel_reason=$12, notes=$13,
		outcomes=$14, held_at=$15, updated_at=now() WHERE id=$1 RETURNING updated_at`,
		s.ID, s.StartsAt, s.EndsAt, s.Topic, s.Location, s.Link, s.Status, s.Sequence, s.Facilitator,
		s.NoteTaker, s.HostGroup, s.CancelReason, s.Notes, s.Outcomes, s.HeldAt).Scan(&s.UpdatedAt)
}

// SetHosts hands an upcoming session to a named group of members (or, with an empty
// group, back to the rotation) and publishes roles_assigned.
func (r *Repository) SetHosts(ctx context.Context, id string, group []string) (*domain.Session, error) {
	err := r.inSession(ctx, id, func(tx pgx.Tx, s *domain.Session) error {
		if !s.Upcoming(r.now()) {
			return apperr.Conflict("session %s is %s or already started; its hosts cannot change", s.ID, s.Status)
		}
		var missing []string
		for _, p := range group {
			var ok bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM members WHERE cop_id=$1 AND person_id=$2 AND current)",
				s.CoPID, p).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			return apperr.Unprocessable("host_group", fmt.Sprintf("%v are not current members of the CoP", missing))
		}
		s.HostGroup = group
		s.Facilitator, s.NoteTaker = "", ""
		if _, err := tx.Exec(ctx, "UPDATE sessions SET host_group=$2, facilitator='', note_taker='' WHERE id=$1", s.ID, group); err != nil {
			return err
		}
		if len(group) > 0 {
			if err := r.outbox.Publish(ctx, tx, rolesAssigned(s)); err != nil {
				return err
			}
		}
		// Back to the rotation: refill the freed roles.
		return r.rotate(ctx, tx, s.CoPID)
	})
	if err != nil {
		return nil, err
	}
	return r.Session(ctx, id)
}

func rolesAssigned(s *domain.Session) events.RolesAssigned {
	ev := events.RolesAssigned{SessionID: s.ID, CoPID: s.CoPID, Facilitator: s.Facilitator, NoteTaker: s.NoteTaker}
	if len(s.HostGroup) > 0 {
		ev.HostGroup = s.HostGroup
	}
	return ev
}

// Willingness is a member's opt-in to the rotating roles.
type Willingness struct {
	Facilitator, NoteTaker bool
}

// SetRotation records a member's willingness and rebalances the CoP's upcoming turns: an
// opt-out frees their turns, an opt-in fills turns nobody had.
func (r *Repository) SetRotation(ctx context.Context, cop, person string, w Willingness) error {
	return r.inCoP(ctx, cop, func(tx pgx.Tx, c CoP) error {
		var member bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS(SELECT 1 FROM members WHERE cop_id=$1 AND person_id=$2 AND current)",
			cop, person).Scan(&member); err != nil {
			return err
		}
		if !member {
			return apperr.Unprocessable("person_id", "is not a current member of CoP "+cop)
		}
		_, err := tx.Exec(ctx, `INSERT INTO rotation (cop_id, person_id, facilitator, note_taker) VALUES ($1,$2,$3,$4)
			ON CONFLICT (cop_id, person_id) DO UPDATE SET facilitator=$3, note_taker=$4`, cop, person, w.Facilitator, w.NoteTaker)
		if err != nil {
			return err
		}
		return r.rotate(ctx, tx, cop)
	})
}

// rotate recomputes the CoP's upcoming turns (domain.Rotate) and publishes roles_assigned
// for every session whose roles changed. The caller holds the CoP's lock.
func (r *Repository) rotate(ctx context.Context, tx pgx.Tx, cop string) error {
	now := r.now()
	all, err := collectSessions(tx.Query(ctx, "SELECT "+sessionColumns+` FROM sessions
		WHERE cop_id = $1 AND status <> 'cancelled' ORDER BY starts_at, id`, cop))
	if err != nil {
		return err
	}
	var past, upcoming []domain.Roster
	var next []*domain.Session
	for _, s := range all {
		ros := domain.Roster{Facilitator: s.Facilitator, NoteTaker: s.NoteTaker, Hosted: len(s.HostGroup) > 0}
		if s.Upcoming(now) {
			upcoming = append(upcoming, ros)
			next = append(next, s)
		} else {
			past = append(past, ros)
		}
	}
	if len(next) == 0 {
		return nil
	}
	willing := domain.Willing{}
	rows, err := tx.Query(ctx, `SELECT r.person_id, r.facilitator, r.note_taker FROM rotation r
		JOIN members m ON m.cop_id = r.cop_id AND m.person_id = r.person_id AND m.current
		WHERE r.cop_id = $1 ORDER BY r.person_id`, cop)
	if err != nil {
		return err
	}
	for rows.Next() {
		var p string
		var f, n bool
		if err := rows.Scan(&p, &f, &n); err != nil {
			rows.Close()
			return err
		}
		if f {
			willing[domain.Facilitator] = append(willing[domain.Facilitator], p)
		}
		if n {
			willing[domain.NoteTaker] = append(willing[domain.NoteTaker], p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var evs []events.Event
	for i, ros := range domain.Rotate(past, upcoming, willing) {
		s := next[i]
		if ros.Facilitator == s.Facilitator && ros.NoteTaker == s.NoteTaker {
			continue
		}
		s.Facilitator, s.NoteTaker = ros.Facilitator, ros.NoteTaker
		if _, err := tx.Exec(ctx, "UPDATE sessions SET facilitator=$2, note_taker=$3, updated_at=now() WHERE id=$1",
			s.ID, s.Facilitator, s.NoteTaker); err != nil {
			return err
		}
		evs = append(evs, rolesAssigned(s))
	}
	if len(evs) == 0 {
		return nil
	}
	return r.outbox.Publish(ctx, tx, evs...)
}

// Record is one person's attendance.
type Record struct {
	PersonID string `json:"person_id"`
	Status   string `json:"status"`
}

// RecordAttendance stores attendance of a session (a record per person, replacing an
// earlier one) and publishes attendance_recorded with the session's totals.
func (r *Repository) RecordAttendance(ctx context.Context, id string, records []Record) (events.AttendanceRecorded, error) {
	var ev events.AttendanceRecorded
	err := r.inSession(ctx, id, func(tx pgx.Tx, s *domain.Session) error {
		if s.Status == domain.StatusCancelled {
			return apperr.Conflict("session %s was cancelled; nobody attended it", s.ID)
		}
		if r.now().Before(s.StartsAt) {
			return apperr.Conflict("session %s has not started; attendance is recorded once it has", s.ID)
		}
		for _, rec := range records {
			if _, err := tx.Exec(ctx, `INSERT INTO attendance (session_id, person_id, status) VALUES ($1,$2,$3)
				ON CONFLICT (session_id, person_id) DO UPDATE SET status = $3`, s.ID, rec.PersonID, rec.Status); err != nil {
				return err
			}
		}
		ev = events.AttendanceRecorded{SessionID: s.ID, CoPID: s.CoPID, Records: []events.Attendance{}}
		rows, err := tx.Query(ctx, "SELECT person_id, status FROM attendance WHERE session_id=$1 ORDER BY person_id", s.ID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a events.Attendance
			if err := rows.Scan(&a.PersonID, &a.Status); err != nil {
				rows.Close()
				return err
			}
			ev.Records = append(ev.Records, a)
			switch a.Status {
			case "attended":
				ev.Attended++
			case "apologies":
				ev.Apologies++
			default:
				ev.Absent++
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// The rate's base, as participation reads it: the roster when the session was held,
		// or today's roster for a session not marked held yet.
		ev.StartsAt = s.StartsAt.UTC()
		if err := tx.QueryRow(ctx, `SELECT CASE WHEN status = 'held' THEN members_held
			ELSE (SELECT count(*) FROM members WHERE cop_id = $2 AND current) END FROM sessions WHERE id = $1`,
			s.ID, s.CoPID).Scan(&ev.Members); err != nil {
			return err
		}
		if err := r.outbox.Publish(ctx, tx, ev); err != nil {
			return err
		}
		if s.Status == domain.StatusHeld {
			return r.assessParticipation(ctx, tx, s.CoPID)
		}
		return nil
	})
	return ev, err
}

// Hold records that a session took place, publishes session_held, checkin_due when the
// program asked for a check-in after it, and participation_declining when attendance has
// dropped off.
func (r *Repository) Hold(ctx context.Context, id, notes string, outcomes []string) (*domain.Session, error) {
	var out *domain.Session
	err := r.inSession(ctx, id, func(tx pgx.Tx, s *domain.Session) error {
		ev, err := s.Hold(r.now(), notes, outcomes)
		if err != nil {
			return err
		}
		if err := saveSession(ctx, tx, s); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET members_held =
			(SELECT count(*) FROM members WHERE cop_id = $2 AND current) WHERE id = $1`, s.ID, s.CoPID); err != nil {
			return err
		}
		evs := []events.Event{ev}
		var checkin bool
		if err := tx.QueryRow(ctx, "SELECT $2 = ANY(checkins) FROM programs WHERE id = $1", s.ProgramID, s.Number).Scan(&checkin); err != nil {
			return err
		}
		if checkin {
			evs = append(evs, events.CheckinDue{CoPID: s.CoPID, SessionID: s.ID, Number: s.Number})
		}
		if err := r.outbox.Publish(ctx, tx, evs...); err != nil {
			return err
		}
		out = s
		return r.assessParticipation(ctx, tx, s.CoPID)
	})
	return out, err
}

// HeldTurnout is one held session's attendance.
type HeldTurnout struct {
	SessionID string
	Number    int
	StartsAt  time.Time
	domain.Turnout
}

const turnoutQuery = `SELECT s.id, s.number, s.starts_at, s.members_held,
	count(*) FILTER (WHERE a.status = 'attended'), count(*) FILTER (WHERE a.status = 'apologies'),
	count(*) FILTER (WHERE a.status = 'absent')
	FROM sessions s LEFT JOIN attendance a ON a.session_id = s.id
	WHERE s.cop_id = $1 AND s.status = 'held' GROUP BY s.id ORDER BY s.starts_at, s.id`

// Participation lists the attendance of a CoP's held sessions, oldest first, and its trend.
func (r *Repository) Participation(ctx context.Context, cop string) ([]HeldTurnout, domain.Trend, error) {
	return r.participation(ctx, r.pool, cop)
}

// DeclineRule is the rule participation is judged by.
func (r *Repository) DeclineRule() domain.DeclineRule { return r.decline }

func (r *Repository) participation(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, cop string) ([]HeldTurnout, domain.Trend, error) {
	rows, err := q.Query(ctx, turnoutQuery, cop)
	if err != nil {
		return nil, domain.Trend{}, err
	}
	defer rows.Close()
	out := []HeldTurnout{}
	var rates []float64
	for rows.Next() {
		var h HeldTurnout
		if err := rows.Scan(&h.SessionID, &h.Number, &h.StartsAt, &h.Members, &h.Attended, &h.Apologies, &h.Absent); err != nil {
			return nil, domain.Trend{}, err
		}
		h.StartsAt = h.StartsAt.UTC()
		out = append(out, h)
		rates = append(rates, h.Rate())
	}
	return out, r.decline.Assess(rates), rows.Err()
}

// assessParticipation publishes participation_declining when the CoP's attendance starts
// to decline; the flag it keeps makes a continuing decline one event, not one per session.
func (r *Repository) assessParticipation(ctx context.Context, tx pgx.Tx, cop string) error {
	_, trend, err := r.participation(ctx, tx, cop)
	if err != nil {
		return err
	}
	var was bool
	if err := tx.QueryRow(ctx, "SELECT declining FROM cops WHERE id = $1", cop).Scan(&was); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "UPDATE cops SET declining = $2 WHERE id = $1", cop, trend.Declining); err != nil {
		return err
	}
	if !trend.Declining || was {
		return nil
	}
	return r.outbox.Publish(ctx, tx, events.ParticipationDeclining{CoPID: cop, EarlyRate: trend.EarlyRate,
		RecentRate: trend.RecentRate, Drop: trend.Drop})
}

// Feed kinds: a person's own calendar, or a whole CoP's.
const (
	FeedPerson = "person"
	FeedCoP    = "cop"
)

// SetFeedKey stores the hash of a new secret feed key, replacing (and so revoking) the
// previous one.
func (r *Repository) SetFeedKey(ctx context.Context, kind, subject, key string) error {
	h := sha256.Sum256([]byte(key))
	_, err := r.pool.Exec(ctx, `INSERT INTO feed_keys (kind, subject, key_hash) VALUES ($1,$2,$3)
		ON CONFLICT (kind, subject) DO UPDATE SET key_hash = $3, created_at = now()`, kind, subject, h[:])
	return err
}

// FeedKeyValid reports whether key is the current feed key of subject. Keys are long
// random strings, so a plain hash is enough; the comparison runs in constant time.
func (r *Repository) FeedKeyValid(ctx context.Context, kind, subject, key string) (bool, error) {
	var stored []byte
	err := r.pool.QueryRow(ctx, "SELECT key_hash FROM feed_keys WHERE kind=$1 AND subject=$2", kind, subject).Scan(&stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	h := sha256.Sum256([]byte(key))
	return subtle.ConstantTimeCompare(stored, h[:]) == 1, nil
}
