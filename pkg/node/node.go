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
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
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
	// Verifier checks access tokens, for services that take a token other than from the
	// Authorization header (the console's session cookie).
	Verifier httpx.Verifier
	// Signer issues access tokens; only the issuer (membership) uses it. Nil where the node
	// holds no secret.
	Signer *access.Signer
	// Secret is the node's secret, never stored in the database; services derive their
	// own keys from it with HKDF (feedback seals answers and keys ballots with it, so a
	// database administrator can neither read answers early nor mint ballots).
	Secret []byte
	// PublicURL is the base URL people reach this node at, for links the services hand out
	// (never a request's Host or X-Forwarded-* headers).
	PublicURL string
	// DataDir is where the node may keep files (the all-in-one's COPNET_DATA_DIR; mail
	// kept without an SMTP server). Empty for split services: "./var".
	DataDir string
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
	// Verifier replaces the node's own (an access.Verifier of the issuer's keys and the
	// revocations every service applies); leave it nil outside tests of verifiers.
	Verifier httpx.Verifier
	// IssuerURL, when set, is the base URL of the token issuer (membership) in another
	// process: its published keys are fetched from there instead of derived from Secret.
	IssuerURL string
	// Secret is the node's secret handed to services (Deps.Secret); the issuer's signing
	// key is derived from it.
	Secret  []byte
	Bus     *bus.Bus
	Metrics http.Handler
	Logger  *slog.Logger
	// Now is the clock services see (default time.Now).
	Now func() time.Time
	// PublicURL is the node's base URL for links (default: http:// and the HTTP address).
	PublicURL string
	// DataDir is handed to services (Deps.DataDir).
	DataDir string
	// OnReady, when set, is called once the HTTP address is listening.
	OnReady func(addr net.Addr)
	// DBMaxConns is every PostgreSQL connection the node may open, split across its
	// services by SplitBudget (DefaultDBMaxConns when zero).
	DBMaxConns int
}

// Node is a set of services started together.
type Node struct {
	cfg      Config
	services []started
	health   *nats.Conn
	handler  http.Handler
	signer   *access.Signer
}

type started struct {
	name string
	pool *pgxpool.Pool
	svc  Service
	// revocations applies membership.access_revoked to the service's own table.
	revocations *bus.Router
}

// Start prepares every service: schema, migrations, outbox tables, composition root.
func Start(ctx context.Context, cfg Config, factories ...Factory) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := checkSettings(factories); err != nil {
		return nil, err
	}
	if cfg.DBMaxConns == 0 {
		cfg.DBMaxConns = DefaultDBMaxConns
	}
	pools, err := SplitBudget(cfg.DBMaxConns, len(factories))
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg}
	revoked := access.NewRevocations()
	var keys access.KeySource
	if len(cfg.Secret) > 0 {
		signer, err := access.NewSigner(cfg.Secret, nil)
		if err != nil {
			return nil, err
		}
		n.signer, keys = signer, signer.Public()
	}
	if cfg.IssuerURL != "" {
		keys = &access.RemoteKeys{URL: strings.TrimRight(cfg.IssuerURL, "/") + access.JWKSPath}
	}
	if cfg.Verifier == nil {
		if keys == nil {
			return nil, errors.New("node: no secret and no issuer URL: tokens could not be verified")
		}
		cfg.Verifier = access.Verifier{Keys: keys, Revoked: revoked}
		n.cfg.Verifier = cfg.Verifier
	}
	if err := cfg.Bus.Provision(); err != nil {
		return nil, fmt.Errorf("provision streams: %w", err)
	}
	for i, f := range factories {
		pool, err := postgres.OpenLimited(ctx, cfg.DatabaseURL, f.Name, pools[i])
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
		if n.services[len(n.services)-1].revocations, err = applyRevocations(ctx, cfg.Bus, f.Name, pool, revoked); err != nil {
			n.Close()
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		svc, err := f.New(ctx, Deps{NodeID: cfg.NodeID, Tier: cfg.Tier, Pool: pool, Bus: cfg.Bus, Logger: cfg.Logger.With("service", f.Name), Now: cfg.Now, Verifier: cfg.Verifier, Signer: n.signer, Secret: cfg.Secret, PublicURL: publicURL(cfg), DataDir: dataDir(cfg)})
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

// applyRevocations makes the service keep and apply the revocations it has been told of:
// every service refuses a revoked token, whether or not the issuer shares its process.
func applyRevocations(ctx context.Context, b *bus.Bus, service string, pool *pgxpool.Pool, set *access.Revocations) (*bus.Router, error) {
	if err := access.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	if err := set.Load(ctx, pool, time.Now()); err != nil {
		return nil, err
	}
	r, err := b.NewRouter(service, pool)
	if err != nil {
		return nil, err
	}
	// The handler name is a durable consumer name: renaming it replays the stream.
	bus.On(r, "access_revoked", access.Applier{Pool: pool, Set: set, Now: time.Now}.OnAccessRevoked)
	return r, nil
}

func dataDir(cfg Config) string {
	if cfg.DataDir == "" {
		return "./var"
	}
	return cfg.DataDir
}

// Signer is the node's token signer (nil without a secret), for tests and tools.
func (n *Node) Signer() *access.Signer { return n.signer }

// publicURL is the configured base URL or else the HTTP address, with a wildcard host read
// as localhost.
func publicURL(cfg Config) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(cfg.HTTP.Addr)
	if err != nil {
		return "http://" + cfg.HTTP.Addr
	}
	// A loopback or wildcard address is reached as localhost: the name browsers treat as a
	// secure context and accept as a passkey's relying party (an IP address is neither).
	if ip := net.ParseIP(host); host == "" || ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// DefaultDBMaxConns is a node's connection budget when none is configured: enough for the
// all-in-one's seven services, well under PostgreSQL's default max_connections of 100.
const DefaultDBMaxConns = 20

// ConnsOutsidePool is how many connections each service opens besides its pool: the
// outbox forwarder's LISTEN connection (bus.RunForwarder), which must not be taken from the
// pool because it is held for as long as the service runs.
const ConnsOutsidePool = 1

// SplitBudget shares a budget of total connections among n services: each gets
// ConnsOutsidePool, and its pool the rest, split evenly (the first services get one more
// when it does not divide). The sum of the pools and what each service opens outside them
// never exceeds total; a budget too small to give every pool a connection is an error.
func SplitBudget(total, n int) ([]int32, error) {
	if n == 0 {
		return nil, nil
	}
	perPool := total - n*ConnsOutsidePool
	if total < 0 || perPool < n {
		return nil, fmt.Errorf("database connection budget %d is too small for %d services: each needs %d (COPNET_DB_MAX_CONNS)", total, n, 1+ConnsOutsidePool)
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(perPool / n)
		if i < perPool%n {
			out[i]++
		}
	}
	return out, nil
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
	app := telemetry.CountUnauthorized(mux, httpx.Authenticate(n.cfg.Verifier)(httpx.Routed(mux)))
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
	errs := make(chan error, 3*len(n.services)+1)
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
		spawn(s.name+" revocations", s.revocations.Run)
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

// checkSettings loads every service's own settings before any schema is created or
// migrated, so that a node with bad settings reports every problem of every service at
// once, and touches no database, instead of failing at the first service it builds.
func checkSettings(factories []Factory) error {
	var errs []error
	for _, f := range factories {
		if f.Settings == nil {
			continue
		}
		t := reflect.TypeOf(f.Settings)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if err := config.Load(reflect.New(t).Interface()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Name, err))
		}
	}
	return errors.Join(errs...)
}
