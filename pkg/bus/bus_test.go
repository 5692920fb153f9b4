package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/oklog/ulid/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/correlation"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/testkit"
)

// The outbox must put the whole envelope on the wire: consumers dedupe by ce-id, check
// ce-source against the subject, and continue the producer's trace and correlation id.
func TestOutboxDeliversCommittedEventWithEnvelope(t *testing.T) {
	e := newEnv(t)
	pool := e.service("registry")
	e.forward("registry", pool)

	// traceparent is part of the envelope contract, so the bus writes it with the W3C
	// propagator itself: a process that configured no global propagator (the no-op one
	// here) must still put it on the wire.
	noGlobalPropagator(t)
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	ctx, span := tp.Tracer("bus_test").Start(context.Background(), "create region")
	ctx = correlation.With(ctx, "corr-outbox-1")
	before := time.Now()
	e.publish(ctx, pool, events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	after := time.Now()
	span.End()

	var raw *nats.RawStreamMsg
	testkit.Eventually(t, waitFor, func() error {
		var err error
		raw, err = e.js.GetLastMsg(bus.DefaultStream, regionSubject)
		return err
	})

	h := raw.Header
	id := h.Get(events.HeaderID)
	if _, err := ulid.ParseStrict(id); err != nil {
		t.Errorf("ce-id %q is not a ULID: %v", id, err)
	}
	if got := h.Get(nats.MsgIdHdr); got != id {
		t.Errorf("Nats-Msg-Id = %q, want ce-id %q (broker dedupe keys on it)", got, id)
	}
	if got := h.Get(events.HeaderType); got != "registry.region_created.v1" {
		t.Errorf("ce-type = %q", got)
	}
	if got, want := h.Get(events.HeaderSource), "urn:copnet:node:"+node; got != want {
		t.Errorf("ce-source = %q, want %q", got, want)
	}
	at, err := time.Parse(time.RFC3339Nano, h.Get(events.HeaderTime))
	if err != nil {
		t.Errorf("ce-time %q: %v", h.Get(events.HeaderTime), err)
	} else if at.Before(before.Add(-time.Second)) || at.After(after.Add(time.Second)) {
		t.Errorf("ce-time %s is not the publish time (%s..%s)", at, before, after)
	}
	if got := h.Get(events.HeaderCorrelationID); got != "corr-outbox-1" {
		t.Errorf("correlation_id = %q, want corr-outbox-1", got)
	}
	sc := span.SpanContext()
	wantTP := fmt.Sprintf("00-%s-%s-01", sc.TraceID(), sc.SpanID())
	if got := h.Get(events.HeaderTraceParent); got != wantTP {
		t.Errorf("traceparent = %q, want %q", got, wantTP)
	}
	if string(raw.Data) != `{"region_id":"vic","name":"Victoria"}` {
		t.Errorf("payload = %s", raw.Data)
	}
}

// noGlobalPropagator installs otel's do-nothing propagator for the test, restoring the
// previous one after.
func noGlobalPropagator(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })
}

// A handler runs on the producer's trace and correlation id, so what it logs and the
// events it publishes in turn stay on them.
func TestHandlerContinuesTraceAndCorrelation(t *testing.T) {
	e := newEnv(t)
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")
	noGlobalPropagator(t)
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	type seen struct {
		trace       oteltrace.SpanContext
		correlation string
	}
	got := make(chan seen, 1)
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		got <- seen{trace: oteltrace.SpanContextFromContext(ctx), correlation: correlation.ID(ctx)}
		return nil
	})
	e.start(r)

	ctx, span := tp.Tracer("bus_test").Start(context.Background(), "create region")
	ctx = correlation.With(ctx, "corr-consume-1")
	e.publish(ctx, registry, events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	span.End()

	var s seen
	testkit.Eventually(t, waitFor, func() error {
		select {
		case s = <-got:
			return nil
		default:
			return errors.New("handler not called yet")
		}
	})
	if s.trace.TraceID() != span.SpanContext().TraceID() {
		t.Errorf("handler trace %s, want the producer's %s", s.trace.TraceID(), span.SpanContext().TraceID())
	}
	if s.correlation != "corr-consume-1" {
		t.Errorf("handler correlation id %q, want corr-consume-1", s.correlation)
	}
}

