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
	// The forwarder's first poll finds nothing and then waits; give it a commit to wake
	// it twice, so a wake-up lost before the listener was up cannot hide the test's point.
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
