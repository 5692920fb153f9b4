package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/postgres"
)

// Revocations is what a process refuses: per person, tokens issued before a moment; per
// token id, that one token. Each service applies membership.access_revoked events to its own
// table (so a restarted process still refuses what was revoked) and to this set, which its
// Verifier reads on every request.
type Revocations struct {
	mu        sync.RWMutex
	notBefore map[string]time.Time // person → tokens issued before are refused
	tokens    map[string]bool      // token id → refused
}

// NewRevocations returns an empty set.
func NewRevocations() *Revocations {
	return &Revocations{notBefore: map[string]time.Time{}, tokens: map[string]bool{}}
}

// Refuses reports whether c's token has been revoked.
func (r *Revocations) Refuses(c httpx.Claims) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.tokens[c.TokenID] {
		return true
	}
	nb, ok := r.notBefore[c.Subject]
	// A token issued in the same millisecond as the revocation is refused too: a session
	// that was just ended must not survive by a rounding.
	return ok && !c.IssuedAt.After(nb)
}

func (r *Revocations) add(ev events.AccessRevoked) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ev.TokenID != "" {
		r.tokens[ev.TokenID] = true
	}
	if !ev.NotBefore.IsZero() && ev.NotBefore.After(r.notBefore[ev.PersonID]) {
		r.notBefore[ev.PersonID] = ev.NotBefore.Truncate(time.Millisecond)
	}
}

// Migrate creates the table a service keeps the revocations it applied in, in the schema
// of pool.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS access_revocations (
		id          bigserial PRIMARY KEY,
		person_id   text NOT NULL,
		token_id    text NOT NULL DEFAULT '',
		not_before  timestamptz,
		expires_at  timestamptz NOT NULL
	)`)
	if err != nil {
		return fmt.Errorf("create access_revocations: %w", err)
	}
	return nil
}

// Load reads the revocations kept in pool's schema that may still matter (their tokens have
// not all expired) into r.
func (r *Revocations) Load(ctx context.Context, pool *pgxpool.Pool, now time.Time) error {
	rows, err := pool.Query(ctx, `SELECT person_id, token_id, coalesce(not_before, 'epoch'), expires_at
		FROM access_revocations WHERE expires_at > $1`, now)
	if err != nil {
		return fmt.Errorf("load revocations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev events.AccessRevoked
		var nb time.Time
		if err := rows.Scan(&ev.PersonID, &ev.TokenID, &nb, &ev.ExpiresAt); err != nil {
			return err
		}
		if nb.After(time.Unix(0, 0)) {
			ev.NotBefore = nb
		}
		r.add(ev)
	}
	return rows.Err()
}

// Applier applies revocations for one service: its table, then the process's set. The set
// is changed only after the table write succeeded in the consumer's transaction; a rollback
// after that leaves the set stricter than the table until the redelivery commits, never
// looser.
type Applier struct {
	Pool *pgxpool.Pool
	Set  *Revocations
	Now  func() time.Time
}

// OnAccessRevoked is the bus handler (bus.On) every service registers.
func (a Applier) OnAccessRevoked(ctx context.Context, ev events.AccessRevoked, _ events.Envelope) error {
	err := postgres.Tx(ctx, a.Pool, func(tx pgx.Tx) error {
		var nb *time.Time
		if !ev.NotBefore.IsZero() {
			nb = &ev.NotBefore
		}
		if _, err := tx.Exec(ctx, `INSERT INTO access_revocations (person_id, token_id, not_before, expires_at)
			VALUES ($1, $2, $3, $4)`, ev.PersonID, ev.TokenID, nb, ev.ExpiresAt); err != nil {
			return err
		}
		// Revocations whose tokens have all expired refuse nothing any more.
		_, err := tx.Exec(ctx, `DELETE FROM access_revocations WHERE expires_at < $1`, a.Now())
		return err
	})
	if err != nil {
		return err
	}
	a.Set.add(ev)
	return nil
}