// No dual writes: an event whose transaction rolls back must never reach the broker.
func TestOutboxDropsEventOfRolledBackTx(t *testing.T) {
	e := newEnv(t)
	pool := e.service("registry")
	e.forward("registry", pool)
	ctx := context.Background()

	errAbort := errors.New("state change failed")
	err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error {
		if err := e.bus.Outbox().Publish(ctx, tx, events.RegionCreated{RegionID: "ghost", Name: "Ghost"}); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("tx = %v, want the abort", err)
	}
	// The forwarder drains the outbox in order, so once this later event is in the stream
	// the rolled-back one would be there too, had it been written.
	e.publish(ctx, pool, events.RegionCreated{RegionID: "vic", Name: "Victoria"})

	testkit.Eventually(t, waitFor, func() error {
		info, err := e.js.StreamInfo(bus.DefaultStream)
		if err != nil {
			return err
		}
		if info.State.Msgs == 0 {
			return errors.New("stream still empty")
		}
		return nil
	})
	info, err := e.js.StreamInfo(bus.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("stream holds %d messages, want only the committed one", info.State.Msgs)
	}
	raw, err := e.js.GetMsg(bus.DefaultStream, info.State.LastSeq)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw.Data), `"vic"`) {
		t.Fatalf("stream holds %s, want the committed vic event", raw.Data)
	}
}

