package bus_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
)

// The forwarder child: this test binary, run again with these settings, is nothing but a
// registry's outbox forwarder, so that a test can kill -9 it mid-batch.
const (
	childForwarder = "COPNET_TEST_FORWARDER_CHILD"
	childPG        = "COPNET_TEST_FORWARDER_PG"
	childNATS      = "COPNET_TEST_FORWARDER_NATS"
)

func TestMain(m *testing.M) {
	if os.Getenv(childForwarder) != "" {
		os.Exit(runForwarderChild())
	}
	os.Exit(m.Run())
}

func runForwarderChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := bus.New(bus.Config{NodeID: node, Logger: log}, bus.URLConnector(os.Getenv(childNATS)))
	if err != nil {
		log.Error("child bus", "error", err)
		return 1
	}
	pool, err := postgres.Open(ctx, os.Getenv(childPG), "registry")
	if err != nil {
		log.Error("child pool", "error", err)
		return 1
	}
	if err := b.RunForwarder(ctx, "registry", pool); err != nil {
		log.Error("child forwarder", "error", err)
		return 1
	}
	return 0
}

// TestForwarderKilledMidBatchStoresEachEventOnce kills the batching forwarder the hard way
// after JetStream stored a whole batch but before the batch was marked forwarded (the
// moment a crash costs most): the next forwarder sends the batch again, and the stream
// still holds every committed event exactly once.
//
// The moment is made, not waited for: a trigger on the forwarded-position row makes
// "mark forwarded" wait for an advisory lock the test holds, so the child is killed
// while its batch is stored in JetStream and not yet marked in PostgreSQL.
func TestForwarderKilledMidBatchStoresEachEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the forwarder as a process and kills it")
	}
	e := newEnv(t)
	pool := e.service("registry")
	ctx := context.Background()
	const total = 700 // more than two batches
	evs := make([]events.Event, total)
	for i := range evs {
		evs[i] = events.RegionCreated{RegionID: fmt.Sprintf("r%d", i), Name: fmt.Sprintf("Region %d", i)}
	}
	e.publish(ctx, pool, evs...)

	hold, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Release()
	if _, err := hold.Exec(ctx, "SELECT pg_advisory_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CREATE FUNCTION hold_forwarded() RETURNS trigger LANGUAGE plpgsql AS
		$$ BEGIN PERFORM pg_advisory_xact_lock(4242); RETURN NEW; END $$;
		CREATE TRIGGER hold_forwarded BEFORE UPDATE ON watermill_offsets_outbox
		FOR EACH ROW EXECUTE FUNCTION hold_forwarded()`); err != nil {
		t.Fatal(err)
	}

	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childForwarder+"=1", childPG+"="+e.pgURL, childNATS+"="+e.ns.URL())
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if child.ProcessState == nil {
			_ = child.Process.Kill()
			_ = child.Wait()
		}
	})
	// The first batch is stored and its "mark forwarded" waits on the test's lock.
	testkit.Eventually(t, waitFor, func() error {
		if n := streamMsgs(t, e.js); n != 256 {
			return fmt.Errorf("stream holds %d events, want the first batch of 256", n)
		}
		if n := count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND wait_event = 'advisory'`); n != 1 {
			return fmt.Errorf("%d forwarders wait to mark their batch forwarded", n)
		}
		return nil
	})
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if _, err := hold.Exec(ctx, "SELECT pg_advisory_unlock(4242)"); err != nil {
		t.Fatal(err)
	}
	// (Dropping the trigger waits for the killed forwarder's transaction to end.)
	if _, err := pool.Exec(ctx, "DROP TRIGGER hold_forwarded ON watermill_offsets_outbox"); err != nil {
		t.Fatal(err)
	}
	// The killed forwarder's transaction ends without a commit: nothing is marked
	// forwarded, though JetStream holds the whole first batch.
	testkit.Eventually(t, waitFor, func() error {
		if n := count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle'`); n > 0 {
			return fmt.Errorf("%d sessions still busy", n)
		}
		return nil
	})
	if n := count(t, pool, `SELECT count(*) FROM watermill_outbox m, watermill_offsets_outbox o
		WHERE o.consumer_group = '' AND m."offset" <= o.offset_acked`); n != 0 {
		t.Fatalf("%d rows marked forwarded by a forwarder killed before its commit", n)
	}

	e.forward("registry", pool)
	testkit.Eventually(t, waitFor, func() error {
		if n := count(t, pool, `SELECT count(*) FROM watermill_outbox m, watermill_offsets_outbox o
			WHERE o.consumer_group = '' AND m."offset" > o.offset_acked`); n != 0 {
			return fmt.Errorf("%d rows not forwarded yet", n)
		}
		return nil
	})
	if n := streamMsgs(t, e.js); n != total {
		t.Fatalf("stream holds %d events, want each of the %d once", n, total)
	}
	seen := map[string]bool{}
	for seq := uint64(1); seq <= total; seq++ {
		m, err := e.js.GetMsg(bus.DefaultStream, seq)
		if err != nil {
			t.Fatalf("read event %d: %v", seq, err)
		}
		id := m.Header.Get(nats.MsgIdHdr)
		if seen[id] {
			t.Fatalf("event %s stored twice", id)
		}
		seen[id] = true
	}
}

func streamMsgs(t *testing.T, js nats.JetStreamContext) uint64 {
	t.Helper()
	info, err := js.StreamInfo(bus.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
