package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
)

// A commit wakes the forwarder: with a poll interval of an hour, the event still reaches
// JetStream at once, so nothing but the commit notification can have moved it.
func TestCommitWakesTheForwarder(t *testing.T) {
	e := newEnv(t, func(c *bus.Config) { c.OutboxPoll = time.Hour })
	pool := e.service("registry")
	e.forward("registry", pool)
	// A commit before the forwarder listens wakes nobody (and the next poll is an hour
	// away): wait until its LISTEN is in place, as the server sees it.
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := count(t, pool, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND query = 'LISTEN "copnet_outbox_registry"'`); n == 0 {
			return fmt.Errorf("the forwarder does not listen for commits yet")
		}
		return nil
	})
	// Two commits, each waking the forwarder from its wait.
	for _, id := range []string{"first", "second"} {
		e.publish(context.Background(), pool, events.RegionCreated{RegionID: id, Name: id})
		testkit.Eventually(t, 20*time.Second, func() error {
			_, err := e.js.GetLastMsg(bus.DefaultStream, regionSubject)
			return err
		})
	}
	testkit.Eventually(t, 20*time.Second, func() error {
		info, err := e.js.StreamInfo(bus.DefaultStream)
		if err != nil {
			return err
		}
		if info.State.Msgs != 2 {
			return fmt.Errorf("stream holds %d of 2 events", info.State.Msgs)
		}
		return nil
	})
}