// The forwarder re-drives a row until JetStream has it, so the same message can be
// published more than once; the broker must store it once.
func TestPublisherDedupesByMessageUUID(t *testing.T) {
	e := newEnv(t)
	pub, err := e.bus.NewPublisher("dedupe-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pub.Close() })

	msg, err := e.bus.NewMessage(context.Background(), events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		// Copy: a re-drive reads the row afresh, it does not reuse the Go value.
		if err := pub.Publish(regionSubject, msg.Copy()); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	other, err := e.bus.NewMessage(context.Background(), events.RegionCreated{RegionID: "tas", Name: "Tasmania"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(regionSubject, other); err != nil {
		t.Fatal(err)
	}

	info, err := e.js.StreamInfo(bus.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages, want 2 (one per distinct UUID)", info.State.Msgs)
	}
	first, err := e.js.GetMsg(bus.DefaultStream, info.State.FirstSeq)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.Header.Get(nats.MsgIdHdr); got != msg.UUID {
		t.Fatalf("Nats-Msg-Id = %q, want the message UUID %q", got, msg.UUID)
	}
}

// Redelivery after the broker's dedupe window (same ce-id, new Nats-Msg-Id) is normal; the
// consumer's processed_events must make it a no-op.
func TestRedeliveredEventIsAppliedOnce(t *testing.T) {
	e := newEnv(t)
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")

	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		calls.Add(1)
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	})
	e.start(r)
	durable := bus.DurableName("consumer_on_region_created")

	e.publish(context.Background(), registry, events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	waitRows(t, pool, "vic", 1)

	orig, err := e.js.GetLastMsg(bus.DefaultStream, regionSubject)
	if err != nil {
		t.Fatal(err)
	}
	id := orig.Header.Get(events.HeaderID)
	h := nats.Header{}
	for k, v := range orig.Header {
		h[k] = v
	}
	h.Set(nats.MsgIdHdr, events.NewID()) // past the dedupe window the broker stores it again
	seq := e.rawPublish(regionSubject, h, string(orig.Data))
	e.waitAcked(durable, seq)

	if n := count(t, pool, "SELECT count(*) FROM applied WHERE event_id = $1", id); n != 1 {
		t.Errorf("applied rows for %s = %d, want 1", id, n)
	}
	if n := count(t, pool, "SELECT count(*) FROM processed_events WHERE handler = $1 AND event_id = $2", durable, id); n != 1 {
		t.Errorf("processed_events rows for %s = %d, want 1", id, n)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// A payload that breaks its schema and an event under a forged origin can never succeed:
// both are parked at once with their reason, and the consumer carries on behind them.
func TestDeadLettersBadMessagesAndMovesOn(t *testing.T) {
	e := newEnv(t)
	pool := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		calls.Add(1)
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	})
	e.start(r)
	durable := bus.DurableName("consumer_on_region_created")
	ceType := events.RegionCreated{}.EventName().Type()

	// Published with nats.go, without watermill's UUID header, as a producer outside this
	// process (or a buggy one) would.
	badID, forgedID, goodID := events.NewID(), events.NewID(), events.NewID()
	e.rawPublish(regionSubject, envelopeHeader(badID, ceType, node), `{"region_id":"vic"}`)
	e.rawPublish(regionSubject, envelopeHeader(forgedID, ceType, "vic"), `{"region_id":"vic","name":"Victoria"}`)
	// Two different messages without any id: each is parked, not merged into one.
	for _, region := range []string{"vic", "wa"} {
		h := envelopeHeader("", ceType, node)
		h.Del(events.HeaderID)
		e.rawPublish(regionSubject, h, `{"region_id":"`+region+`","name":"No id"}`)
	}
	goodSeq := e.rawPublish(regionSubject, envelopeHeader(goodID, ceType, node), `{"region_id":"tas","name":"Tasmania"}`)

	waitRows(t, pool, "tas", 1)
	e.waitAcked(durable, goodSeq)
	dls := e.waitDeadLetters(4)
	noID := 0
	for _, dl := range dls {
		if dl.EventID == "" && strings.Contains(dl.Reason, events.HeaderID) {
			noID++
		}
	}
	if noID != 2 {
		t.Errorf("%d dead letters for the two messages without ce-id, want 2: %+v", noID, dls)
	}

	bad := deadLetterFor(t, dls, badID)
	if !strings.Contains(bad.Reason, "schema") {
		t.Errorf("schema dead letter reason %q does not mention the schema", bad.Reason)
	}
	if bad.Handler != durable || bad.Delivered != 1 || bad.Subject != regionSubject ||
		bad.EventType != ceType || bad.Source != node || bad.Payload != `{"region_id":"vic"}` {
		t.Errorf("schema dead letter = %+v", bad)
	}
	forged := deadLetterFor(t, dls, forgedID)
	if !strings.Contains(forged.Reason, "ce-source") || forged.Handler != durable || forged.Source != "vic" {
		t.Errorf("forged-origin dead letter = %+v", forged)
	}
	if n := count(t, pool, "SELECT count(*) FROM applied WHERE region_id IN ('vic', 'wa')"); n != 0 {
		t.Errorf("%d rows applied from rejected messages", n)
	}
	// Rejected before the handler: no retry can mend them, so none is spent.
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1 (only the valid event)", n)
	}
}

// A handler that keeps failing is retried, then parked so the consumer moves on; once the
// cause is fixed an operator replays it, which applies it and clears the dead letter.
func TestFailingHandlerDeadLetteredThenReplayed(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out every retry before the dead letter")
	}
	// The retries are bounded by time too (AckWait/3): a loaded machine must not cut them
	// short here, where their count is what is checked.
	e := newEnv(t, func(c *bus.Config) { c.AckWait = 60 * time.Second })
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	var fixed atomic.Bool
	var mu sync.Mutex
	attempts := map[string]int{}
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		mu.Lock()
		attempts[ev.RegionID]++
		mu.Unlock()
		if ev.RegionID == "bad" && !fixed.Load() {
			return errBoom
		}
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	})
	e.start(r)
	durable := bus.DurableName("consumer_on_region_created")

	e.publish(context.Background(), registry, events.RegionCreated{RegionID: "bad", Name: "Bad"})
	e.publish(context.Background(), registry, events.RegionCreated{RegionID: "ok", Name: "Fine"})
	waitRows(t, pool, "ok", 1)
	dl := e.waitDeadLetters(1)[0]

	if !strings.Contains(dl.Reason, errBoom.Error()) || dl.Handler != durable || dl.Delivered != 1 || dl.Subject != regionSubject {
		t.Errorf("dead letter = %+v", dl)
	}
	mu.Lock()
	tries := attempts["bad"]
	mu.Unlock()
	if want := 1 + e.bus.Config().Retries; tries != want {
		t.Errorf("failing event tried %d times before dead-lettering, want %d", tries, want)
	}
	if n := count(t, pool, "SELECT count(*) FROM processed_events WHERE event_id = $1", dl.EventID); n != 0 {
		t.Fatalf("failed event marked processed %d times; its transaction must roll back", n)
	}

	// Replay before the fix fails and keeps the dead letter.
	if err := e.bus.Replay(context.Background(), dl.Seq); !errors.Is(err, errBoom) {
		t.Fatalf("replay before fix = %v, want %v", err, errBoom)
	}
	if dls := e.waitDeadLetters(1); dls[0].Seq != dl.Seq {
		t.Fatalf("dead letters after failed replay = %+v", dls)
	}

	fixed.Store(true)
	if err := e.bus.Replay(context.Background(), dl.Seq); err != nil {
		t.Fatalf("replay after fix: %v", err)
	}
	waitRows(t, pool, "bad", 1)
	if n := count(t, pool, "SELECT count(*) FROM processed_events WHERE handler = $1 AND event_id = $2", durable, dl.EventID); n != 1 {
		t.Errorf("replayed event recorded %d times, want 1", n)
	}
	if dls, err := e.bus.DeadLetters(context.Background(), 100); err != nil || len(dls) != 0 {
		t.Errorf("dead letters after replay = %+v, %v; want none", dls, err)
	}
	if err := e.bus.Replay(context.Background(), dl.Seq); !errors.Is(err, bus.ErrNoSuchDeadLetter) {
		t.Errorf("second replay = %v, want ErrNoSuchDeadLetter", err)
	}
}

