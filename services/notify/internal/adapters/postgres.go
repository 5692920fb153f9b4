// Package adapters keeps the notify service's state in PostgreSQL, with the mail outbox in
// the same schema so a decision and its mail commit together.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/notify/domain"
)

// Repository stores contacts, preferences, the role projection, notices and mail.
type Repository struct {
	pool *pgxpool.Pool
}

// NewRepository returns the repository over pool.
func NewRepository(pool *pgxpool.Pool) *Repository { return &Repository{pool: pool} }

// Pool is the repository's pool, for the mail worker and the dead letters.
func (r *Repository) Pool() *pgxpool.Pool { return r.pool }

func (r *Repository) exec(ctx context.Context, sql string, args ...any) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	})
}

// PutContact keeps the person's current address.
func (r *Repository) PutContact(ctx context.Context, person, address, name string) error {
	return r.exec(ctx, `INSERT INTO contacts (person_id, address, name, updated_at) VALUES ($1, $2, $3, now())
		ON CONFLICT (person_id) DO UPDATE SET address = $2, name = $3, updated_at = now()`, person, address, name)
}

// ErasePerson deletes everything notify holds of the person: contact details (and their
// mail, sent or queued, by address), preferences, roles and notices.
func (r *Repository) ErasePerson(ctx context.Context, person string) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		var address string
		err := tx.QueryRow(ctx, `DELETE FROM contacts WHERE person_id = $1 RETURNING address`, person).Scan(&address)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if address != "" {
			if _, err := mail.Erase(ctx, tx, address); err != nil {
				return err
			}
		}
		// Mail keyed by the person (notices and digests) goes too, whatever address it had.
		if _, err := tx.Exec(ctx, `DELETE FROM mail_outbox WHERE idem_key LIKE '%/' || $1 || '/%'`, person); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM preferences WHERE person_id = $1`,
			`DELETE FROM members WHERE person_id = $1`,
			`DELETE FROM coordinators WHERE person_id = $1`,
			`DELETE FROM hub_officers WHERE person_id = $1`,
			`DELETE FROM national_officers WHERE person_id = $1`,
			`DELETE FROM experts WHERE person_id = $1`,
			`DELETE FROM notices WHERE person_id = $1`,
			`UPDATE cops SET proposer_id = '' WHERE proposer_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, person); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutCoP records a CoP's region and name (whichever is known).
func (r *Repository) PutCoP(ctx context.Context, cop, region, name string) error {
	return r.exec(ctx, `INSERT INTO cops (cop_id, region, name) VALUES ($1, $2, $3)
		ON CONFLICT (cop_id) DO UPDATE SET region = CASE WHEN $2 = '' THEN cops.region ELSE $2 END,
			name = CASE WHEN $3 = '' THEN cops.name ELSE $3 END`, cop, region, name)
}

// SetCharterVersion records the CoP's current Code of Practice.
func (r *Repository) SetCharterVersion(ctx context.Context, cop, region string, version int) error {
	return r.exec(ctx, `INSERT INTO cops (cop_id, region, charter_version) VALUES ($1, $2, $3)
		ON CONFLICT (cop_id) DO UPDATE SET charter_version = greatest(cops.charter_version, $3)`, cop, region, version)
}

