// Package adapters keeps membership's state in PostgreSQL. Every use case runs in one
// transaction (Tx) whose events the repository writes to the outbox in it, so state and
// events never disagree.
package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/membership/domain"
	"github.com/copnet/copnet/services/membership/internal/app"
)

var (
	_ app.Repository = (*Repository)(nil)
	_ app.Tx         = (*Tx)(nil)
)

// Repository opens transactions over membership's tables.
type Repository struct {
	pool   *pgxpool.Pool
	outbox *bus.Outbox
}

// NewRepository returns a repository writing events through outbox.
func NewRepository(pool *pgxpool.Pool, outbox *bus.Outbox) *Repository {
	return &Repository{pool: pool, outbox: outbox}
}

// Tx is one unit of work: reads and writes in one transaction.
type Tx struct {
	tx pgx.Tx
}

// InTx runs fn in a transaction and writes the events fn returns to the outbox in it,
// committed when fn returns nil. When ctx carries a transaction (an event consumer's, see
// bus.On), fn runs in it, so the change, its events and the record of the processed event
// commit together.
func (r *Repository) InTx(ctx context.Context, fn func(app.Tx) ([]events.Event, error)) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error {
		evs, err := fn(&Tx{tx: tx})
		if err != nil || len(evs) == 0 {
			return err
		}
		return r.outbox.Publish(ctx, tx, evs...)
	})
}

// AddPerson stores a new person; an e-mail already used, in any case, is a 409.
func (t *Tx) AddPerson(ctx context.Context, id string, p domain.Person, now time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO people (id, name, email, organisation, registered_at)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5)`, id, p.Name, p.Email, p.Organisation, now)
	if postgres.IsUniqueViolation(err, "people_email_key") {
		return apperr.Conflict("a person with e-mail %s is already registered", p.Email)
	}
	return err
}

// Person loads one person, erased or not; nil when the id is unknown.
func (t *Tx) Person(ctx context.Context, id string, lock bool) (*app.PersonRecord, error) {
	q := `SELECT id, coalesce(name, ''), coalesce(email, ''), coalesce(organisation, ''), registered_at,
		erased_at IS NOT NULL FROM people WHERE id = $1`
	if lock {
		q += " FOR UPDATE"
	}
	var p app.PersonRecord
	err := t.tx.QueryRow(ctx, q, id).Scan(&p.ID, &p.Name, &p.Email, &p.Organisation, &p.RegisteredAt, &p.Erased)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &p, err
}

// PersonIDByEmail finds a registered person by e-mail, ignoring case ("" when none).
func (t *Tx) PersonIDByEmail(ctx context.Context, email string) (string, error) {
	var id string
	err := t.tx.QueryRow(ctx, "SELECT id FROM people WHERE lower(email) = lower($1)", email).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// ErasePerson removes every piece of personal data membership holds about id: the
// person's record and the free-text reasons written about them or by them, which may
// name them.
func (t *Tx) ErasePerson(ctx context.Context, id string, now time.Time) error {
	// Mail still waiting to go to the person (a sign-in link, an invitation) is personal
	// data too: it goes with them.
	var email *string
	if err := t.tx.QueryRow(ctx, `SELECT email FROM people WHERE id = $1`, id).Scan(&email); err != nil {
		return err
	}
	if email != nil {
		if _, err := mail.Erase(ctx, t.tx, *email); err != nil {
			return err
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM signin_links WHERE lower(email) = lower($1)`, *email); err != nil {
			return err
		}
	}
	// Invitations to the person's address hold it (and the name an inviter gave): they go
	// before the address does. Those the person sent and nobody answered lapse, so no grant
	// comes from someone who is gone.
	if _, err := t.tx.Exec(ctx, `DELETE FROM invitations WHERE accepted_by = $1
		OR lower(email) = (SELECT lower(email) FROM people WHERE id = $1)`, id); err != nil {
		return err
	}
	if _, err := t.tx.Exec(ctx, `UPDATE invitations SET lapsed_at = $2 WHERE invited_by = $1
		AND accepted_at IS NULL AND declined_at IS NULL AND lapsed_at IS NULL`, id, now); err != nil {
		return err
	}
	stmts := []string{
		"UPDATE people SET name = NULL, email = NULL, organisation = NULL, erased_at = $2 WHERE id = $1",
		"UPDATE removals SET reason = '[erased]' WHERE person_id = $1 OR proposed_by = $1",
		"UPDATE objections SET reason = '[erased]' WHERE person_id = $1",
		"UPDATE objections SET reason = '[erased]' WHERE appointment_id IN (SELECT id FROM appointments WHERE person_id = $1)",
		// Erasure removes every grant and every way to sign in as the person.
		"DELETE FROM grants WHERE person_id = $1",
		"DELETE FROM sessions WHERE person_id = $1",
		"DELETE FROM oidc_identities WHERE person_id = $1",
		"DELETE FROM passkeys WHERE person_id = $1",
		"DELETE FROM api_tokens WHERE person_id = $1",
	}
	for _, s := range stmts {
		args := []any{id}
		if s == stmts[0] {
			args = append(args, now)
		}
		if _, err := t.tx.Exec(ctx, s, args...); err != nil {
			return err
		}
	}
	return nil
}