// A panic in a handler is an ordinary failure: dead-lettered, and the process (and the
// consumer) keep going. The same holds when an operator replays it.
func TestPanickingHandlerIsDeadLettered(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: waits out every retry before the dead letter")
	}
	e := newEnv(t)
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	var fixed atomic.Bool
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		if ev.RegionID == "boom" && !fixed.Load() {
			panic("nil map in region projection")
		}
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	})
	e.start(r)

	e.publish(context.Background(), registry, events.RegionCreated{RegionID: "boom", Name: "Boom"})
	e.publish(context.Background(), registry, events.RegionCreated{RegionID: "after", Name: "After"})
	waitRows(t, pool, "after", 1)
	dl := e.waitDeadLetters(1)[0]
	if !strings.Contains(dl.Reason, "panic") || !strings.Contains(dl.Reason, "nil map in region projection") {
		t.Errorf("dead letter reason %q does not report the panic", dl.Reason)
	}

	// An operator replaying it while the bug is still there gets an error, not a crash.
	if err := e.bus.Replay(context.Background(), dl.Seq); err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("replay of panicking handler = %v, want an error reporting the panic", err)
	}
	if dls := e.waitDeadLetters(1); dls[0].Seq != dl.Seq {
		t.Fatalf("dead letters after failed replay = %+v", dls)
	}
	fixed.Store(true)
	if err := e.bus.Replay(context.Background(), dl.Seq); err != nil {
		t.Fatalf("replay after fix: %v", err)
	}
	waitRows(t, pool, "boom", 1)
}