// AddMember records a membership and the Code of Practice version the person accepted.
func (r *Repository) AddMember(ctx context.Context, cop, region, person string, accepted int) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO cops (cop_id, region) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cop, region); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO members (cop_id, person_id, accepted_version) VALUES ($1, $2, $3)
			ON CONFLICT (cop_id, person_id) DO UPDATE SET accepted_version = greatest(members.accepted_version, $3)`, cop, person, accepted)
		return err
	})
}

// RemoveMember forgets a membership.
func (r *Repository) RemoveMember(ctx context.Context, cop, person string) error {
	return r.exec(ctx, `DELETE FROM members WHERE cop_id = $1 AND person_id = $2`, cop, person)
}

// SetGrant records (or, with held false, forgets) a hub, coordinator or national role.
func (r *Repository) SetGrant(ctx context.Context, person, role, region, cop string, held bool) error {
	var q string
	var args []any
	switch role {
	case "hub":
		q, args = `INSERT INTO hub_officers (region, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, []any{region, person}
		if !held {
			q = `DELETE FROM hub_officers WHERE region = $1 AND person_id = $2`
		}
	case "coordinator":
		q, args = `INSERT INTO coordinators (cop_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, []any{cop, person}
		if !held {
			q = `DELETE FROM coordinators WHERE cop_id = $1 AND person_id = $2`
		}
	case "national":
		q, args = `INSERT INTO national_officers (person_id) VALUES ($1) ON CONFLICT DO NOTHING`, []any{person}
		if !held {
			q = `DELETE FROM national_officers WHERE person_id = $1`
		}
	default:
		return nil
	}
	return r.exec(ctx, q, args...)
}

// PutExpert records a declaration of expertise.
func (r *Repository) PutExpert(ctx context.Context, id, person string, topics []string) error {
	return r.exec(ctx, `INSERT INTO experts (expertise_id, person_id, topics) VALUES ($1, $2, $3)
		ON CONFLICT (expertise_id) DO UPDATE SET topics = $3`, id, person, topics)
}

func (r *Repository) ids(ctx context.Context, sql string, args ...any) ([]string, error) {
	var out []string
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, err
}

// Members of a CoP.
func (r *Repository) Members(ctx context.Context, cop string) ([]string, error) {
	return r.ids(ctx, `SELECT person_id FROM members WHERE cop_id = $1 ORDER BY person_id`, cop)
}

// MembersBehind are the CoP's members who accepted an older Code of Practice than version.
func (r *Repository) MembersBehind(ctx context.Context, cop string, version int) ([]string, error) {
	return r.ids(ctx, `SELECT person_id FROM members WHERE cop_id = $1 AND accepted_version < $2 ORDER BY person_id`, cop, version)
}

// Coordinators of a CoP.
func (r *Repository) Coordinators(ctx context.Context, cop string) ([]string, error) {
	return r.ids(ctx, `SELECT person_id FROM coordinators WHERE cop_id = $1 ORDER BY person_id`, cop)
}

// HubOfficers of a region.
func (r *Repository) HubOfficers(ctx context.Context, region string) ([]string, error) {
	return r.ids(ctx, `SELECT person_id FROM hub_officers WHERE region = $1 ORDER BY person_id`, region)
}

// NationalOfficers are everyone holding the national role.
func (r *Repository) NationalOfficers(ctx context.Context) ([]string, error) {
	return r.ids(ctx, `SELECT person_id FROM national_officers ORDER BY person_id`)
}

// Experts who declared any of topics.
func (r *Repository) Experts(ctx context.Context, topics []string) ([]string, error) {
	return r.ids(ctx, `SELECT DISTINCT person_id FROM experts WHERE topics && $1 ORDER BY person_id`, topics)
}

// CoP is what notify knows of a CoP.
type CoP struct {
	ID, Region, Name string
}

// CoPOf returns the CoP, or a CoP with only its id when unknown.
func (r *Repository) CoPOf(ctx context.Context, cop string) (CoP, error) {
	c := CoP{ID: cop}
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT region, name FROM cops WHERE cop_id = $1`, cop).Scan(&c.Region, &c.Name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return c, err
}

// Session is what scheduling said of a session.
type Session struct {
	ID, CoPID, Timezone, Topic string
	Number, Sequence           int
	StartsAt, EndsAt           time.Time
}

// PutSession records a session scheduled or moved; an older sequence changes nothing.
func (r *Repository) PutSession(ctx context.Context, s Session) error {
	return r.exec(ctx, `INSERT INTO sessions (session_id, cop_id, number, starts_at, ends_at, timezone, topic, sequence)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (session_id) DO UPDATE SET starts_at = $4, ends_at = $5, topic = CASE WHEN $7 = '' THEN sessions.topic ELSE $7 END,
			sequence = $8, number = CASE WHEN $3 = 0 THEN sessions.number ELSE $3 END,
			timezone = CASE WHEN $6 = '' THEN sessions.timezone ELSE $6 END
		WHERE sessions.sequence <= $8`,
		s.ID, s.CoPID, s.Number, s.StartsAt, s.EndsAt, s.Timezone, s.Topic, s.Sequence)
}

