package adapters

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/services/membership/internal/app"
)

// AddCeremony stores a ceremony in flight and forgets the expired ones, so anonymous
// sign-in attempts that never finish cannot pile up.
func (t *Tx) AddCeremony(ctx context.Context, id, person string, data []byte, now, expires time.Time) error {
	if _, err := t.tx.Exec(ctx, `DELETE FROM webauthn_ceremonies WHERE expires_at <= $1`, now); err != nil {
		return err
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO webauthn_ceremonies (id, person_id, data, expires_at)
		VALUES ($1, NULLIF($2, ''), $3, $4)`, id, person, data, expires)
	return err
}

// TakeCeremony removes a ceremony and returns it: of two racers, only one gets the row.
func (t *Tx) TakeCeremony(ctx context.Context, id string) (app.StoredCeremony, bool, error) {
	var c app.StoredCeremony
	var person *string
	err := t.tx.QueryRow(ctx, `DELETE FROM webauthn_ceremonies WHERE id = $1 RETURNING person_id, data, expires_at`, id).
		Scan(&person, &c.Data, &c.Expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if person != nil {
		c.PersonID = *person
	}
	return c, err == nil, err
}

// Passkeys lists the credentials a person registered, oldest first.
func (t *Tx) Passkeys(ctx context.Context, person string) ([][]byte, error) {
	rows, err := t.tx.Query(ctx, `SELECT credential FROM passkeys WHERE person_id = $1 ORDER BY created_at, credential_id`, person)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[[]byte])
}

// AddPasskey stores a new credential; the primary key refuses an id registered already.
func (t *Tx) AddPasskey(ctx context.Context, id []byte, person string, credential []byte, now time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO passkeys (credential_id, person_id, credential, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (credential_id) DO NOTHING`, id, person, credential, now)
	return tag.RowsAffected() == 1, err
}

// Passkey loads one credential, locked until the sign-in that uses it commits, so that two
// sign-ins with one passkey check its sign count one after the other.
func (t *Tx) Passkey(ctx context.Context, id []byte) (string, []byte, bool, error) {
	var person string
	var credential []byte
	err := t.tx.QueryRow(ctx, `SELECT person_id, credential FROM passkeys WHERE credential_id = $1 FOR UPDATE`, id).
		Scan(&person, &credential)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil, false, nil
	}
	return person, credential, err == nil, err
}

// UsePasskey records a sign-in: the credential's new sign count and flags, and when.
func (t *Tx) UsePasskey(ctx context.Context, id []byte, credential []byte, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE passkeys SET credential = $2, last_used_at = $3 WHERE credential_id = $1`, id, credential, now)
	return err
}
