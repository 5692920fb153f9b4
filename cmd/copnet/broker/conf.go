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
	// Readers are integrations that may consume the node's stream and do nothing else.
	Readers []Reader
}

// Reader is a read-only credential for an integration (a data warehouse, a CRM): a user in
// the COP account whose permissions let it read the node's stream COPNET through one durable
// consumer named after it, and nothing more. It cannot publish an event, create, change or
// delete a stream, touch the services' consumers, or listen to another client's replies.
type Reader struct {
	// Name is the integration's name: lower-case letters, digits and '-'.
	Name string
	// Password is generated when the reader is issued and kept in the data dir.
	Password string
}

// User is the NATS user name, which is also the one consumer the reader may use.
func (r Reader) User() string { return "reader-" + r.Name }

// InboxPrefix is where the reader's replies and pushed messages arrive: its own, so that it
// cannot subscribe to another client's inbox.
func (r Reader) InboxPrefix() string { return "_INBOX." + r.User() }

// ConfigEntry is the reader's entry in the users of account COP, as nats-server's
// configuration writes it: the embedded server renders it, and a split deployment's operator
// pastes it into deploy/nats/single.conf.
func (r Reader) ConfigEntry() string {
	return fmt.Sprintf("{ user: %q, password: %q, permissions: %s }", r.User(), r.Password, r.permissions())
}

// permissions is the reader's NATS authorization. JetStream's API is requests on subjects,
// so read-only is a list of exactly the API subjects consuming needs: stream info and
// message reads of COPNET, and its own consumer (created, read, pulled, acknowledged).
// Everything else — publishing to cop.>, $JS.API.STREAM.CREATE/DELETE/UPDATE/PURGE, other
// consumers — is refused by the server. The acknowledgement subjects come in both shapes:
// the server names the JetStream domain and account in them (v2) since the node has one.
func (r Reader) permissions() string {
	u := r.User()
	pub := []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO.COPNET",
		"$JS.API.STREAM.MSG.GET.COPNET",
		"$JS.API.DIRECT.GET.COPNET",
		"$JS.API.DIRECT.GET.COPNET.>",
		"$JS.API.CONSUMER.CREATE.COPNET." + u,
		"$JS.API.CONSUMER.CREATE.COPNET." + u + ".>",
		"$JS.API.CONSUMER.DURABLE.CREATE.COPNET." + u,
		"$JS.API.CONSUMER.INFO.COPNET." + u,
		"$JS.API.CONSUMER.MSG.NEXT.COPNET." + u,
		"$JS.API.CONSUMER.DELETE.COPNET." + u,
		"$JS.ACK.COPNET." + u + ".>",
		"$JS.ACK.*.*.COPNET." + u + ".>",
		"$JS.FC.COPNET." + u + ".>",
	}
	quoted := make([]string, len(pub))
	for i, s := range pub {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("{ publish: { allow: [%s] }, subscribe: { allow: [%q] } }",
		strings.Join(quoted, ", "), r.InboxPrefix()+".>")
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
	readers := append([]Reader(nil), t.Readers...)
	sort.Slice(readers, func(i, j int) bool { return readers[i].Name < readers[j].Name })
	w("    users: [")
	w("      { user: %q, password: %q }", t.AppUser, t.AppPassword)
	for _, r := range readers {
		w("      %s", r.ConfigEntry())
	}
	w("    ]")
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
