package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type txKey struct{}

// WithTx returns ctx carrying tx. A repository called with it joins tx instead of beginning
// its own: an event consumer's projection change, its outbox rows and the record of the
// processed event id then commit or roll back together, while the app layer never sees a
// transaction.
func WithTx(ctx context.Context, tx pgx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFrom returns the transaction ctx carries, if any.
func TxFrom(ctx context.Context) (pgx.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(pgx.Tx)
	return tx, ok
}

// Tx runs fn in a transaction and commits when fn returns nil. When ctx already carries a
// transaction (WithTx), fn runs in it and its owner commits: an error from fn still aborts
// the whole of it.
func Tx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	if tx, ok := TxFrom(ctx); ok {
		return fn(tx)
	}
	return pgx.BeginFunc(ctx, pool, fn)
}
