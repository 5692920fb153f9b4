package tests

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/cmd/copnet/broker"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/federation"
	"github.com/copnet/copnet/services/registry"
)

// fedNode is one node of a test federation: an embedded NATS server with its topology
// (restartable on the same ports and store), the registry and the federation component on
// their own database, and a probe consumer recording what reaches the node's projections.
type fedNode struct {
	t      *testing.T
	id     string
	base   string
	mu     sync.Mutex
	topo   broker.Topology
	broker *broker.Embedded
	probe  *probe
}

// natsURL connects as the node's services do, over the loopback client port.
func (n *fedNode) natsURL() string {
	return fmt.Sprintf("nats://%s:%s@%s", n.topo.AppUser, n.topo.AppPassword, n.topo.ClientListen)
}

// SetChildren implements federation.Accounts and remembers the children, so a restarted
// server comes back with them.
func (n *fedNode) SetChildren(children []broker.Child) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.broker.SetChildren(children); err != nil {
		return err
	}
	n.topo.Children = children
	return nil
}

func loopback(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t)) }

// startFedNode boots a node. parentLeaf is the leaf URL its parent handed out ("" for the
// national node); withLeaf opens a leaf port for children.
func startFedNode(t *testing.T, id, tier, parentLeaf string, withLeaf bool, extra ...node.Factory) *fedNode {
	t.Helper()
	n := &fedNode{t: t, id: id, topo: broker.Topology{
		NodeID: id, StoreDir: t.TempDir(), ClientListen: loopback(t), ParentLeafURL: parentLeaf,
		AppUser: "copnet", AppPassword: "pw-" + id,
	}}
	if withLeaf {
		n.topo.LeafListen = loopback(t)
	}
	n.startBroker()
	t.Cleanup(func() { n.broker.Shutdown() })

	ctx, cancel := context.WithCancel(context.Background())
	b, err := bus.New(bus.Config{NodeID: id, AckWait: 5 * time.Second}, bus.URLConnector(n.natsURL()))
	if err != nil {
		t.Fatal(err)
	}
	fed := federation.Factory(federation.Config{NodeID: id, Tier: tier, LeafAdvertise: n.topo.LeafListen, Accounts: n,
		StallAfter: 2 * time.Second, CheckEvery: 500 * time.Millisecond})
	dbURL := testkit.PostgresURL(t)
	nd, err := node.Start(ctx, node.Config{NodeID: id, Tier: tier, DatabaseURL: dbURL, Bus: b,
		HTTP: httpx.ServerConfig{Addr: "127.0.0.1:0"}, Secret: []byte(secret)},
		append([]node.Factory{registry.Factory, fed}, extra...)...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ln, err := httpx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- nd.Run(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; nd.Close(); b.Close() })
	n.base = "http://" + ln.Addr().String()
	n.probe = startProbe(t, ctx, id, n.natsURL(), dbURL)
	return n
}

func (n *fedNode) startBroker() {
	n.t.Helper()
	e, err := broker.Start(n.topo)
	if err != nil {
		n.t.Fatal(err)
	}
	n.broker = e
}

// restartBroker stops the node's NATS server and starts it again on the same ports and
// store, as a crash of the broker would; the services reconnect.
func (n *fedNode) restartBroker() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.broker.Shutdown()
	n.startBroker()
}

// register asks this node to accept child id and returns the leaf URL the child dials.
func (n *fedNode) register(child, tier string) string {
	n.t.Helper()
	st, body := call(n.t, "POST", n.base+"/v1/nodes", token(n.t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}),
		map[string]string{"id": child, "tier": tier, "parent": n.id})
	if st != http.StatusCreated {
		n.t.Fatalf("register %s at %s: %d %v", child, n.id, st, body)
	}
	return body["leaf_url"].(string)
}

// links reads GET /v1/federation.
func (n *fedNode) links() map[string]map[string]any {
	n.t.Helper()
	st, body := call(n.t, "GET", n.base+"/v1/federation", token(n.t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}), nil)
	if st != http.StatusOK {
		n.t.Fatalf("federation health at %s: %d %v", n.id, st, body)
	}
	out := map[string]map[string]any{}
	for _, l := range body["links"].([]any) {
		m := l.(map[string]any)
		out[m["child"].(string)] = m
	}
	return out
}

// produce publishes count region_created events at this node, as its registry would.
func (n *fedNode) produce(prefix string, count int) {
	n.t.Helper()
	pub, err := n.probe.bus.NewPublisher("produce")
	if err != nil {
		n.t.Fatal(err)
	}
	defer pub.Close()
	for i := range count {
		msg, err := n.probe.bus.NewMessage(context.Background(), events.RegionCreated{RegionID: fmt.Sprintf("%s-%04d", prefix, i), Name: "r"})
		if err != nil {
			n.t.Fatal(err)
		}
		if err := pub.Publish(events.RegionCreated{}.EventName().Subject(n.id), msg); err != nil {
			n.t.Fatalf("publish at %s: %v", n.id, err)
		}
	}
}

// js opens a JetStream context on the node as its services see it.
func (n *fedNode) js() nats.JetStreamContext {
	n.t.Helper()
	nc, err := nats.Connect(n.natsURL())
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(nc.Close)
	j, err := nc.JetStream()
	if err != nil {
		n.t.Fatal(err)
	}
	return j
}

// newLeafProxy relays a child's leaf link so the test can cut it (a partition).
func newLeafProxy(t *testing.T, target string) *testkit.Proxy {
	t.Helper()
	p, err := testkit.NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Cut)
	return p
}

// viaProxy rewrites a leaf URL to dial the proxy instead of the parent.
func viaProxy(leafURL, parentLeaf, proxy string) string {
	return strings.Replace(leafURL, parentLeaf, proxy, 1)
}
