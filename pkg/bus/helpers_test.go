package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
)

// node is the origin token every test bus publishes under.
const node = "national"

// waitFor bounds every poll. It is generous because -race on two cores slows JetStream and
// PostgreSQL round trips by an order of magnitude; a passing run never waits for it.
const waitFor = 30 * time.Second

// regionSubject is where this node's RegionCreated events live.
var regionSubject = events.RegionCreated{}.EventName().Subject(node)

// testLogger sends bus logs to the test log until the test ends. Routers and forwarders may
// still log while they shut down in cleanups; t.Log would panic then, so late lines are
// dropped instead.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	// Registered before anything that logs, so it runs after all of their cleanups.
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.done = true
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// env is one node's worth of real infrastructure: an embedded JetStream server, a fresh
// PostgreSQL database and a provisioned bus.
type env struct {
	t     *testing.T
	ns    *testkit.NATSServer
	js    nats.JetStreamContext
	bus   *bus.Bus
	pgURL string
}

func newEnv(t *testing.T, mutate ...func(*bus.Config)) *env {
	t.Helper()
	log := testLogger(t)
	ns := testkit.NATS(t)
	cfg := bus.Config{
		NodeID: node,
		// Long enough that no test sees a JetStream redelivery it did not cause: the
		// in-process retries (50+100+200ms) must fit in AckWait/3.
		AckWait: 5 * time.Second,
		Logger:  log,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := bus.New(cfg, bus.URLConnector(ns.URL()))
	if err != nil {
		t.Fatalf("bus.New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if err := b.Provision(); err != nil {
		t.Fatalf("provision: %v", err)
	}
	js, err := ns.Connect(t).JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ns: ns, js: js, bus: b, pgURL: testkit.PostgresURL(t)}
}

// appliedDDL is a projection with deliberately no unique key: only processed_events can
// stop a redelivered event from adding a second row.
const appliedDDL = `CREATE TABLE applied (
	handler text NOT NULL,
	event_id text NOT NULL,
	region_id text NOT NULL,
	correlation_id text NOT NULL DEFAULT '')`

// service opens a pool confined to schema, migrates it and creates its outbox tables, the
// way a service starts.
func (e *env) service(schema string) *pgxpool.Pool {
	e.t.Helper()
	ctx := context.Background()
	pool, err := postgres.Open(ctx, e.pgURL, schema)
	if err != nil {
		e.t.Fatalf("open %s: %v", schema, err)
	}
	e.t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool, fstest.MapFS{
		"001_applied.sql": {Data: []byte(appliedDDL)},
	}); err != nil {
		e.t.Fatalf("migrate %s: %v", schema, err)
	}
	if err := e.bus.InitOutbox(pool); err != nil {
		e.t.Fatalf("init outbox %s: %v", schema, err)
	}
	return pool
}

// forward runs the outbox forwarder of pool until the test ends.
func (e *env) forward(name string, pool *pgxpool.Pool) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.bus.RunForwarder(ctx, name, pool) }()
	e.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// publish commits evs through the outbox in one transaction.
func (e *env) publish(ctx context.Context, pool *pgxpool.Pool, evs ...events.Event) {
	e.t.Helper()
	if err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error {
		return e.bus.Outbox().Publish(ctx, tx, evs...)
	}); err != nil {
		e.t.Fatalf("publish: %v", err)
	}
}

// running is a router started by start; stop ends it and waits for Run to return.
type running struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		r.err = <-r.done
	})
	return r.err
}

// start runs r until the test ends (or stop), returning once every handler is subscribed.
func (e *env) start(r *bus.Router) *running {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { run.done <- r.Run(ctx) }()
	e.t.Cleanup(func() { _ = run.stop(e.t) })
	select {
	case <-r.Running():
	case err := <-run.done:
		e.t.Fatalf("router stopped before running: %v", err)
	}
	return run
}

// recordRegion is a handler body: one row per applied event.
func recordRegion(ctx context.Context, tx pgx.Tx, handler string, ev events.RegionCreated, env events.Envelope) error {
	_, err := tx.Exec(ctx, "INSERT INTO applied(handler, event_id, region_id, correlation_id) VALUES ($1, $2, $3, $4)",
		handler, env.ID, ev.RegionID, env.CorrelationID)
	return err
}

// count runs a counting query.
func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// waitRows waits until the applied table holds want rows for region.
func waitRows(t *testing.T, pool *pgxpool.Pool, region string, want int) {
	t.Helper()
	testkit.Eventually(t, waitFor, func() error {
		if n := count(t, pool, "SELECT count(*) FROM applied WHERE region_id = $1", region); n != want {
			return fmt.Errorf("applied rows for %s = %d, want %d", region, n, want)
		}
		return nil
	})
}

// envelopeHeader builds the headers a well-behaved producer at origin would send, for
// messages tests publish with nats.go directly (as a foreign or buggy producer would).
func envelopeHeader(id, ceType, origin string) nats.Header {
	h := nats.Header{}
	for k, v := range (events.Envelope{ID: id, Type: ceType, Source: origin, Time: time.Now()}).Metadata() {
		h.Set(k, v)
	}
	return h
}

// rawPublish stores a message in JetStream through nats.go and returns its stream sequence.
func (e *env) rawPublish(subject string, h nats.Header, payload string, opts ...nats.PubOpt) uint64 {
	e.t.Helper()
	m := nats.NewMsg(subject)
	m.Header = h
	m.Data = []byte(payload)
	ack, err := e.js.PublishMsg(m, opts...)
	if err != nil {
		e.t.Fatalf("publish to %s: %v", subject, err)
	}
	if ack.Duplicate {
		e.t.Fatalf("publish to %s was taken as a duplicate", subject)
	}
	return ack.Sequence
}

// waitAcked waits until durable has acknowledged every message up to stream sequence seq:
// then the handler has seen it, whatever it did with it.
func (e *env) waitAcked(durable string, seq uint64) {
	e.t.Helper()
	testkit.Eventually(e.t, waitFor, func() error {
		info, err := e.js.ConsumerInfo(bus.DefaultStream, durable)
		if err != nil {
			return err
		}
		if info.AckFloor.Stream < seq {
			return fmt.Errorf("%s ack floor at stream seq %d, want %d", durable, info.AckFloor.Stream, seq)
		}
		return nil
	})
}

// waitDeadLetters waits until the dead-letter stream lists want entries.
func (e *env) waitDeadLetters(want int) []bus.DeadLetter {
	e.t.Helper()
	var dls []bus.DeadLetter
	testkit.Eventually(e.t, waitFor, func() error {
		var err error
		dls, err = e.bus.DeadLetters(context.Background(), 100)
		if err != nil {
			return err
		}
		if len(dls) != want {
			return fmt.Errorf("%d dead letters, want %d: %+v", len(dls), want, dls)
		}
		return nil
	})
	return dls
}

// deadLetterFor finds the dead letter of event id.
func deadLetterFor(t *testing.T, dls []bus.DeadLetter, id string) bus.DeadLetter {
	t.Helper()
	for _, dl := range dls {
		if dl.EventID == id {
			return dl
		}
	}
	t.Fatalf("no dead letter for event %s in %+v", id, dls)
	return bus.DeadLetter{}
}

// errBoom is what the failing test handlers return.
var errBoom = errors.New("region service unavailable")
