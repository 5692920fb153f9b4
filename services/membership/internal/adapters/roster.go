package adapters

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/services/membership/domain"
	"github.com/copnet/copnet/services/membership/internal/app"
)

// AcceptCodeOfPractice records that a current member accepted version.
func (t *Tx) AcceptCodeOfPractice(ctx context.Context, copID, personID string, version int) error {
	_, err := t.tx.Exec(ctx, `UPDATE memberships SET code_of_practice_version = $3
		WHERE cop_id = $1 AND person_id = $2 AND left_at IS NULL`, copID, personID, version)
	return err
}

// MembershipsWithCode lists person's current memberships of approved CoPs with each CoP's
// Code of Practice in force.
func (t *Tx) MembershipsWithCode(ctx context.Context, personID string) ([]app.MyMembership, error) {
	rows, err := t.tx.Query(ctx, `SELECT m.cop_id, m.roles, m.code_of_practice_version, c.code_of_practice_version
		FROM memberships m JOIN cops c ON c.id = m.cop_id
		WHERE m.person_id = $1 AND m.left_at IS NULL AND c.status = 'approved' ORDER BY m.cop_id`, personID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.MyMembership, error) {
		var m app.MyMembership
		var roles []string
		err := row.Scan(&m.CoPID, &roles, &m.CodeOfPracticeVersion, &m.CurrentCodeOfPracticeVersion)
		m.Roles = make([]domain.Role, len(roles))
		for i, r := range roles {
			m.Roles[i] = domain.Role(r)
		}
		return m, err
	})
}

// OpenInvitationsOf lists the invitations open for cop's grants at now, newest first.
func (t *Tx) OpenInvitationsOf(ctx context.Context, copID string, now time.Time, limit int) ([]*app.Invitation, error) {
	return t.invitations(ctx, `i.cop_id = $1 AND `+openInvitation+` AND i.expires_at > $2
		ORDER BY i.created_at DESC, i.id DESC LIMIT $3`, copID, now, limit)
}

// Directory lists the names and organisations of cop's current members, by name; erased
// people are left out.
func (t *Tx) Directory(ctx context.Context, copID string) ([]app.DirectoryEntry, error) {
	rows, err := t.tx.Query(ctx, `SELECT p.name, coalesce(p.organisation, '')
		FROM memberships m JOIN people p ON p.id = m.person_id
		WHERE m.cop_id = $1 AND m.left_at IS NULL AND p.erased_at IS NULL ORDER BY lower(p.name), p.id`, copID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (app.DirectoryEntry, error) {
		var e app.DirectoryEntry
		err := row.Scan(&e.Name, &e.Organisation)
		return e, err
	})
}

// SetRegistration opens or closes a CoP's online registration.
func (t *Tx) SetRegistration(ctx context.Context, copID string, open bool) error {
	_, err := t.tx.Exec(ctx, `UPDATE cops SET open_registration = $2 WHERE id = $1`, copID, open)
	return err
}
