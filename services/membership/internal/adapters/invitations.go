package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// invitationColumns reads an invitation with its inviter's name and, for a CoP membership,
// the CoP's current Code of Practice ("i" is the invitations table).
const invitationColumns = `i.id, i.email, i.name, i.organisation, i.role, i.region, i.cop_id, i.invited_by,
	coalesce((SELECT p.name FROM people p WHERE p.id = i.invited_by), ''),
	i.created_at, i.expires_at, i.link_used_at, coalesce(i.accepted_by, ''), i.accepted_at, i.declined_at, i.lapsed_at,
	CASE WHEN i.role = 'member' THEN coalesce((SELECT c.code_of_practice_version FROM cops c WHERE c.id = i.cop_id), 0) ELSE 0 END`

func scanInvitation(row pgx.Row) (*app.Invitation, error) {
	var i app.Invitation
	var role string
	err := row.Scan(&i.ID, &i.Email, &i.Name, &i.Organisation, &role, &i.Grant.Region, &i.Grant.CoP, &i.InvitedBy,
		&i.InvitedByName, &i.CreatedAt, &i.ExpiresAt, &i.LinkUsedAt, &i.AcceptedBy, &i.AcceptedAt, &i.DeclinedAt, &i.LapsedAt,
		&i.CodeOfPracticeVersion)
	i.Grant.Role = httpx.Role(role)
	return &i, err
}

// openInvitation is the condition of an invitation nobody answered that has not lapsed
// (it may have expired: the caller compares expires_at).
const openInvitation = `i.accepted_at IS NULL AND i.declined_at IS NULL AND i.lapsed_at IS NULL`

// AddInvitation stores an invitation. An expired one of the same address and grant lapses
// first; the unique index on open invitations decides between two inviters racing.
func (t *Tx) AddInvitation(ctx context.Context, inv *app.Invitation, hash []byte) error {
	g := inv.Grant
	if _, err := t.tx.Exec(ctx, `UPDATE invitations i SET lapsed_at = $5
		WHERE lower(i.email) = lower($1) AND i.role = $2 AND i.region = $3 AND i.cop_id = $4
		AND `+openInvitation+` AND i.expires_at <= $5`, inv.Email, string(g.Role), g.Region, g.CoP, inv.CreatedAt); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO invitations (id, hash, email, name, organisation, role, region, cop_id,
		invited_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		inv.ID, hash, inv.Email, inv.Name, inv.Organisation, string(g.Role), g.Region, g.CoP, inv.InvitedBy, inv.CreatedAt, inv.ExpiresAt)
	if postgres.IsUniqueViolation(err, "invitations_one_open") {
		return apperr.Conflict("an invitation of %s to %s is already open", inv.Email, g)
	}
	return err
}

func (t *Tx) invitation(ctx context.Context, where string, lock bool, args ...any) (*app.Invitation, error) {
	q := "SELECT " + invitationColumns + " FROM invitations i WHERE " + where
	if lock {
		q += " FOR UPDATE OF i"
	}
	inv, err := scanInvitation(t.tx.QueryRow(ctx, q, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return inv, err
}

// Invitation loads one invitation; nil when unknown.
func (t *Tx) Invitation(ctx context.Context, id string, lock bool) (*app.Invitation, error) {
	return t.invitation(ctx, "i.id = $1", lock, id)
}

// InvitationByHash finds the invitation a link's hash belongs to.
func (t *Tx) InvitationByHash(ctx context.Context, hash []byte, lock bool) (*app.Invitation, error) {
	return t.invitation(ctx, "i.hash = $1", lock, hash)
}

// OpenInvitation finds the open invitation of email to g.
func (t *Tx) OpenInvitation(ctx context.Context, email string, g httpx.Grant, now time.Time) (*app.Invitation, error) {
	return t.invitation(ctx, `lower(i.email) = lower($1) AND i.role = $2 AND i.region = $3 AND i.cop_id = $4
		AND `+openInvitation+` AND i.expires_at > $5`, false, email, string(g.Role), g.Region, g.CoP, now)
}

// UseInvitationLink records that the link signed its invitee in.
func (t *Tx) UseInvitationLink(ctx context.Context, id string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET link_used_at = $2 WHERE id = $1`, id, now)
	return err
}

// AcceptInvitation records the invitee's yes.
func (t *Tx) AcceptInvitation(ctx context.Context, id, person string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET accepted_by = $2, accepted_at = $3 WHERE id = $1`, id, person, now)
	return err
}

// DeclineInvitation records the invitee's no.
func (t *Tx) DeclineInvitation(ctx context.Context, id string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE invitations SET declined_at = $2 WHERE id = $1`, id, now)
	return err
}

func (t *Tx) invitations(ctx context.Context, where string, args ...any) ([]*app.Invitation, error) {
	rows, err := t.tx.Query(ctx, "SELECT "+invitationColumns+" FROM invitations i WHERE "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*app.Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, rows.Err()
}

// InvitationsSentBy lists what person sent, newest first.
func (t *Tx) InvitationsSentBy(ctx context.Context, person string, limit int) ([]*app.Invitation, error) {
	return t.invitations(ctx, "i.invited_by = $1 ORDER BY i.created_at DESC, i.id DESC LIMIT $2", person, limit)
}

// InvitationsFor lists the invitations open for email, newest first.
func (t *Tx) InvitationsFor(ctx context.Context, email string, now time.Time, limit int) ([]*app.Invitation, error) {
	return t.invitations(ctx, `lower(i.email) = lower($1) AND `+openInvitation+` AND i.expires_at > $2
		ORDER BY i.created_at DESC, i.id DESC LIMIT $3`, email, now, limit)
}
