package testkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go/jetstream"
)

func TestNATSRestartKeepsStreamAndReconnects(t *testing.T) {
	n := NATS(t)
	url := n.URL()
	nc := n.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     "ORDERS",
		Subjects: []string{"orders.>"},
		Storage:  jetstream.FileStorage,
	}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	for i := range 3 {
		if _, err := js.Publish(ctx, "orders.new", []byte("order-"+strconv.Itoa(i))); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}

	n.Restart(t)

	if n.URL() != url {
		t.Fatalf("URL changed across restart: %s -> %s", url, n.URL())
	}
	// The connection made before the restart must come back by itself.
	Eventually(t, 10*time.Second, func() error {
		// A short per-attempt timeout: a request racing the reconnect may
		// be lost and must not eat the whole budget.
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "ORDERS")
		if err != nil {
			return fmt.Errorf("%w (connection %v)", err, nc.Status())
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != 3 {
			return fmt.Errorf("stream has %d messages, want 3", info.State.Msgs)
		}
		return nil
	})
	s, err := js.Stream(ctx, "ORDERS")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetMsg(ctx, 2)
	if err != nil {
		t.Fatalf("get message 2: %v", err)
	}
	if string(msg.Data) != "order-1" {
		t.Fatalf("message 2 = %q, want order-1", msg.Data)
	}
	// And it still accepts writes after the restart.
	if _, err := js.Publish(ctx, "orders.new", []byte("after")); err != nil {
		t.Fatalf("publish after restart: %v", err)
	}
}

func TestNATSOptions(t *testing.T) {
	port := FreePort(t)
	dir := t.TempDir()
	n := NATS(t, WithDomain("hub"), WithPort(port), WithStoreDir(dir))
	if n.Opts.Port != port {
		t.Fatalf("port = %d, want %d", n.Opts.Port, port)
	}
	js, err := jetstream.New(n.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatalf("account info: %v", err)
	}
	if info.Domain != "hub" {
		t.Fatalf("domain = %q, want hub", info.Domain)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "jetstream")); err != nil {
		t.Fatalf("store dir not used: %v", err)
	}
}

func TestPostgresGivesSeparateDatabases(t *testing.T) {
	var (
		mu    sync.Mutex
		names []string
	)
	t.Run("group", func(t *testing.T) {
		for _, sub := range []string{"a", "b"} {
			t.Run(sub, func(t *testing.T) {
				t.Parallel()
				pool := Postgres(t)
				ctx := context.Background()
				var name string
				if err := pool.QueryRow(ctx, "select current_database()").Scan(&name); err != nil {
					t.Fatal(err)
				}
				// Same table name in both: it only works if the databases differ.
				if _, err := pool.Exec(ctx, "create table t (v text)"); err != nil {
					t.Fatalf("create table: %v", err)
				}
				if _, err := pool.Exec(ctx, "insert into t values ($1)", sub); err != nil {
					t.Fatal(err)
				}
				var n int
				if err := pool.QueryRow(ctx, "select count(*) from t").Scan(&n); err != nil || n != 1 {
					t.Fatalf("count = %d, %v; want 1 row of our own", n, err)
				}
				mu.Lock()
				names = append(names, name)
				mu.Unlock()
			})
		}
	})
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases = %v, want two different ones", names)
	}

	// Both subtests have finished, so their databases must be gone.
	adminURL := os.Getenv(DatabaseURLEnv)
	if adminURL == "" {
		adminURL = DefaultDatabaseURL
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var left int
	if err := conn.QueryRow(ctx, "select count(*) from pg_database where datname = any($1)", names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d test databases not dropped", left)
	}
}

func TestPostgresURLIsUsable(t *testing.T) {
	u := PostgresURL(t)
	if !strings.Contains(u, "copnet_test_") {
		t.Fatalf("URL %q does not name a test database", u)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v", one, err)
	}
}

func TestWithDatabase(t *testing.T) {
	got, err := withDatabase("postgres://u:p@h:1/postgres?sslmode=disable", "x")
	if err != nil || got != "postgres://u:p@h:1/x?sslmode=disable" {
		t.Fatalf("URL form: %q, %v", got, err)
	}
	got, err = withDatabase("host=h user=u dbname=postgres", "x")
	if err != nil || got != "host=h user=u dbname=postgres dbname=x" {
		t.Fatalf("keyword form: %q, %v", got, err)
	}
	if cfg, err := pgconn.ParseConfig(got); err != nil || cfg.Database != "x" {
		t.Fatalf("keyword form does not select the new database: %v", err)
	}
	if r := redact("postgres://u:secret@h:1/db"); strings.Contains(r, "secret") {
		t.Fatalf("redact leaked password: %s", r)
	}
	if r := redact("host=h port=1 password=secret"); strings.Contains(r, "secret") {
		t.Fatalf("redact leaked password: %s", r)
	}
}

// recordingTB observes failures that would otherwise end the real test.
type recordingTB struct {
	testing.TB
	failed bool
	msg    string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = fmt.Sprintf(format, args...)
}

func TestEventuallyFailsOnTimeout(t *testing.T) {
	rec := &recordingTB{TB: t}
	calls := 0
	start := time.Now()
	Eventually(rec, 100*time.Millisecond, func() error {
		calls++
		return errors.New("queue still empty")
	})
	if !rec.failed {
		t.Fatal("Eventually did not fail on timeout")
	}
	if !strings.Contains(rec.msg, "queue still empty") {
		t.Fatalf("failure %q does not carry the last error", rec.msg)
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond || elapsed > 2*time.Second {
		t.Fatalf("gave up after %s, want about 100ms", elapsed)
	}
	if calls < 2 {
		t.Fatalf("condition polled %d times, want several", calls)
	}

	rec = &recordingTB{TB: t}
	EventuallyTrue(rec, 50*time.Millisecond, func() bool { return false }, "leader elected")
	if !rec.failed || !strings.Contains(rec.msg, "leader elected") {
		t.Fatalf("EventuallyTrue failure = %v %q", rec.failed, rec.msg)
	}
}

func TestEventuallySucceeds(t *testing.T) {
	rec := &recordingTB{TB: t}
	calls := 0
	Eventually(rec, 5*time.Second, func() error {
		calls++
		if calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if rec.failed || calls != 3 {
		t.Fatalf("failed=%v calls=%d, want success on third call", rec.failed, calls)
	}
}

func TestFreePort(t *testing.T) {
	p := FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d from FreePort not bindable: %v", p, err)
	}
	_ = l.Close()
}

func TestPostgresUnreachableFailsWithAdvice(t *testing.T) {
	port := FreePort(t) // nothing listens there
	t.Setenv(DatabaseURLEnv, fmt.Sprintf("postgres://postgres:hunter2@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port))
	rec := &recordingTB{TB: t}
	if u := PostgresURL(rec); u != "" {
		t.Fatalf("got URL %q from an unreachable server", u)
	}
	if !rec.failed {
		t.Fatal("PostgresURL did not fail")
	}
	for _, want := range []string{"Start PostgreSQL", DatabaseURLEnv} {
		if !strings.Contains(rec.msg, want) {
			t.Fatalf("failure %q lacks %q", rec.msg, want)
		}
	}
	if strings.Contains(rec.msg, "hunter2") {
		t.Fatalf("failure leaks the password: %s", rec.msg)
	}
}
