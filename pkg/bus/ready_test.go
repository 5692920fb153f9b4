package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// A node is not ready until its consumers are subscribed, and a broker that is down while
// they subscribe only delays them: the router waits for it instead of failing.
func TestConsumersReadyOnlyOnceSubscribedEvenAcrossABrokerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: stops and restarts the NATS server")
	}
	e := newEnv(t)
	pool := e.service("ready")
	r, err := e.bus.NewRouter("ready", pool)
	if err != nil {
		t.Fatal(err)
	}
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		return recordRegion(ctx, tx, "ready", ev, env)
	})
	if err := e.bus.ConsumersReady(); err == nil || !strings.Contains(err.Error(), "ready") {
		t.Fatalf("a router not yet running counts as ready: %v", err)
	}

	e.ns.Stop(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := e.bus.ConsumersReady(); err == nil {
		t.Fatal("ready while the broker is down")
	}
	e.ns.Start(t)
	testkit.Eventually(t, 30*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("router gave up while the broker was down: %v", err)
		default:
		}
		return e.bus.ConsumersReady()
	})
}
