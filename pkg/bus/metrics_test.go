package bus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// TestBacklogCountsWhatIsNotDoneYet: outbox rows not forwarded, events a stopped durable
// consumer has not been delivered, and parked dead letters, each counted exactly.
func TestBacklogCountsWhatIsNotDoneYet(t *testing.T) {
	e := newEnv(t)
	pool := e.service("registry")
	e.bus.WatchOutbox("registry", pool)
	ctx := context.Background()

	e.publish(ctx, pool, events.RegionCreated{RegionID: "vic", Name: "Victoria"}, events.RegionCreated{RegionID: "wa", Name: "Western Australia"})
	bl, err := e.bus.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bl.Outbox["registry"] != 2 {
		t.Errorf("outbox backlog = %d, want 2 (nothing forwarded yet)", bl.Outbox["registry"])
	}

	// A consumer that dead-letters every event, then stops: what arrives after it is its lag.
	consumer := e.service("consumer")
	r, err := e.bus.NewRouter("consumer", consumer)
	if err != nil {
		t.Fatal(err)
	}
	durable := bus.DurableName("consumer_on_region_created")
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		return bus.Permanent(errBoom)
	})
	run := e.start(r)
	e.forward("registry", pool)
	e.waitDeadLetters(2)
	testkit.Eventually(t, waitFor, func() error {
		bl, err := e.bus.Backlog(ctx)
		if err != nil {
			return err
		}
		if bl.Outbox["registry"] != 0 || bl.DeadLetters != 2 || bl.Consumers[durable] != 0 {
			return fmt.Errorf("backlog %+v, want outbox 0, 2 dead letters, consumer caught up", bl)
		}
		return nil
	})
	if err := run.stop(t); err != nil {
		t.Fatal(err)
	}
	// The router has returned, but the server may still count its push subscription as
	// bound for a moment and deliver to it (which is not lag): wait until nobody is.
	testkit.Eventually(t, waitFor, func() error {
		info, err := e.js.ConsumerInfo(bus.DefaultStream, durable)
		if err == nil && info.PushBound {
			err = fmt.Errorf("consumer %s is still bound to a subscription", durable)
		}
		return err
	})
	ceType := events.RegionCreated{}.EventName().Type()
	for range 3 {
		e.rawPublish(regionSubject, envelopeHeader(events.NewID(), ceType, node), `{"region_id":"tas","name":"Tasmania"}`)
	}
	bl, err = e.bus.Backlog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if bl.Consumers[durable] != 3 {
		t.Errorf("lag of %s = %d, want 3", durable, bl.Consumers[durable])
	}
}
