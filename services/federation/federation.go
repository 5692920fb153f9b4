// Package federation makes a node part of the tree: it registers child nodes at run time
// (an account of their own at this node's NATS server and a source of their stream in this
// node's stream), reports the health of each link, and re-creates a source that stalls.
// NATS does the moving of events: leaf nodes, JetStream domains and stream sourcing.
package federation

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/postgres"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Accounts is the NATS server's account configuration; the embedded broker implements it.
type Accounts interface {
	SetChildren(children []LeafAccount) error
}

// LeafAccount is a node registered under this one as the NATS server sees it. Its leaf
// connection lands in an account of its own, which exports exactly what sourcing its stream
// needs and nothing else: it can write only into its own subjects and sees no other child's
// traffic.
type LeafAccount struct {
	ID           string
	LeafPassword string
}

// Account is the account name of a child at its parent.
func (c LeafAccount) Account() string {
	return "NODE_" + strings.ToUpper(strings.ReplaceAll(c.ID, "-", "_"))
}

// LeafUser is the user a child's leaf connection authenticates as.
func (c LeafAccount) LeafUser() string { return "leaf_" + c.ID }

// Config of the federation component of one node.
type Config struct {
	NodeID string
	Tier   string
	// LeafAdvertise is the host:port children dial; without it no child can register.
	LeafAdvertise string
	// Accounts reconfigures the node's NATS server; nil when the server is external, whose
	// accounts come from deploy/nats configuration instead.
	Accounts Accounts
	// StaticChildren are children whose accounts an external server's configuration
	// already holds (deploy/nats/federation): this node only sources their streams.
	StaticChildren []string
	// StallAfter is how long a source may stay silent, while its child answers and has
	// events to send, before it is re-created from its cursor (default 3s).
	StallAfter time.Duration
	// CheckEvery is the health check interval (default 1s).
	CheckEvery time.Duration
}

// Factory is the federation component as a node service (schema "federation").
func Factory(cfg Config) node.Factory {
	if cfg.StallAfter == 0 {
		cfg.StallAfter = 3 * time.Second
	}
	if cfg.CheckEvery == 0 {
		cfg.CheckEvery = time.Second
	}
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the directory is embedded
	return node.Factory{Name: "federation", Migrations: sub, New: func(ctx context.Context, d node.Deps) (node.Service, error) {
		nc, err := d.Bus.Connect("copnet-federation")
		if err != nil {
			return nil, err
		}
		js, err := nc.JetStream()
		if err != nil {
			nc.Close()
			return nil, err
		}
		f := &Federation{cfg: cfg, pool: d.Pool, nc: nc, js: js, stream: d.Bus.Config().Stream, now: d.Now, log: d.Logger, touched: map[string]time.Time{}}
		return f, f.reconcile(ctx)
	}}
}

// Federation is the running component.
type Federation struct {
	cfg    Config
	pool   *pgxpool.Pool
	nc     *nats.Conn
	js     nats.JetStreamContext
	stream string
	now    func() time.Time
	log    interface {
		Warn(msg string, args ...any)
		Info(msg string, args ...any)
	}
	mu sync.Mutex // serialises stream updates
	// touched is when each child's source was last added or re-created: a fresh source
	// gets time to start before it can count as stalled.
	touched map[string]time.Time
}

// Child is a registered child node as the API shows it.
type Child struct {
	ID        string    `json:"id"`
	Tier      string    `json:"tier"`
	Parent    string    `json:"parent"`
	CreatedAt time.Time `json:"created_at"`
	LeafURL   string    `json:"leaf_url,omitempty"`
	password  string
	static    bool
}

// children are the registered children, and the configured ones first.
func (f *Federation) children(ctx context.Context) ([]Child, error) {
	rows, err := f.pool.Query(ctx, "SELECT id, tier, parent, created_at, leaf_password FROM nodes ORDER BY id")
	if err != nil {
		return nil, err
	}
	registered, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Child, error) {
		var c Child
		return c, r.Scan(&c.ID, &c.Tier, &c.Parent, &c.CreatedAt, &c.password)
	})
	if err != nil {
		return nil, err
	}
	var out []Child
	for _, id := range f.cfg.StaticChildren {
		out = append(out, Child{ID: id, Parent: f.cfg.NodeID, static: true})
	}
	return append(out, registered...), nil
}

