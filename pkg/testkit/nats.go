package testkit

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// readyTimeout bounds how long a freshly started server may take to accept
// clients; JetStream recovery of a small test store is well below it.
const readyTimeout = 10 * time.Second

// NATSOption adjusts the options of the server started by NATS.
type NATSOption func(*server.Options)

// WithDomain sets the JetStream domain, for tests of domain-qualified APIs
// such as leaf-node topologies.
func WithDomain(d string) NATSOption {
	return func(o *server.Options) { o.JetStreamDomain = d }
}

// WithStoreDir places the JetStream store in dir instead of a fresh
// t.TempDir(), so a test can inspect it or hand it to a second server.
func WithStoreDir(dir string) NATSOption {
	return func(o *server.Options) { o.StoreDir = dir }
}

// WithPort listens on a fixed client port instead of a random one.
func WithPort(p int) NATSOption {
	return func(o *server.Options) { o.Port = p }
}

// NATSServer is an embedded nats-server owned by one test.
//
// Server and Opts are replaced by Restart, so read them afresh after a
// restart instead of keeping copies.
type NATSServer struct {
	// Server is the running server.
	Server *server.Server
	// Opts are the options Server runs with; Port holds the resolved port.
	Opts *server.Options

	// base is kept unmutated because the server writes the resolved port
	// back into the options it was given.
	base *server.Options
}

// NATS starts an in-process nats-server with JetStream on 127.0.0.1 and a
// random port, storing JetStream data in t.TempDir(). It is shut down when
// the test ends.
func NATS(t testing.TB, opts ...NATSOption) *NATSServer {
	t.Helper()
	base := &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		NoLog:     true,
		NoSigs:    true,
	}
	for _, opt := range opts {
		opt(base)
	}
	if base.StoreDir == "" {
		base.StoreDir = t.TempDir()
	}
	n := &NATSServer{base: base}
	srv, o, err := startNATS(base.Clone())
	if err != nil {
		t.Fatalf("testkit: %v", err)
		return nil
	}
	n.Server, n.Opts = srv, o
	// Registered after t.TempDir so it runs first: the store must be closed
	// before the directory is removed.
	t.Cleanup(func() {
		n.Server.Shutdown()
		n.Server.WaitForShutdown()
	})
	return n
}

// URL returns the client URL, e.g. nats://127.0.0.1:34567. It stays the same
// across Restart.
func (n *NATSServer) URL() string {
	return fmt.Sprintf("nats://%s:%d", n.Opts.Host, n.Opts.Port)
}

// Connect opens a client connection that keeps reconnecting forever, so it
// survives Restart, and closes it when the test ends.
func (n *NATSServer) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.URL(),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50*time.Millisecond),
		nats.ReconnectJitter(0, 0),
	)
	if err != nil {
		t.Fatalf("testkit: connect to %s: %v", n.URL(), err)
		return nil
	}
	t.Cleanup(nc.Close)
	return nc
}

// Restart shuts the server down and starts a new one on the same port with
// the same JetStream store, as a crash-and-recover of the broker would.
// Streams and their messages survive; reconnecting clients come back.
//
// As with a real broker failure, a message or request sent around the
// restart can vanish without an error: a client may write to its old
// connection before noticing it is gone. Code under test must retry on
// timeout, and tests should give each attempt its own short deadline
// (e.g. inside Eventually) rather than one long one.
func (n *NATSServer) Restart(t testing.TB) {
	t.Helper()
	n.Stop(t)
	n.Start(t)
}

// Stop shuts the server down, as a broker outage would; Start brings it back on the same
// port with the same store. Clients keep reconnecting in between.
func (n *NATSServer) Stop(t testing.TB) {
	t.Helper()
	n.Server.Shutdown()
	n.Server.WaitForShutdown()
}

// Start restarts a stopped server on its old port and JetStream store.
func (n *NATSServer) Start(t testing.TB) {
	t.Helper()
	port := n.Opts.Port
	o := n.base.Clone()
	o.Port = port
	if err := waitPortFree(o.Host, port, 5*time.Second); err != nil {
		t.Fatalf("testkit: start: %v", err)
		return
	}
	srv, o, err := startNATS(o)
	if err != nil {
		t.Fatalf("testkit: start: %v", err)
		return
	}
	n.Server, n.Opts = srv, o
}

// startNATS starts a server from o and waits until it accepts clients.
func startNATS(o *server.Options) (*server.Server, *server.Options, error) {
	srv, err := server.NewServer(o)
	if err != nil {
		return nil, nil, fmt.Errorf("create nats server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		// nats-server only logs a failed listen (and we run without a
		// logger), so not becoming ready is the only signal we get.
		return nil, nil, fmt.Errorf("nats server on %s:%d not ready within %s", o.Host, o.Port, readyTimeout)
	}
	return srv, o, nil
}

// waitPortFree waits until host:port can be bound again. Go sets
// SO_REUSEADDR, so TIME_WAIT does not block us, but the old listener's close
// may still be in flight right after WaitForShutdown.
func waitPortFree(host string, port int, timeout time.Duration) error {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("port %s still in use: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