// Our code owns durable consumers: a router stopping must leave its consumer in place, so a
// restart resumes where it left off instead of replaying the stream.
func TestDurableConsumerSurvivesRouterStop(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: stops and restarts a router")
	}
	e := newEnv(t)
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")
	durable := bus.DurableName("consumer_on_region_created")
	ctx := context.Background()

	var calls atomic.Int32
	handle := func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		calls.Add(1)
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	}
	r1, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	bus.Handle(r1, "on_region_created", handle)
	run1 := e.start(r1)
	e.publish(ctx, registry, events.RegionCreated{RegionID: "r1", Name: "One"})
	waitRows(t, pool, "r1", 1)
	before, err := e.js.ConsumerInfo(bus.DefaultStream, durable)
	if err != nil {
		t.Fatal(err)
	}

	if err := run1.stop(t); err != nil {
		t.Fatalf("router 1 Run: %v", err)
	}
	if _, err := e.js.ConsumerInfo(bus.DefaultStream, durable); err != nil {
		t.Fatalf("durable consumer gone after the router stopped: %v", err)
	}

	// Published while no router runs.
	e.publish(ctx, registry, events.RegionCreated{RegionID: "r2", Name: "Two"})
	e.publish(ctx, registry, events.RegionCreated{RegionID: "r3", Name: "Three"})
	testkit.Eventually(t, waitFor, func() error {
		info, err := e.js.StreamInfo(bus.DefaultStream)
		if err != nil {
			return err
		}
		if info.State.Msgs != 3 {
			return fmt.Errorf("stream holds %d messages, want 3", info.State.Msgs)
		}
		return nil
	})
	if n := count(t, pool, "SELECT count(*) FROM applied WHERE region_id IN ('r2', 'r3')"); n != 0 {
		t.Fatalf("%d events applied while the router was stopped", n)
	}

	r2, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	bus.Handle(r2, "on_region_created", handle)
	e.start(r2)
	waitRows(t, pool, "r2", 1)
	waitRows(t, pool, "r3", 1)
	e.waitAcked(durable, 3)

	if n := count(t, pool, "SELECT count(*) FROM applied"); n != 3 {
		t.Errorf("applied rows = %d, want 3", n)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
	after, err := e.js.ConsumerInfo(bus.DefaultStream, durable)
	if err != nil {
		t.Fatal(err)
	}
	// processed_events would hide a replay from the table, so look at the consumer itself:
	// a recreated one would have a new creation time and would have delivered r1 again.
	if !after.Created.Equal(before.Created) {
		t.Errorf("durable consumer was recreated (created %s, was %s)", after.Created, before.Created)
	}
	if after.Delivered.Consumer != 3 || after.NumRedelivered != 0 {
		t.Errorf("consumer delivered %d (%d redelivered), want 3 deliveries and no redelivery",
			after.Delivered.Consumer, after.NumRedelivered)
	}
}

// Two projections in one service may react to the same event; each has its own durable
// consumer and must see every event, not share them.
func TestTwoHandlersOfOneEventEachSeeEveryEvent(t *testing.T) {
	e := newEnv(t)
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"project_regions", "audit_regions"} {
		bus.Handle(r, name, func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
			return recordRegion(ctx, tx, name, ev, env)
		})
	}
	e.start(r)

	regions := []string{"vic", "tas", "nsw", "qld"}
	for _, id := range regions {
		e.publish(context.Background(), registry, events.RegionCreated{RegionID: id, Name: strings.ToUpper(id)})
	}
	for _, name := range []string{"project_regions", "audit_regions"} {
		testkit.Eventually(t, waitFor, func() error {
			if n := count(t, pool, "SELECT count(DISTINCT region_id) FROM applied WHERE handler = $1", name); n != len(regions) {
				return fmt.Errorf("handler %s applied %d of %d events", name, n, len(regions))
			}
			return nil
		})
		if _, err := e.js.ConsumerInfo(bus.DefaultStream, bus.DurableName("consumer_"+name)); err != nil {
			t.Errorf("durable of %s: %v", name, err)
		}
	}
	if n := count(t, pool, "SELECT count(*) FROM applied"); n != 2*len(regions) {
		t.Errorf("applied rows = %d, want %d", n, 2*len(regions))
	}
}

