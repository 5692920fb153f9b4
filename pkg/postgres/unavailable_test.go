package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
)

// An exhausted pool makes a bounded caller fail fast with ErrAcquireTimeout (which WriteProblem
// answers 503), while the caller's own cancellation still reads as its own.
func TestAcquireTimeoutOnExhaustedPool(t *testing.T) {
	ctx := context.Background()
	pool, err := postgres.OpenLimited(ctx, testkit.PostgresURL(t), "budget", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 1 {
		t.Fatalf("MaxConns = %d, want 1", got)
	}
	held, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var one int
	err = pool.QueryRow(postgres.WithAcquireTimeout(ctx, 20*time.Millisecond), "SELECT 1").Scan(&one)
	if !errors.Is(err, postgres.ErrAcquireTimeout) || !postgres.Unavailable(err) {
		t.Fatalf("query on an exhausted pool = %v, want ErrAcquireTimeout", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ErrAcquireTimeout does not match context.DeadlineExceeded: %v", err)
	}
	if err := pgx.BeginFunc(postgres.WithAcquireTimeout(ctx, 20*time.Millisecond), pool, func(pgx.Tx) error { return nil }); !errors.Is(err, postgres.ErrAcquireTimeout) {
		t.Errorf("transaction on an exhausted pool = %v, want ErrAcquireTimeout", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = pool.QueryRow(postgres.WithAcquireTimeout(cctx, time.Hour), "SELECT 1").Scan(&one)
	if !errors.Is(err, context.Canceled) || errors.Is(err, postgres.ErrAcquireTimeout) || postgres.Unavailable(err) {
		t.Errorf("cancelled caller = %v, want context.Canceled and not unavailable", err)
	}

	held.Release()
	if err := pool.QueryRow(postgres.WithAcquireTimeout(ctx, time.Minute), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("after release: %d, %v", one, err)
	}
}

// The ways a real PostgreSQL refuses are classified as unavailable: too many connections
// for the role, and a session terminated under a running pool.
func TestUnavailableWhenServerRefuses(t *testing.T) {
	ctx := context.Background()
	url, role := testkit.RestrictedPostgres(t)
	pool, err := postgres.OpenLimited(ctx, url, "refused", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var one int
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		t.Fatal(err)
	}

	testkit.AdminExec(t, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" CONNECTION LIMIT 0")
	testkit.AdminExec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
	// The pool's connection was terminated (57P01, or a broken connection); the next
	// one is refused (53300). Every error on the way is unavailable, never anything else.
	var sawRefusal bool
	testkit.Eventually(t, 20*time.Second, func() error {
		err := pool.QueryRow(ctx, "SELECT 1").Scan(&one)
		if err == nil {
			return errors.New("a query succeeded with the role refused")
		}
		if !postgres.Unavailable(err) {
			t.Fatalf("error not classified as unavailable: %v", err)
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53300" {
			sawRefusal = true
			return nil
		}
		return err
	})
	if !sawRefusal {
		t.Fatal("never refused")
	}

	testkit.AdminExec(t, "ALTER ROLE "+pgx.Identifier{role}.Sanitize()+" CONNECTION LIMIT -1")
	testkit.Eventually(t, 20*time.Second, func() error { return pool.QueryRow(ctx, "SELECT 1").Scan(&one) })
}

func TestUnavailableLeavesOtherErrorsAlone(t *testing.T) {
	for _, err := range []error{nil, errors.New("x"), context.Canceled, context.DeadlineExceeded, &pgconn.PgError{Code: "23505"}, &pgconn.PgError{Code: "28P01"}} {
		if postgres.Unavailable(err) {
			t.Errorf("Unavailable(%v) = true", err)
		}
	}
}
