package pgcluster

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// reachableTempDir returns a t.TempDir() the postgres system user can
// enter: testing creates it (and its parent) mode 0700, which is exactly the
// situation Start rejects when running as root.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func startCluster(t *testing.T, dir string) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{Dir: dir, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	// Safety net if the test fails midway; Stop is idempotent.
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("cleanup Stop: %v", err)
		}
	})
	return c
}

func connect(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect %s: %v", c.URL(), err)
	}
	return conn
}

func stop(t *testing.T, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestStartStopRestartKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: initdb and start a PostgreSQL cluster")
	}
	t.Parallel()
	dir := filepath.Join(reachableTempDir(t), "postgres")
	ctx := context.Background()

	c := startCluster(t, dir)
	if !strings.Contains(c.URL(), "host=") || strings.Contains(c.URL(), "127.0.0.1") {
		t.Fatalf("URL %s should name a unix socket directory", c.URL())
	}
	conn := connect(t, c)
	var one int
	if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v", one, err)
	}
	var listen string
	if err := conn.QueryRow(ctx, "show listen_addresses").Scan(&listen); err != nil || listen != "" {
		t.Fatalf("listen_addresses = %q, %v; want empty (no TCP)", listen, err)
	}
	if _, err := conn.Exec(ctx, "create table kept (v text); insert into kept values ('survives')"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	_ = conn.Close(ctx)
	stop(t, c)
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	c2 := startCluster(t, dir)
	conn = connect(t, c2)
	var v string
	if err := conn.QueryRow(ctx, "select v from kept").Scan(&v); err != nil || v != "survives" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	_ = conn.Close(ctx)

	// A server left running (copnet killed without Stop) is taken over.
	c3 := startCluster(t, dir)
	conn = connect(t, c3)
	if err := conn.QueryRow(ctx, "select v from kept").Scan(&v); err != nil || v != "survives" {
		t.Fatalf("after taking over a running server: %q, %v", v, err)
	}
	_ = conn.Close(ctx)
	// c2's handle is stale: stopping it must not take c3's server down.
	stop(t, c2)
	conn = connect(t, c3)
	_ = conn.Close(ctx)
	stop(t, c3)

	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid still present after Stop: %v", err)
	}
}

func TestLongDirUsesShortSocketDir(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: initdb and start a PostgreSQL cluster")
	}
	t.Parallel()
	dir := filepath.Join(reachableTempDir(t), strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	c := startCluster(t, dir)
	if len(c.sockDir) > maxSocketPath || c.sockDir == dir {
		t.Fatalf("socket dir %s not shortened", c.sockDir)
	}
	t.Cleanup(func() { _ = os.RemoveAll(c.sockDir) })
	conn := connect(t, c)
	_ = conn.Close(context.Background())
	stop(t, c)
}

func TestFindBinariesBogusDir(t *testing.T) {
	_, err := FindBinaries(filepath.Join(t.TempDir(), "no-postgres-here"))
	if err == nil {
		t.Fatal("FindBinaries accepted a directory without PostgreSQL")
	}
	if !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "install") {
		t.Fatalf("error %q should say how to install PostgreSQL or set DATABASE_URL", err)
	}
}

func TestFindBinariesDiscovers(t *testing.T) {
	dir, err := FindBinaries("")
	if err != nil {
		t.Fatalf("FindBinaries: %v", err)
	}
	if missing := missingBinaries(dir); len(missing) > 0 {
		t.Fatalf("%s lacks %v", dir, missing)
	}
}

func TestCompareVersionDirs(t *testing.T) {
	if compareVersionDirs("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/9.6/bin") <= 0 {
		t.Fatal("15 should sort above 9.6")
	}
	if compareVersionDirs("/usr/pgsql-16/bin", "/usr/pgsql-15/bin") <= 0 {
		t.Fatal("16 should sort above 15")
	}
}

func TestCheckTraversableRejectsClosedParent(t *testing.T) {
	base := reachableTempDir(t)
	closed := filepath.Join(base, "closed")
	data := filepath.Join(closed, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	// An account that owns nothing here and shares no group with it, so the
	// outcome does not depend on who runs the test.
	stranger := &account{name: "stranger", uid: 4000000001, gid: 4000000001}
	// Start checks the data directory's parent; the data directory itself
	// is chowned to the server's user afterwards.
	err := checkTraversable(filepath.Dir(data), stranger)
	if err == nil || !strings.Contains(err.Error(), closed+" ") || !strings.Contains(err.Error(), "not searchable") {
		t.Fatalf("err = %v, want %s reported as not searchable", err, closed)
	}
	if err := os.Chmod(closed, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := checkTraversable(closed, stranger); err != nil {
		t.Fatalf("after chmod o+x: %v", err)
	}
}

func TestStartAsRootRejectsUnreachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		// Without root there is no user switch and thus nothing to reject;
		// the check itself is covered by TestCheckTraversableRejectsClosedParent.
		return
	}
	dir := filepath.Join(t.TempDir(), "postgres") // parents are 0700 root
	_, err := Start(context.Background(), Config{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("err = %v, want advice about an unreachable data directory", err)
	}
}