func TestConfigValidate(t *testing.T) {
	valid := func() bus.Config {
		c := bus.Config{NodeID: "vic-metro_1"}
		c.SetDefaults()
		return c
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*bus.Config)
		want   string
	}{
		{"empty node", func(c *bus.Config) { c.NodeID = "" }, "node id"},
		{"dot splits the subject token", func(c *bus.Config) { c.NodeID = "vic.metro" }, "node id"},
		{"wildcard", func(c *bus.Config) { c.NodeID = "*" }, "node id"},
		{"upper case", func(c *bus.Config) { c.NodeID = "Vic" }, "node id"},
		{"MaxDeliver equal to back-off steps", func(c *bus.Config) {
			c.Backoff = []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
			c.MaxDeliver = 3
		}, "MaxDeliver"},
		{"MaxDeliver below back-off steps", func(c *bus.Config) { c.MaxDeliver = 1 }, "MaxDeliver"},
		{"negative retries", func(c *bus.Config) { c.Retries = -1 }, "Retries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error about %s", err, tc.want)
			}
			if _, err := bus.New(c, nil); err == nil {
				t.Fatal("bus.New accepted an invalid config")
			}
		})
	}
	// Exactly one delivery more than back-off steps is the least JetStream accepts.
	c := valid()
	c.Backoff = []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}
	c.MaxDeliver = 4
	if err := c.Validate(); err != nil {
		t.Fatalf("MaxDeliver one above back-off steps rejected: %v", err)
	}
	// Both problems are reported at once.
	c.NodeID, c.MaxDeliver = "", 1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "node id") || !strings.Contains(err.Error(), "MaxDeliver") {
		t.Fatalf("Validate = %v, want both problems", err)
	}
}

// The subscriber naks with the first back-off step, so an explicitly empty back-off (as a
// config loader may produce) must take the defaults rather than leave nothing to index.
func TestEmptyBackoffTakesDefaults(t *testing.T) {
	e := newEnv(t, func(c *bus.Config) { c.Backoff = []time.Duration{} })
	if bo := e.bus.Config().Backoff; len(bo) == 0 || bo[0] != e.bus.Config().AckWait {
		t.Fatalf("Backoff after defaults = %v, want the default steps from AckWait", bo)
	}
	pool := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	})
	e.start(r)
	e.rawPublish(regionSubject, envelopeHeader(events.NewID(), "registry.region_created.v1", node), `{"region_id":"vic","name":"Victoria"}`)
	waitRows(t, pool, "vic", 1)
}

