package bus_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/postgres"
)

// An app's On<Event> method holds no transaction: the repository it calls joins the
// consumer's through ctx. A failure after the repository wrote therefore undoes the write
// together with the processed id, and the retry applies the event exactly once. Were the
// repository's write its own transaction, the failed attempt's row would stay (two rows).
func TestOnJoinsTheConsumersTransaction(t *testing.T) {
	e := newEnv(t)
	registry := e.service("registry")
	e.forward("registry", registry)
	pool := e.service("consumer")

	r, err := e.bus.NewRouter("consumer", pool)
	if err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	bus.On(r, "on_region_created", func(ctx context.Context, ev events.RegionCreated, env events.Envelope) error {
		if _, ok := postgres.TxFrom(ctx); !ok {
			return errors.New("ctx carries no transaction")
		}
		// What a repository does: its own postgres.Tx on the pool, with the handler's ctx.
		err := postgres.Tx(ctx, pool, func(tx pgx.Tx) error {
			return recordRegion(ctx, tx, "on_region_created", ev, env)
		})
		if err != nil {
			return err
		}
		if attempts.Add(1) == 1 {
			return errors.New("fails once, after the write")
		}
		return nil
	})
	e.start(r)

	e.publish(context.Background(), registry, events.RegionCreated{RegionID: "vic", Name: "Victoria"})
	waitRows(t, pool, "vic", 1)
	e.waitAcked(bus.DurableName("consumer_on_region_created"), 1)
	if n := attempts.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2 (a failure, then the retry)", n)
	}
	if n := count(t, pool, "SELECT count(*) FROM applied WHERE region_id = 'vic'"); n != 1 {
		t.Errorf("applied rows = %d, want 1: the failed attempt's write must roll back with it", n)
	}
}
