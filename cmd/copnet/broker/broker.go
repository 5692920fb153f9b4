// Package broker runs the NATS server with JetStream inside a copnet process, for the
// all-in-one binary: one node, no separate broker to install. Its configuration is rendered
// from a Topology, and child nodes can be added while it runs.
package broker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
)

// Embedded is a running in-process NATS server.
type Embedded struct {
	mu   sync.Mutex
	topo Topology
	srv  *server.Server
}

// Start runs the server and waits until it accepts connections.
func Start(topo Topology) (*Embedded, error) {
	opts, err := topo.options()
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("embedded nats: not ready after 15s (is a listen port taken?)")
	}
	return &Embedded{topo: topo, srv: srv}, nil
}

func (t Topology) options() (*server.Options, error) {
	opts := &server.Options{}
	if err := opts.ProcessConfigString(t.Render()); err != nil {
		return nil, fmt.Errorf("embedded nats config: %w", err)
	}
	opts.NoSigs = true
	opts.NoLog = true
	// With no client address the services connect in-process and no port is opened, so
	// a NATS already running on the machine is no obstacle.
	opts.DontListen = t.ClientListen == ""
	return opts, nil
}

// Connector connects services in-process to the COP account.
func (e *Embedded) Connector() bus.Connector {
	return func(name string) (*nats.Conn, error) {
		return nats.Connect("", append(bus.ReconnectOptions(name),
			nats.InProcessServer(e.srv), nats.UserInfo(e.topo.AppUser, e.topo.AppPassword))...)
	}
}

// SetChildren reconfigures the running server with this set of child accounts, without a
// restart: registering a child node must not interrupt the node's own traffic.
func (e *Embedded) SetChildren(children []Child) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	// The federation component re-applies its children every second to heal a missed
	// change; a reload when nothing changed would only churn the server.
	if sameChildren(e.topo.Children, children) {
		return nil
	}
	topo := e.topo
	topo.Children = children
	opts, err := topo.options()
	if err != nil {
		return err
	}
	if err := e.srv.ReloadOptions(opts); err != nil {
		return fmt.Errorf("embedded nats: reload: %w", err)
	}
	e.topo = topo
	return nil
}

// ClientURL is the address tools can use, or "" when no port is open.
func (e *Embedded) ClientURL() string {
	if e.topo.ClientListen == "" {
		return ""
	}
	return e.srv.ClientURL()
}

// Server exposes the server for monitoring (leaf connections).
func (e *Embedded) Server() *server.Server { return e.srv }

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// SetReaders reconfigures the running server with this set of read-only integrations,
// without a restart; a reader no longer in the set is disconnected by the server.
func (e *Embedded) SetReaders(readers []Reader) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if slices.Equal(sortedReaders(e.topo.Readers), sortedReaders(readers)) {
		return nil
	}
	topo := e.topo
	topo.Readers = readers
	opts, err := topo.options()
	if err != nil {
		return err
	}
	if err := e.srv.ReloadOptions(opts); err != nil {
		return fmt.Errorf("embedded nats: reload: %w", err)
	}
	e.topo = topo
	return nil
}

func sortedReaders(rs []Reader) []Reader {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b Reader) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func sameChildren(a, b []Child) bool {
	key := func(cs []Child) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.ID + "\x00" + c.LeafPassword
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}