// reconcile makes the NATS server and the stream match the registered children. It is
// idempotent and runs at start and after every registration, so a crash between the
// database commit and the broker change heals itself.
func (f *Federation) reconcile(ctx context.Context) error {
	kids, err := f.children(ctx)
	if err != nil {
		return err
	}
	if f.cfg.Accounts != nil {
		var accounts []LeafAccount
		for _, k := range kids {
			if !k.static {
				accounts = append(accounts, LeafAccount{ID: k.ID, LeafPassword: k.password})
			}
		}
		if err := f.cfg.Accounts.SetChildren(accounts); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := f.js.StreamInfo(f.stream)
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	cfg := info.Config
	changed := false
	for _, k := range kids {
		if sourceIndex(cfg.Sources, k.ID) < 0 {
			// opt_start_seq 1: without it a source added after this stream was trimmed
			// silently skips the child's backlog.
			cfg.Sources = append(cfg.Sources, source(k.ID, 1))
			f.touched[k.ID] = time.Now()
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if _, err := f.js.UpdateStream(&cfg); err != nil {
		return fmt.Errorf("federation: add sources: %w", err)
	}
	return nil
}

func source(child string, startSeq uint64) *nats.StreamSource {
	return &nats.StreamSource{
		Name:        bus.DefaultStream,
		OptStartSeq: startSeq,
		External:    &nats.ExternalStream{APIPrefix: apiPrefix(child), DeliverPrefix: "deliver." + child},
	}
}

func apiPrefix(child string) string { return "$JS." + child + ".API" }

func sourceIndex(sources []*nats.StreamSource, child string) int {
	return slices.IndexFunc(sources, func(s *nats.StreamSource) bool {
		return s.External != nil && s.External.APIPrefix == apiPrefix(child)
	})
}

// Register mounts the routes.
func (f *Federation) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/nodes", f.handle(f.registerChild))
	mux.HandleFunc("GET /v1/nodes", f.handle(f.listChildren))
	mux.HandleFunc("GET /v1/federation", f.handle(f.health))
}

// Routes lists the routes, for the OpenAPI check.
func Routes() []string { return []string{"POST /v1/nodes", "GET /v1/nodes", "GET /v1/federation"} }

func (f *Federation) handle(fn func(*http.Request, httpx.Claims) (int, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _ := httpx.ClaimsFrom(r.Context())
		// National, or the hub of the region this node serves, looks after its children.
		if err := httpx.Authorize(c, c.IsNational() || c.IsHubOf(f.cfg.NodeID), "manage this node's federation"); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		status, body, err := fn(r, c)
		if err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		httpx.WriteJSON(w, status, body)
	}
}

var tiers = map[string]int{config.TierNational: 0, config.TierRegional: 1, config.TierLocal: 2}

func (f *Federation) registerChild(r *http.Request, _ httpx.Claims) (int, any, error) {
	var in struct{ ID, Tier, Parent string }
	if err := httpx.DecodeJSON(r, &in); err != nil {
		return 0, nil, err
	}
	var v apperr.Validator
	v.Check(config.ValidToken(in.ID) && in.ID != f.cfg.NodeID, "id", "must be a node id (lower-case letters, digits, '-' or '_') other than this node's")
	t, ok := tiers[in.Tier]
	v.Check(ok && t >= tiers[f.cfg.Tier] && in.Tier != config.TierNational, "tier", "must be regional or local, and not above this node's tier")
	v.Check(in.Parent == f.cfg.NodeID, "parent", "must be this node ("+f.cfg.NodeID+"): a child registers at its parent")
	if err := v.Err(); err != nil {
		return 0, nil, err
	}
	if f.cfg.Accounts == nil || f.cfg.LeafAdvertise == "" {
		return 0, nil, apperr.Unprocessable("id", "this node accepts no child nodes: set COPNET_LEAF_LISTEN (or configure the external NATS server from deploy/nats)")
	}
	password, err := randomSecret()
	if err != nil {
		return 0, nil, err
	}
	var created time.Time
	err = f.pool.QueryRow(r.Context(), `INSERT INTO nodes (id, tier, parent, leaf_password) VALUES ($1, $2, $3, $4)
		RETURNING created_at`, in.ID, in.Tier, in.Parent, password).Scan(&created)
	if postgres.IsUniqueViolation(err, "") {
		return 0, nil, apperr.Conflict("node %q is already registered", in.ID)
	}
	if err != nil {
		return 0, nil, err
	}
	if err := f.reconcile(r.Context()); err != nil {
		return 0, nil, fmt.Errorf("register %s: %w", in.ID, err)
	}
	acct := LeafAccount{ID: in.ID, LeafPassword: password}
	return http.StatusCreated, Child{ID: in.ID, Tier: in.Tier, Parent: in.Parent, CreatedAt: created,
		LeafURL: fmt.Sprintf("nats-leaf://%s:%s@%s", acct.LeafUser(), password, f.cfg.LeafAdvertise)}, nil
}

func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (f *Federation) listChildren(r *http.Request, _ httpx.Claims) (int, any, error) {
	kids, err := f.children(r.Context())
	if err != nil {
		return 0, nil, err
	}
	if kids == nil {
		kids = []Child{}
	}
	return http.StatusOK, map[string]any{"node": f.cfg.NodeID, "tier": f.cfg.Tier, "children": kids}, nil
}

// Settings are what a split process reads for its federation component: the children its
// external NATS server's configuration accepts.
type Settings struct {
	ChildNodes []string `envconfig:"COPNET_CHILD_NODES"`
}

// SplitFactory is the federation component of a split deployment, where the NATS server is
// external: node id and tier come from the node, the children from COPNET_CHILD_NODES, and
// registration at run time is refused (the server's accounts live in deploy/nats).
func SplitFactory() node.Factory {
	f := Factory(Config{})
	f.Settings = Settings{}
	f.New = func(ctx context.Context, d node.Deps) (node.Service, error) {
		var s Settings
		if err := config.Load(&s); err != nil {
			return nil, err
		}
		return Factory(Config{NodeID: d.NodeID, Tier: d.Tier, StaticChildren: s.ChildNodes}).New(ctx, d)
	}
	return f
}
