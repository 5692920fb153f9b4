package broker

import (
	"fmt"
	"sort"
	"strings"

	"github.com/copnet/copnet/services/federation"
)

// Topology is everything a node's NATS server configuration depends on. The embedded
// server and the configs in deploy/nats are rendered from it, so the split deployment runs
// exactly the federation the all-in-one runs.
type Topology struct {
	// NodeID names the server and its JetStream domain.
	NodeID string
	// StoreDir keeps JetStream's file store.
	StoreDir string
	// ClientListen is host:port for clients; empty means no client port (in-process only).
	ClientListen string
	// LeafListen is host:port where child nodes connect; empty means no children.
	LeafListen string
	// ParentLeafURL connects this node to its parent as a leaf, credentials included.
	ParentLeafURL string
	// AppUser and AppPassword are the services' credentials in the COP account.
	AppUser, AppPassword string
	// Children are the nodes registered under this one, each in its own account.
	Children []Child
}

// Child is a node registered under this one. Its leaf connection lands in an account of its
// own, which exports exactly what sourcing its stream needs and nothing else: it can write
// only into its own subjects and sees no other child's traffic. The federation service
// declares it (it hands out the leaf credentials), so that it does not depend on the broker.
type Child = federation.LeafAccount

// Render writes the nats-server configuration.
func (t Topology) Render() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Rendered by copnet (cmd/copnet/broker) for node %q.", t.NodeID)
	w("server_name: %q", t.NodeID)
	if t.ClientListen != "" {
		w("listen: %q", t.ClientListen)
	}
	w("jetstream {")
	w("  store_dir: %q", t.StoreDir)
	w("  domain: %q", t.NodeID)
	w("  # an acknowledged event must survive a power cut: the outbox will not send it again")
	w("  sync_interval: always")
	w("}")
	if t.LeafListen != "" || t.ParentLeafURL != "" {
		w("leafnodes {")
		if t.ParentLeafURL != "" {
			w("  # short reconnect: a parent that restarts gets its sources back within a second")
			w("  reconnect: \"100ms\"")
		}
		if t.LeafListen != "" {
			w("  listen: %q", t.LeafListen)
			w("  # children dial exactly the leaf_url they were given (it may be a proxy or a")
			w("  # load balancer); gossiping this server's own address would bypass it")
			w("  no_advertise: true")
		}
		if t.ParentLeafURL != "" {
			w("  remotes: [ { url: %q, account: COP } ]", t.ParentLeafURL)
		}
		w("}")
	}
	children := append([]Child(nil), t.Children...)
	sort.Slice(children, func(i, j int) bool { return children[i].ID < children[j].ID })
	w("accounts {")
	w("  SYS: { users: [ { user: sys, password: %q } ] }", t.AppPassword+"-sys")
	w("  COP: {")
	w("    jetstream: enabled")
	w("    users: [ { user: %q, password: %q } ]", t.AppUser, t.AppPassword)
	if len(children) > 0 {
		w("    imports: [")
		for _, c := range children {
			a, id := c.Account(), c.ID
			w("      { service: { account: %s, subject: \"$JS.%s.API.CONSUMER.CREATE.COPNET\" } }", a, id)
			w("      { service: { account: %s, subject: \"$JS.%s.API.STREAM.INFO.COPNET\" } }", a, id)
			w("      { service: { account: %s, subject: \"$JS.%s.API.STREAM.MSG.GET.COPNET\" } }", a, id)
			w("      { stream: { account: %s, subject: \"deliver.%s.>\" } }", a, id)
			// As verified in the federation experiment: every child's flow control is
			// imported on the same subject.
			w("      { service: { account: %s, subject: \"$JS.FC.>\" } }", a)
		}
		w("    ]")
	}
	w("  }")
	for _, c := range children {
		id := c.ID
		w("  %s: {", c.Account())
		w("    users: [ { user: %q, password: %q } ]", c.LeafUser(), c.LeafPassword)
		w("    exports: [")
		w("      { service: \"$JS.%s.API.CONSUMER.CREATE.COPNET\", accounts: [COP] }", id)
		w("      { service: \"$JS.%s.API.STREAM.INFO.COPNET\", accounts: [COP] }", id)
		w("      { service: \"$JS.%s.API.STREAM.MSG.GET.COPNET\", accounts: [COP] }", id)
		w("      { stream: \"deliver.%s.>\", accounts: [COP] }", id)
		w("      { service: \"$JS.FC.>\", accounts: [COP] }")
		w("    ]")
		w("  }")
	}
	w("}")
	w("system_account: SYS")
	return b.String()
}
