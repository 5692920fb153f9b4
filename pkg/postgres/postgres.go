// Package postgres is the shared PostgreSQL wiring: a pool confined to the service's own
// schema, embedded migrations applied at start-up, a transaction helper, and the table of
// processed event ids that makes consumers idempotent.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects to url with every connection's search_path set to schema, creating the
// schema first. Services share a database in small deployments, so each keeps to its own
// schema and never reads another's tables. The pool keeps pgxpool's default size; a node
// sizes its pools from one budget with OpenLimited.
func Open(ctx context.Context, url, schema string) (*pgxpool.Pool, error) {
	return OpenLimited(ctx, url, schema, 0)
}

// OpenLimited is Open with the pool holding at most maxConns connections (pgxpool's default
// when not positive). The pool is every connection it opens: the schema is created through
// it, so a budget of maxConns is never exceeded, not even at start-up.
func OpenLimited(ctx context.Context, url, schema string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	if schema != "" {
		// A search_path naming a schema that does not exist yet is accepted, and
		// PostgreSQL picks the schema up in the same session once it is created.
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
	}
	limitAcquire(cfg.ConnConfig)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres pool: %w", err)
	}
	if schema != "" {
		if err := ensureSchema(ctx, pool, schema); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return pool, nil
}

func ensureSchema(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		// Concurrent creators race on the catalog; the schema exists either way.
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
	}
	return nil
}

// Migrate applies the *.sql files of migrations in name order, each once, each in its own
// transaction. An advisory lock keeps two replicas starting together from racing.
func Migrate(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	const lockKey = 7_260_000_001
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return fmt.Errorf("migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck // released with the session anyway
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range append([]string{"processed_events"}, names...) {
		var sql string
		if name == "processed_events" {
			sql = processedEventsDDL
		} else {
			b, err := fs.ReadFile(migrations, name)
			if err != nil {
				return err
			}
			sql = string(b)
		}
		if err := applyOnce(ctx, conn.Conn(), path.Base(name), sql); err != nil {
			return err
		}
	}
	return nil
}

func applyOnce(ctx context.Context, conn *pgx.Conn, name, sql string) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after commit
	tag, err := tx.Exec(ctx, "INSERT INTO schema_migrations(name) VALUES ($1) ON CONFLICT DO NOTHING", name)
	if err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, sql); err != nil {
		return fmt.Errorf("migration %s: %w", name, err)
	}
	return tx.Commit(ctx)
}

// processedEventsDDL is shared by every service: a consumer records the event ids it has
// applied in the same transaction as its projection change.
const processedEventsDDL = `CREATE TABLE IF NOT EXISTS processed_events (
	handler text NOT NULL,
	event_id text NOT NULL,
	processed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (handler, event_id))`

// MarkProcessed records that handler applied eventID, inside tx. It returns false when the
// event was applied before: a redelivery, which the caller then skips.
func MarkProcessed(ctx context.Context, tx pgx.Tx, handler, eventID string) (bool, error) {
	tag, err := tx.Exec(ctx,
		"INSERT INTO processed_events(handler, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
		handler, eventID)
	if err != nil {
		return false, fmt.Errorf("mark %s processed by %s: %w", eventID, handler, err)
	}
	return tag.RowsAffected() == 1, nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation, optionally of the
// named constraint, so callers can turn it into a 409.
func IsUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		return false
	}
	return constraint == "" || strings.EqualFold(pgErr.ConstraintName, constraint)
}
