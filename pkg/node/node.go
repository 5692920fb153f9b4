// Package node runs copnet services as one deployment: it opens each service's database
// schema and applies its migrations, prepares the outbox, mounts the routes on one HTTP
// server with authentication, runs the consumers and outbox forwarders, and stops cleanly.
// The all-in-one binary and each split service's main use the same code.
package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/postgres"
	"github.com/copnet/copnet/pkg/telemetry"
)

// Deps is what a service's composition root receives.
type Deps struct {
	NodeID string
	// Tier is national, regional or local: where this node stands in the federation tree.
	Tier   string
	Pool   *pgxpool.Pool
	Bus    *bus.Bus
	Logger *slog.Logger
	// Now is the service's clock; tests inject one to move consent windows and terms.
	Now func() time.Time
	// Verifier checks bearer tokens, for services that take a token other than from the
	// Authorization header (the console's sign-in cookie).
	Verifier httpx.Verifier
}

// Service is a running copnet service.
type Service interface {
	// Register mounts the service's HTTP routes.
	Register(mux *http.ServeMux)
	// Run consumes events until ctx ends. A service without consumers just waits.
	Run(ctx context.Context) error
}

// Factory describes a service: its name (also its database schema), its migrations, and
// its composition root.
type Factory struct {
	Name       string
	Migrations fs.FS
	New        func(ctx context.Context, d Deps) (Service, error)
	// Settings is the zero value of the service's own environment settings (envconfig
	// tags), beyond config.Base; deployment tests check compose files against it.
	Settings any
}

// Config is one node's runtime settings.
type Config struct {
	NodeID      string
	Tier        string
	DatabaseURL string
	HTTP        httpx.ServerConfig
	Verifier    httpx.Verifier
	Bus         *bus.Bus
	Metrics     http.Handler
	Logger      *slog.Logger
	// Now is the clock services see (default time.Now).
	Now func() time.Time
	// OnReady, when set, is called once the HTTP address is listening.
	OnReady func(addr net.Addr)
}

// Node is a set of services started together.
type Node struct {
	cfg      Config
	services []started
	health   *nats.Conn
	handler  http.Handler
}

type started struct {
	name string
	pool *pgxpool.Pool
	svc  Service
}

// Start prepares every service: schema, migrations, outbox tables, composition root.
func Start(ctx context.Context, cfg Config, factories ...Factory) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := &Node{cfg: cfg}
	if err := cfg.Bus.Provision(); err != nil {
		return nil, fmt.Errorf("provision streams: %w", err)
	}
	for _, f := range factories {
		pool, err := postgres.Open(ctx, cfg.DatabaseURL, f.Name)
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		n.services = append(n.services, started{name: f.Name, pool: pool})
		if err := postgres.Migrate(ctx, pool, f.Migrations); err != nil {
			n.Close()
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if err := cfg.Bus.InitOutbox(pool); err != nil {
			n.Close()
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		svc, err := f.New(ctx, Deps{NodeID: cfg.NodeID, Tier: cfg.Tier, Pool: pool, Bus: cfg.Bus, Logger: cfg.Logger.With("service", f.Name), Now: cfg.Now, Verifier: cfg.Verifier})
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		n.services[len(n.services)-1].svc = svc
	}
	health, err := cfg.Bus.Connect("copnet-health")
	if err != nil {
		n.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	n.health = health
	n.handler = n.buildHandler()
	return n, nil
}

func (n *Node) buildHandler() http.Handler {
	mux := http.NewServeMux()
	for _, s := range n.services {
		s.svc.Register(mux)
	}
	registerOps(mux, n.cfg.Bus)
	checks := []httpx.Check{{Name: "nats", Probe: func(context.Context) error {
		if !n.health.IsConnected() {
			return fmt.Errorf("nats: %s", n.health.Status())
		}
		return nil
	}}, {Name: "consumers", Probe: func(context.Context) error { return n.cfg.Bus.ConsumersReady() }}}
	for _, s := range n.services {
		checks = append(checks, httpx.Check{Name: "postgres:" + s.name, Probe: s.pool.Ping})
	}
	app := telemetry.CountUnauthorized(mux, httpx.Authenticate(n.cfg.Verifier)(mux))
	return httpx.NewHandler(n.cfg.HTTP, app, n.cfg.Metrics, checks)
}

// Handler is the node's whole HTTP surface, probes included.
func (n *Node) Handler() http.Handler { return n.handler }

// Pool returns the database pool of the named service, for tests and tools.
func (n *Node) Pool(service string) *pgxpool.Pool {
	for _, s := range n.services {
		if s.name == service {
			return s.pool
		}
	}
	return nil
}

// Run serves HTTP on ln and runs every service's consumers and outbox forwarder until ctx
// ends, then shuts everything down, letting in-flight requests and messages finish.
func (n *Node) Run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2*len(n.services)+1)
	spawn := func(what string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", what, err)
				cancel()
			}
		}()
	}
	for _, s := range n.services {
		s := s
		spawn(s.name+" consumers", s.svc.Run)
		spawn(s.name+" outbox", func(ctx context.Context) error { return n.cfg.Bus.RunForwarder(ctx, s.name, s.pool) })
	}
	srv := httpx.NewServer(n.cfg.HTTP, n.handler)
	spawn("http", func(ctx context.Context) error { return httpx.Serve(ctx, srv, ln, n.cfg.HTTP.ShutdownTimeout) })
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// Close releases the pools and connections. Call it after Run returns.
func (n *Node) Close() {
	for _, s := range n.services {
		s.pool.Close()
	}
	if n.health != nil {
		n.health.Close()
	}
}