// CoP loads a CoP's projection; nil when no event about it has arrived.
func (t *Tx) CoP(ctx context.Context, id string, lock bool) (*app.CoP, error) {
	q := "SELECT id, region, status, code_of_practice_version, open_registration FROM cops WHERE id = $1"
	if lock {
		q += " FOR UPDATE"
	}
	var c app.CoP
	err := t.tx.QueryRow(ctx, q, id).Scan(&c.ID, &c.Region, &c.Status, &c.CodeOfPracticeVersion, &c.OpenRegistration)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &c, err
}

// ApproveCoP records cop_approved. Events of one CoP reach separate consumers in any
// order, so a retirement seen first is never undone.
func (t *Tx) ApproveCoP(ctx context.Context, id, region string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO cops (id, region, status) VALUES ($1, $2, 'approved')
		ON CONFLICT (id) DO UPDATE SET region = EXCLUDED.region,
		status = CASE WHEN cops.status = 'retired' THEN 'retired' ELSE 'approved' END`, id, region)
	return err
}

// RetireCoP records cop_retired.
func (t *Tx) RetireCoP(ctx context.Context, id, region string) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO cops (id, region, status) VALUES ($1, $2, 'retired')
		ON CONFLICT (id) DO UPDATE SET status = 'retired'`, id, region)
	return err
}

// PublishCodeOfPractice records charter_published; an older version arriving late never
// replaces a newer one. A charter may be drafted before approval, hence 'proposed'.
func (t *Tx) PublishCodeOfPractice(ctx context.Context, id, region string, version int) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO cops (id, region, status, code_of_practice_version)
		VALUES ($1, $2, 'proposed', $3)
		ON CONFLICT (id) DO UPDATE SET code_of_practice_version =
		GREATEST(cops.code_of_practice_version, EXCLUDED.code_of_practice_version)`, id, region, version)
	return err
}

const memberColumns = `m.cop_id, m.person_id, coalesce(p.name, ''), m.roles, m.code_of_practice_version,
	m.joined_at, m.coordinator_term_ends_at, m.left_at IS NULL`

func scanMember(row pgx.Row) (*app.Member, error) {
	var m app.Member
	var roles []string
	err := row.Scan(&m.CoPID, &m.PersonID, &m.Name, &roles, &m.CodeOfPracticeVersion, &m.JoinedAt,
		&m.CoordinatorTermEndsAt, &m.Active)
	m.Roles = make([]domain.Role, len(roles))
	for i, r := range roles {
		m.Roles[i] = domain.Role(r)
	}
	return &m, err
}

// Membership loads person's membership of cop, current or ended; nil when there never was one.
func (t *Tx) Membership(ctx context.Context, copID, personID string, lock bool) (*app.Member, error) {
	q := "SELECT " + memberColumns + " FROM memberships m JOIN people p ON p.id = m.person_id WHERE m.cop_id = $1 AND m.person_id = $2"
	if lock {
		q += " FOR UPDATE OF m"
	}
	m, err := scanMember(t.tx.QueryRow(ctx, q, copID, personID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return m, err
}

// Join starts (or restarts, after leaving) a membership with no role beyond member.
func (t *Tx) Join(ctx context.Context, copID, personID string, version int, now time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO memberships (cop_id, person_id, code_of_practice_version, joined_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (cop_id, person_id) DO UPDATE SET roles = '{}', code_of_practice_version = $3,
		joined_at = $4, coordinator_term_ends_at = NULL, left_at = NULL, left_reason = NULL`,
		copID, personID, version, now)
	return err
}

