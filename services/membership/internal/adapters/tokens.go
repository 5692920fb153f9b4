package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/services/membership/internal/app"
)

const tokenColumns = `id, person_id, name, grants, hash, created_at, expires_at, revoked_at`

func scanToken(row pgx.Row) (*app.APIToken, error) {
	var t app.APIToken
	var grants []byte
	if err := row.Scan(&t.ID, &t.PersonID, &t.Name, &grants, &t.Hash, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt); err != nil {
		return nil, err
	}
	return &t, json.Unmarshal(grants, &t.Grants)
}

// AddAPIToken stores a token's row: its hash, never the token.
func (t *Tx) AddAPIToken(ctx context.Context, tok *app.APIToken) error {
	grants, err := json.Marshal(tok.Grants)
	if err != nil {
		return err
	}
	_, err = t.tx.Exec(ctx, `INSERT INTO api_tokens (id, person_id, name, grants, hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, tok.ID, tok.PersonID, tok.Name, grants, tok.Hash, tok.CreatedAt, tok.ExpiresAt)
	return err
}

// APITokens lists a person's tokens, newest first.
func (t *Tx) APITokens(ctx context.Context, person string) ([]*app.APIToken, error) {
	rows, err := t.tx.Query(ctx, "SELECT "+tokenColumns+" FROM api_tokens WHERE person_id = $1 ORDER BY created_at DESC, id DESC", person)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*app.APIToken{}
	for rows.Next() {
		tok, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tok)
	}
	return out, rows.Err()
}

// APIToken loads one token; nil when unknown.
func (t *Tx) APIToken(ctx context.Context, id string, lock bool) (*app.APIToken, error) {
	q := "SELECT " + tokenColumns + " FROM api_tokens WHERE id = $1"
	if lock {
		q += " FOR UPDATE"
	}
	tok, err := scanToken(t.tx.QueryRow(ctx, q, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return tok, err
}

// RevokeAPIToken records a token's revocation.
func (t *Tx) RevokeAPIToken(ctx context.Context, id string, now time.Time) error {
	_, err := t.tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, now)
	return err
}
