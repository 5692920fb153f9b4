package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/mail"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// Grants lists what person holds now: grants given as data and their memberships'.
func (t *Tx) Grants(ctx context.Context, person string) ([]httpx.Grant, error) {
	rows, err := t.tx.Query(ctx, `
		SELECT role, region, cop_id FROM grants WHERE person_id = $1
		UNION
		SELECT 'member', '', cop_id FROM memberships WHERE person_id = $1 AND left_at IS NULL
		UNION
		SELECT r, '', cop_id FROM memberships, unnest(roles) AS r
		 WHERE person_id = $1 AND left_at IS NULL AND r <> 'member'
		ORDER BY 1, 2, 3`, person)
	if err != nil {
		return nil, err
	}
	out := []httpx.Grant{}
	for rows.Next() {
		var g httpx.Grant
		var role string
		if err := rows.Scan(&role, &g.Region, &g.CoP); err != nil {
			return nil, err
		}
		g.Role = httpx.Role(role)
		out = append(out, g)
	}
	return out, rows.Err()
}

// AddGrant gives a grant; false when the person already held it.
func (t *Tx) AddGrant(ctx context.Context, person string, g httpx.Grant, by string, now time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO grants (person_id, role, region, cop_id, given_by, given_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, person, string(g.Role), g.Region, g.CoP, by, now)
	return tag.RowsAffected() == 1, err
}

// RemoveGrant withdraws a grant given as data.
func (t *Tx) RemoveGrant(ctx context.Context, person string, g httpx.Grant) (bool, error) {
	tag, err := t.tx.Exec(ctx, `DELETE FROM grants WHERE person_id = $1 AND role = $2 AND region = $3 AND cop_id = $4`,
		person, string(g.Role), g.Region, g.CoP)
	return tag.RowsAffected() == 1, err
}

// HasNational reports whether anyone holds the national grant.
func (t *Tx) HasNational(ctx context.Context) (bool, error) {
	var has bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grants WHERE role = 'national')`).Scan(&has)
	return has, err
}

// AddSigninLink stores a sign-in link's hash, forgetting links long expired.
func (t *Tx) AddSigninLink(ctx context.Context, hash []byte, email, next string, now, expires time.Time) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM signin_links WHERE expires_at < $1`, now.Add(-24*time.Hour)); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO signin_links (hash, email, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		hash, email, next, now, expires)
	return err
}

// UseSigninLink spends a link. The update is the decision: of two browsers racing with one
// link, exactly one gets the row.
func (t *Tx) UseSigninLink(ctx context.Context, hash []byte, now time.Time) (string, string, bool, error) {
	var email, next string
	err := t.tx.QueryRow(ctx, `UPDATE signin_links SET used_at = $2
		WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING email, next`, hash, now).Scan(&email, &next)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	return email, next, err == nil, err
}

// SetupUsed reports whether a setup ticket was redeemed.
func (t *Tx) SetupUsed(ctx context.Context, id string) (bool, error) {
	var used bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM setup_links_used WHERE id = $1)`, id).Scan(&used)
	return used, err
}

// UseSetup records a setup ticket's redemption; the unique key decides between racers.
func (t *Tx) UseSetup(ctx context.Context, id string, expires time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO setup_links_used (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, expires)
	return tag.RowsAffected() == 1, err
}

// AddSession stores a session's hash.
func (t *Tx) AddSession(ctx context.Context, hash []byte, person, method string, now, expires time.Time) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO sessions (hash, person_id, method, created_at, last_seen_at, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5)`, hash, person, method, now, expires)
	return err
}

// TouchSession finds a live session and records its use.
func (t *Tx) TouchSession(ctx context.Context, hash []byte, now time.Time, idle time.Duration) (string, bool, error) {
	var person string
	err := t.tx.QueryRow(ctx, `UPDATE sessions SET last_seen_at = $2
		WHERE hash = $1 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3
		RETURNING person_id`, hash, now, now.Add(-idle)).Scan(&person)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return person, err == nil, err
}

// EndSession ends one session.
func (t *Tx) EndSession(ctx context.Context, hash []byte, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE sessions SET ended_at = $2 WHERE hash = $1 AND ended_at IS NULL`, hash, now)
	return err
}

// EndSessions ends every session of a person.
func (t *Tx) EndSessions(ctx context.Context, person string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE sessions SET ended_at = $2 WHERE person_id = $1 AND ended_at IS NULL`, person, now)
	return err
}

// InvitationWaits reports whether an invitation to email is open.
func (t *Tx) InvitationWaits(ctx context.Context, email string, now time.Time) (bool, error) {
	var waits bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invitations WHERE lower(email) = lower($1)
		AND accepted_at IS NULL AND declined_at IS NULL AND expires_at > $2)`, email, now).Scan(&waits)
	return waits, err
}

// QueueMail queues a mail in the transactional mail outbox: it is sent once this
// transaction commits, and never if it rolls back.
func (t *Tx) QueueMail(ctx context.Context, m app.Mail) error {
	return mail.Enqueue(ctx, t.tx, mail.Mail{To: m.To, Subject: m.Subject, Text: m.Text})
}