// Stopping a service (SIGTERM on deploy) must let an event already in its handler finish
// and commit, not cancel it halfway: the design's graceful shutdown drains in-flight work.
func TestRouterStopLetsInFlightHandlerFinish(t *testing.T) {
	e := newEnv(t)
	pool := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		calls.Add(1)
		close(entered)
		<-release
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	})
	run := e.start(r)
	durable := bus.DurableName("consumer_on_region_created")
	seq := e.rawPublish(regionSubject, envelopeHeader(events.NewID(), "registry.region_created.v1", node), `{"region_id":"vic","name":"Victoria"}`)
	<-entered

	stopped := make(chan error, 1)
	go func() { stopped <- run.stop(t) }()
	// Once the subscription's interest is gone the stop is under way; only then may the
	// handler go on, so it runs into whatever the stop did to its context.
	testkit.Eventually(t, waitFor, func() error {
		info, err := e.js.ConsumerInfo(bus.DefaultStream, durable)
		if err != nil {
			return err
		}
		if info.PushBound {
			return errors.New("subscription still bound")
		}
		return nil
	})
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}

	if n := count(t, pool, "SELECT count(*) FROM applied WHERE region_id = 'vic'"); n != 1 {
		t.Fatalf("in-flight event applied %d times by the stopping router, want 1", n)
	}
	info, err := e.js.ConsumerInfo(bus.DefaultStream, durable)
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream < seq || info.NumAckPending != 0 {
		t.Errorf("in-flight event not acked before the router stopped: ack floor %d, %d pending", info.AckFloor.Stream, info.NumAckPending)
	}
	if dls, err := e.bus.DeadLetters(context.Background(), 10); err != nil || len(dls) != 0 {
		t.Errorf("dead letters = %+v, %v; want none", dls, err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

// Stopping a router while a backlog streams in must lose nothing, park nothing and not
// crash (watermill-nats can send on its closed channel when stopped mid-delivery): a new
// router applies the rest, each event once.
func TestRouterStopMidStreamLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: streams a backlog through router stops")
	}
	// Deliveries cut off by a stop come back after a back-off step; keep them short.
	e := newEnv(t, func(c *bus.Config) {
		c.AckWait = time.Second
		c.Backoff = []time.Duration{time.Second}
	})
	pool := e.service("consumer")
	const total = 200
	for i := range total {
		e.rawPublish(regionSubject, envelopeHeader(events.NewID(), "registry.region_created.v1", node),
			fmt.Sprintf(`{"region_id":"r%d","name":"Region %d"}`, i, i))
	}
	newRouter := func() *bus.Router {
		r, err := e.bus.NewRouter("consumer", pool)
		if err != nil {
			t.Fatal(err)
		}
		bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
			return recordRegion(ctx, tx, "on_region_created", ev, env)
		})
		return r
	}
	applied := func() int { return count(t, pool, "SELECT count(*) FROM applied") }

	// Several stops while deliveries are in full flow.
	for range 3 {
		before := applied()
		run := e.start(newRouter())
		testkit.Eventually(t, waitFor, func() error {
			if n := applied(); n == before && n < total {
				return fmt.Errorf("no progress past %d events", n)
			}
			return nil
		})
		if err := run.stop(t); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
	e.start(newRouter())
	testkit.Eventually(t, waitFor, func() error {
		if n := count(t, pool, "SELECT count(DISTINCT event_id) FROM applied"); n != total {
			return fmt.Errorf("%d of %d events applied", n, total)
		}
		return nil
	})
	if n := applied(); n != total {
		t.Errorf("applied rows = %d, want %d (each event once)", n, total)
	}
	if dls, err := e.bus.DeadLetters(context.Background(), 10); err != nil || len(dls) != 0 {
		t.Errorf("dead letters = %+v, %v; want none", dls, err)
	}
}

// A broker restart only delays events: the forwarder re-drives what it could not publish
// and the router's subscription comes back by itself on the reconnected connection.
func TestBrokerRestartOnlyDelaysEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: restarts the NATS server")
	}
	e := newEnv(t)
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		return recordRegion(ctx, tx, "on_region_created", ev, env)
	})
	e.start(r)
	ctx := context.Background()

	e.publish(ctx, registry, events.RegionCreated{RegionID: "before", Name: "Before"})
	waitRows(t, pool, "before", 1)

	e.ns.Restart(t)
	// Committed while the bus's connections are still finding the new server.
	e.publish(ctx, registry, events.RegionCreated{RegionID: "during", Name: "During"})
	waitRows(t, pool, "during", 1)
	e.publish(ctx, registry, events.RegionCreated{RegionID: "after", Name: "After"})
	waitRows(t, pool, "after", 1)

	if n := count(t, pool, "SELECT count(*) FROM applied"); n != 3 {
		t.Errorf("applied rows = %d, want 3", n)
	}
}
