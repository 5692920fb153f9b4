package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/cmd/copnet/broker"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/testkit"
)

func start(t *testing.T, topo broker.Topology) *broker.Embedded {
	t.Helper()
	topo.StoreDir = t.TempDir()
	topo.AppUser, topo.AppPassword = "copnet", "pw-"+topo.NodeID
	e, err := broker.Start(topo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	return e
}

func provision(t *testing.T, e *broker.Embedded, node string) *bus.Bus {
	t.Helper()
	b, err := bus.New(bus.Config{NodeID: node}, e.Connector())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Provision(); err != nil {
		t.Fatal(err)
	}
	return b
}

func js(t *testing.T, b *bus.Bus) nats.JetStreamContext {
	t.Helper()
	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	j, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// A child registered at run time (no restart of the parent) is sourced into the parent's
// stream, backlog included, and its leaf credentials cannot write into the parent's subjects.
func TestChildRegisteredAtRunTimeIsSourced(t *testing.T) {
	leafPort := testkit.FreePort(t)
	national := start(t, broker.Topology{NodeID: "national", LeafListen: fmt.Sprintf("127.0.0.1:%d", leafPort)})
	nb := provision(t, national, "national")

	child := broker.Child{ID: "vic", LeafPassword: "secret-vic"}
	vic := start(t, broker.Topology{NodeID: "vic",
		ParentLeafURL: fmt.Sprintf("nats-leaf://%s:%s@127.0.0.1:%d", child.LeafUser(), child.LeafPassword, leafPort)})
	vb := provision(t, vic, "vic")
	vjs := js(t, vb)
	for i := range 5 {
		if _, err := vjs.Publish("cop.vic.registry.region_created", []byte(fmt.Sprint(i)), nats.MsgId(fmt.Sprint("backlog-", i))); err != nil {
			t.Fatal(err)
		}
	}

	if err := national.SetChildren([]broker.Child{child}); err != nil {
		t.Fatal(err)
	}
	// The child's leaf was refused until now and redials on its own. A source set up before
	// the link is back fails once and the server then backs off for 10 s, 20 s, ... (nats-server
	// calculateRetryBackoff), so the catch-up is asserted from a connected link.
	testkit.Eventually(t, 30*time.Second, func() error {
		if n := national.Server().NumLeafNodes(); n != 1 {
			return fmt.Errorf("national has %d leaf connections, want vic's", n)
		}
		return nil
	})
	njs := js(t, nb)
	cfg := nb.StreamConfig()
	cfg.Sources = []*nats.StreamSource{{Name: "COPNET", OptStartSeq: 1,
		External: &nats.ExternalStream{APIPrefix: "$JS.vic.API", DeliverPrefix: "deliver.vic"}}}
	if _, err := njs.UpdateStream(cfg); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		info, err := njs.StreamInfo("COPNET")
		if err != nil {
			return err
		}
		if info.State.Msgs != 5 {
			return fmt.Errorf("national holds %d of vic's 5 events", info.State.Msgs)
		}
		return nil
	})
}

// Re-applying the same children (the federation component does so every second) leaves the
// server's configuration alone; a new child reloads it.
func TestSetChildrenReloadsOnlyOnChange(t *testing.T) {
	e := start(t, broker.Topology{NodeID: "national", LeafListen: fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))})
	vic := broker.Child{ID: "vic", LeafPassword: "pw"}
	if err := e.SetChildren([]broker.Child{vic}); err != nil {
		t.Fatal(err)
	}
	loaded := e.Server().ConfigTime()
	if err := e.SetChildren([]broker.Child{vic}); err != nil {
		t.Fatal(err)
	}
	if !e.Server().ConfigTime().Equal(loaded) {
		t.Fatal("the same children reloaded the server")
	}
	if err := e.SetChildren([]broker.Child{vic, {ID: "wa", LeafPassword: "pw2"}}); err != nil {
		t.Fatal(err)
	}
	if e.Server().ConfigTime().Equal(loaded) {
		t.Fatal("a new child did not reload the server")
	}
}