// CancelSession marks a session cancelled.
func (r *Repository) CancelSession(ctx context.Context, id string) error {
	return r.exec(ctx, `UPDATE sessions SET cancelled = true WHERE session_id = $1`, id)
}

// SessionOf returns a session, and whether it is known.
func (r *Repository) SessionOf(ctx context.Context, id string) (Session, bool, error) {
	var s Session
	found := false
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT session_id, cop_id, timezone, topic, number, sequence, starts_at, ends_at
			FROM sessions WHERE session_id = $1`, id).Scan(&s.ID, &s.CoPID, &s.Timezone, &s.Topic, &s.Number, &s.Sequence, &s.StartsAt, &s.EndsAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	return s, found, err
}

// DueReminders are the sessions starting before until, not yet reminded at their current
// sequence, not cancelled and not begun.
func (r *Repository) DueReminders(ctx context.Context, now, until time.Time) ([]Session, error) {
	var out []Session
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT session_id, cop_id, timezone, topic, number, sequence, starts_at, ends_at FROM sessions
			WHERE NOT cancelled AND starts_at > $1 AND starts_at <= $2
				AND (reminded_sequence IS NULL OR reminded_sequence < sequence) ORDER BY starts_at`, now, until)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Session, error) {
			var s Session
			err := row.Scan(&s.ID, &s.CoPID, &s.Timezone, &s.Topic, &s.Number, &s.Sequence, &s.StartsAt, &s.EndsAt)
			return s, err
		})
		return err
	})
	return out, err
}

// MarkReminded records that a session's members were reminded at sequence.
func (r *Repository) MarkReminded(ctx context.Context, id string, sequence int) error {
	return r.exec(ctx, `UPDATE sessions SET reminded_sequence = $2 WHERE session_id = $1`, id, sequence)
}

// Contact is a person's address as membership shared it.
type Contact struct {
	Address, Name string
}

// Decision is a notice recorded: its id, the cadence it was recorded under and the
// person's contact, when notify has one.
type Decision struct {
	ID      int64
	Cadence domain.Cadence
	Contact *Contact
}

// Record stores the notice once per key, person and kind, under the person's cadence for
// its kind. A notice recorded before (the event redelivered) returns ok false.
func (r *Repository) Record(ctx context.Context, n domain.Notice, now time.Time) (d Decision, ok bool, err error) {
	err = postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		d.Cadence = domain.Immediately
		var c string
		err := tx.QueryRow(ctx, `SELECT cadence FROM preferences WHERE person_id = $1 AND kind = $2`, n.PersonID, string(n.Kind)).Scan(&c)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			d.Cadence = domain.Cadence(c)
		}
		err = tx.QueryRow(ctx, `INSERT INTO notices (key, person_id, kind, subject, body, created_at, cadence)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key, person_id, kind) DO NOTHING RETURNING id`,
			n.Key, n.PersonID, string(n.Kind), n.Subject, n.Body, now, string(d.Cadence)).Scan(&d.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		var ct Contact
		err = tx.QueryRow(ctx, `SELECT address, name FROM contacts WHERE person_id = $1`, n.PersonID).Scan(&ct.Address, &ct.Name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err == nil {
			d.Contact = &ct
		}
		return err
	})
	return d, ok, err
}

// ContactOf returns the person's contact, or nil.
func (r *Repository) ContactOf(ctx context.Context, person string) (*Contact, error) {
	var ct *Contact
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		var c Contact
		err := tx.QueryRow(ctx, `SELECT address, name FROM contacts WHERE person_id = $1`, person).Scan(&c.Address, &c.Name)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		ct = &c
		return err
	})
	return ct, err
}