// Leave ends a membership and every role with it.
func (t *Tx) Leave(ctx context.Context, copID, personID, reason string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE memberships SET left_at = $3, left_reason = $4, roles = '{}',
		coordinator_term_ends_at = NULL WHERE cop_id = $1 AND person_id = $2 AND left_at IS NULL`,
		copID, personID, now, reason)
	return err
}

// SetRoles replaces a member's roles; termEnds is the coordinator's term, if any.
func (t *Tx) SetRoles(ctx context.Context, copID, personID string, roles []domain.Role, termEnds *time.Time) error {
	rs := make([]string, len(roles))
	for i, r := range roles {
		rs[i] = string(r)
	}
	_, err := t.tx.Exec(ctx, `UPDATE memberships SET roles = $3, coordinator_term_ends_at = $4
		WHERE cop_id = $1 AND person_id = $2`, copID, personID, rs, termEnds)
	return err
}

// Members lists a CoP's current members, oldest first.
func (t *Tx) Members(ctx context.Context, copID string) ([]*app.Member, error) {
	return t.members(ctx, "m.cop_id = $1 AND m.left_at IS NULL ORDER BY m.joined_at, m.person_id", copID)
}

// MembershipsOf lists a person's current memberships, locked, for ending them.
func (t *Tx) MembershipsOf(ctx context.Context, personID string) ([]*app.Member, error) {
	return t.members(ctx, "m.person_id = $1 AND m.left_at IS NULL ORDER BY m.cop_id FOR UPDATE OF m", personID)
}

// MembersOfLocked lists a CoP's current members, locked, for ending them.
func (t *Tx) MembersOfLocked(ctx context.Context, copID string) ([]*app.Member, error) {
	return t.members(ctx, "m.cop_id = $1 AND m.left_at IS NULL ORDER BY m.person_id FOR UPDATE OF m", copID)
}

// ExpiredCoordinators lists coordinators whose term ended by now, locked.
func (t *Tx) ExpiredCoordinators(ctx context.Context, now time.Time) ([]*app.Member, error) {
	return t.members(ctx, "m.left_at IS NULL AND m.coordinator_term_ends_at <= $1 ORDER BY m.cop_id FOR UPDATE OF m SKIP LOCKED", now)
}

func (t *Tx) members(ctx context.Context, where string, args ...any) ([]*app.Member, error) {
	rows, err := t.tx.Query(ctx, "SELECT "+memberColumns+" FROM memberships m JOIN people p ON p.id = m.person_id WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*app.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// WorkingGroup lists the ids of a CoP's current working-group members.
func (t *Tx) WorkingGroup(ctx context.Context, copID string) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT person_id FROM memberships
		WHERE cop_id = $1 AND left_at IS NULL AND 'working_group' = ANY(roles) ORDER BY person_id`, copID)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if ids == nil {
		ids = []string{}
	}
	return ids, err
}
