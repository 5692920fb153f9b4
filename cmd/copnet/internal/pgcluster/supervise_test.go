//go:build linux

package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/testkit"
)

// holdDown kills the postmaster so that it cannot come back until release is called: one of
// its children, stopped, cannot notice its parent's death and keeps the old shared memory
// attached, which PostgreSQL refuses to start over. The outage is then a state the test
// observes rather than a moment it races. The postmaster's pid is returned.
func holdDown(t *testing.T, c *Cluster) (pid int, release func()) {
	t.Helper()
	pid = c.postmaster()
	child := testkit.ChildProcess(t, pid)
	if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	release = func() { _ = syscall.Kill(child, syscall.SIGKILL) }
	t.Cleanup(release)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return pid, release
}

// TestKilledPostmasterIsRestarted: kill -9 of the postmaster (the OOM killer, an operator's
// mistake) brings PostgreSQL back on the same socket, by itself, with every committed row.
func TestKilledPostmasterIsRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: initdb, start and kill a PostgreSQL cluster")
	}
	t.Parallel()
	dir := filepath.Join(reachableTempDir(t), "postgres")
	c := startCluster(t, dir)
	ctx := context.Background()
	conn := connect(t, c)
	if _, err := conn.Exec(ctx, "create table kept (v text); insert into kept values ('committed before the crash')"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)

	old, release := holdDown(t, c)
	testkit.Eventually(t, time.Minute, func() error {
		if processAlive(old) {
			return fmt.Errorf("postmaster %d still alive", old)
		}
		return nil
	})
	// Down: refused at once, not hung, and not restarted behind the held shared memory.
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(cctx, c.URL()); err == nil {
		_ = conn.Close(ctx)
		t.Fatal("connected while the postmaster was dead and could not restart")
	}
	if n := c.Restarts(); n != 0 {
		t.Fatalf("restarted %d times while the old shared memory was held", n)
	}

	release()
	testkit.Eventually(t, time.Minute, func() error {
		if n := c.Restarts(); n != 1 {
			return fmt.Errorf("%d restarts", n)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(cctx, c.URL())
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var v string
		if err := conn.QueryRow(cctx, "select v from kept").Scan(&v); err != nil || v != "committed before the crash" {
			return fmt.Errorf("after the restart: %q, %v", v, err)
		}
		return nil
	})
	if now := c.postmaster(); now == old || !processAlive(now) {
		t.Fatalf("postmaster %d after the restart (was %d)", now, old)
	}
	stop(t, c)
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("postmaster.pid still present after Stop: %v", err)
	}
}

// TestCleanStopIsNotUndone: a server stopped cleanly by someone else (pg_ctl stop, another
// copnet taking the data dir over) is theirs to restart; the supervisor does not fight it.
func TestCleanStopIsNotUndone(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: initdb, start and stop a PostgreSQL cluster")
	}
	t.Parallel()
	dir := filepath.Join(reachableTempDir(t), "postgres")
	c := startCluster(t, dir)
	if _, err := c.run(context.Background(), "pg_ctl", "stop", "-D", c.dir, "-m", "fast", "-w"); err != nil {
		t.Fatal(err)
	}
	// The supervisor gives up on a server it did not stop and did not see crash.
	testkit.Eventually(t, time.Minute, func() error {
		if c.supervising() {
			return errors.New("still supervising")
		}
		return nil
	})
	if running, err := c.running(context.Background()); err != nil || running || c.Restarts() != 0 {
		t.Fatalf("after a clean stop: running %v (%v), %d restarts", running, err, c.Restarts())
	}
	stop(t, c)
}