// Mail queues m and marks the notices mailed, in one transaction (ctx's, when it has one).
func (r *Repository) Mail(ctx context.Context, m mail.Mail, notices []int64, now time.Time) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		if err := mail.Enqueue(ctx, tx, m); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE notices SET mailed_at = $2 WHERE id = ANY($1)`, notices, now)
		return err
	})
}

// Held is a notice waiting for its digest.
type Held struct {
	ID       int64
	Kind     domain.Kind
	Subject  string
	Body     string
	At       time.Time
	PersonID string
}

// HeldBefore returns the notices of the cadence recorded before cut and not mailed, per
// person.
func (r *Repository) HeldBefore(ctx context.Context, cadence domain.Cadence, cut time.Time) (map[string][]Held, error) {
	out := map[string][]Held{}
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, person_id, kind, subject, body, created_at FROM notices
			WHERE mailed_at IS NULL AND cadence = $1 AND created_at < $2 ORDER BY person_id, created_at, id`, string(cadence), cut)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h Held
			var kind string
			if err := rows.Scan(&h.ID, &h.PersonID, &kind, &h.Subject, &h.Body, &h.At); err != nil {
				return err
			}
			h.Kind = domain.Kind(kind)
			out[h.PersonID] = append(out[h.PersonID], h)
		}
		return rows.Err()
	})
	return out, err
}

// Preferences returns the person's cadence per kind (kinds not set are Immediately).
func (r *Repository) Preferences(ctx context.Context, person string) (map[domain.Kind]domain.Cadence, error) {
	out := map[domain.Kind]domain.Cadence{}
	for _, k := range domain.Kinds {
		out[k] = domain.Immediately
	}
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT kind, cadence FROM preferences WHERE person_id = $1`, person)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k, c string
			if err := rows.Scan(&k, &c); err != nil {
				return err
			}
			out[domain.Kind(k)] = domain.Cadence(c)
		}
		return rows.Err()
	})
	return out, err
}

// SetPreferences stores the cadences given, all or none.
func (r *Repository) SetPreferences(ctx context.Context, person string, prefs map[domain.Kind]domain.Cadence) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		for k, c := range prefs {
			if _, err := tx.Exec(ctx, `INSERT INTO preferences (person_id, kind, cadence, updated_at) VALUES ($1, $2, $3, now())
				ON CONFLICT (person_id, kind) DO UPDATE SET cadence = $3, updated_at = now()`, person, string(k), string(c)); err != nil {
				return fmt.Errorf("preferences: %w", err)
			}
		}
		return nil
	})
}

// RegionCoP is a line of a hub digest.
type RegionCoP struct {
	ID, Name string
	Members  int
}

// RegionCoPs lists the CoPs of region ("" for every region) with their member counts.
func (r *Repository) RegionCoPs(ctx context.Context, region string) ([]RegionCoP, error) {
	var out []RegionCoP
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT c.cop_id, c.name, count(m.person_id) FROM cops c LEFT JOIN members m USING (cop_id)
			WHERE $1 = '' OR c.region = $1 GROUP BY c.cop_id, c.name ORDER BY c.name, c.cop_id`, region)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (RegionCoP, error) {
			var c RegionCoP
			err := row.Scan(&c.ID, &c.Name, &c.Members)
			return c, err
		})
		return err
	})
	return out, err
}

// AddNews records what happened in a region, once per key.
func (r *Repository) AddNews(ctx context.Context, key, region string, kind domain.Kind, text string, at time.Time) error {
	return r.exec(ctx, `INSERT INTO news (key, region, kind, text, at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING`,
		key, region, string(kind), text, at)
}

// News lists the news of region ("" for all) in [from, to).
func (r *Repository) News(ctx context.Context, region string, from, to time.Time) ([]string, error) {
	return r.ids(ctx, `SELECT text FROM news WHERE ($1 = '' OR region = $1) AND at >= $2 AND at < $3 ORDER BY at, id`, region, from, to)
}

// Officer is a hub officer (with their region) or a national officer (region "").
type Officer struct {
	PersonID, Region string
}

// Officers lists every hub and national officer.
func (r *Repository) Officers(ctx context.Context) ([]Officer, error) {
	var out []Officer
	err := postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT person_id, region FROM hub_officers UNION ALL SELECT person_id, '' FROM national_officers ORDER BY 1, 2`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Officer, error) {
			var o Officer
			err := row.Scan(&o.PersonID, &o.Region)
			return o, err
		})
		return err
	})
	return out, err
}

// Cadence is the person's cadence for kind.
func (r *Repository) Cadence(ctx context.Context, person string, kind domain.Kind) (domain.Cadence, error) {
	prefs, err := r.Preferences(ctx, person)
	if err != nil {
		return "", err
	}
	return prefs[kind], nil
}
