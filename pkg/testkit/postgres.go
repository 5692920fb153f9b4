package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DatabaseURLEnv names the environment variable that points tests at a
// PostgreSQL server. The role it names must be allowed to create databases.
const DatabaseURLEnv = "COPNET_TEST_DATABASE_URL"

// DefaultDatabaseURL is used when DatabaseURLEnv is unset; it matches a
// stock local PostgreSQL with trust authentication.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// pgTimeout bounds each administrative step so that a hung server fails the
// test with a message instead of stalling until the global test timeout.
const pgTimeout = 30 * time.Second

// Postgres creates a fresh database for this test and returns a pool
// connected to it. The pool is closed and the database dropped when the test
// ends. Safe for parallel tests: each call gets its own database.
func Postgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := PostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("testkit: open pool for test database: %v", err)
		return nil
	}
	// Registered after PostgresURL's cleanup so it runs before it: the drop
	// would otherwise have to force our own connections closed.
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("testkit: ping test database: %v", err)
		return nil
	}
	return pool
}

// PostgresURL creates a fresh, uniquely named database for this test and
// returns a connection URL for it, for code under test that opens its own
// connections. The database is dropped when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	adminURL := os.Getenv(DatabaseURLEnv)
	if adminURL == "" {
		adminURL = DefaultDatabaseURL
	}
	name, err := randomDBName()
	if err != nil {
		t.Fatalf("testkit: %v", err)
		return ""
	}
	dbURL, err := withDatabase(adminURL, name)
	if err != nil {
		t.Fatalf("testkit: %s: %v", DatabaseURLEnv, err)
		return ""
	}

	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testkit: cannot reach PostgreSQL at %s: %v\n"+
			"Start PostgreSQL (e.g. `pg_ctlcluster 15 main start` or `brew services start postgresql`) "+
			"or set %s to a server where this role may CREATE DATABASE.",
			redact(adminURL), err, DatabaseURLEnv)
		return ""
	}
	defer func() { _ = admin.Close(context.Background()) }()

	// template0 cannot have connections, so concurrent creates never hit
	// "source database is being accessed by other users"; spelling out the
	// encoding and C collation makes results independent of the server's
	// default locale, matching the clusters pgcluster creates.
	create := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() +
		" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
	if _, err := admin.Exec(ctx, create); err != nil {
		t.Fatalf("testkit: create test database %s: %v", name, err)
		return ""
	}
	t.Cleanup(func() {
		if err := dropDatabase(adminURL, name); err != nil {
			t.Errorf("testkit: drop test database %s: %v", name, err)
		}
	})
	return dbURL
}

func dropDatabase(adminURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	// FORCE because code under test may leak connections; a leak should not
	// leave databases behind on a developer's server.
	_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	if err != nil {
		return fmt.Errorf("drop: %w", err)
	}
	return nil
}

func randomDBName() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return "copnet_test_" + hex.EncodeToString(b[:]), nil
}

// withDatabase points a connection string at another database, accepting
// both URL and keyword/value forms as pgx does.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Set("dbname", name)
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	if _, err := pgconn.ParseConfig(connString); err != nil {
		return "", fmt.Errorf("parse connection string: %w", err)
	}
	// Later keywords override earlier ones in keyword/value strings.
	return connString + " dbname=" + name, nil
}

// redact hides a password so failure messages can be pasted safely.
func redact(connString string) string {
	u, err := url.Parse(connString)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		// Keyword/value strings may carry password=...; say where instead.
		cfg, perr := pgconn.ParseConfig(connString)
		if perr != nil {
			return "(unparsable connection string)"
		}
		return fmt.Sprintf("host=%s port=%d", cfg.Host, cfg.Port)
	}
	return u.Redacted()
}

// RestrictedPostgres creates a fresh database owned by a fresh login role that is not a
// superuser, and returns a URL connecting as that role, with the role's name. PostgreSQL's
// connection limits (ALTER ROLE ... CONNECTION LIMIT, ALTER DATABASE ... CONNECTION LIMIT)
// do not apply to superusers, so tests that make the server refuse connections use this.
// Both are dropped when the test ends; AdminExec changes them meanwhile.
func RestrictedPostgres(t testing.TB) (dbURL, role string) {
	t.Helper()
	adminURL := os.Getenv(DatabaseURLEnv)
	if adminURL == "" {
		adminURL = DefaultDatabaseURL
	}
	name, err := randomDBName()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	role = name + "_role"
	AdminExec(t, "CREATE ROLE "+pgx.Identifier{role}.Sanitize()+" LOGIN NOSUPERUSER")
	t.Cleanup(func() {
		// Registered first, so it runs after the database is dropped.
		ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
		defer cancel()
		admin, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Errorf("testkit: drop role %s: %v", role, err)
			return
		}
		defer func() { _ = admin.Close(context.Background()) }()
		if _, err := admin.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("testkit: drop role %s: %v", role, err)
		}
	})
	url := PostgresURL(t)
	db := url[strings.LastIndex(url, "/")+1:]
	if i := strings.IndexByte(db, '?'); i >= 0 {
		db = db[:i]
	}
	AdminExec(t, "ALTER DATABASE "+pgx.Identifier{db}.Sanitize()+" OWNER TO "+pgx.Identifier{role}.Sanitize())
	u, err := withUser(url, role)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return u, role
}

// AdminExec runs one statement as the administrator of the test server (the role of
// COPNET_TEST_DATABASE_URL), for what a test's own role may not do.
func AdminExec(t testing.TB, sql string, args ...any) {
	t.Helper()
	adminURL := os.Getenv(DatabaseURLEnv)
	if adminURL == "" {
		adminURL = DefaultDatabaseURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("testkit: connect as administrator: %v", err)
	}
	defer func() { _ = admin.Close(context.Background()) }()
	if _, err := admin.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("testkit: %s: %v", sql, err)
	}
}

// withUser points a URL connection string at another role, without a password (the test
// server trusts local connections).
func withUser(connString, user string) (string, error) {
	u, err := url.Parse(connString)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("RestrictedPostgres needs a postgres:// URL in %s", DatabaseURLEnv)
	}
	u.User = url.User(user)
	return u.String(), nil
}
