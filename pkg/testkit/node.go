package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
)

// NodeOptions shape a test node; zero values give a national node on its own NATS server
// and database.
type NodeOptions struct {
	NodeID string
	// Tier is the node's place in the federation tree (default national).
	Tier        string
	NATS        *NATSServer
	DatabaseURL string
	// AckWait bounds redelivery in tests (default 5s).
	AckWait time.Duration
	// Now is the services' clock (default time.Now).
	Now func() time.Time
	// Logger receives the node's logs (default slog.Default()); tests that must prove
	// what is never logged capture it.
	Logger *slog.Logger
	// PublicURL is the node's configured base URL for links (default: its listening URL).
	PublicURL string
	// DBMaxConns is the node's connection budget (node.DefaultDBMaxConns when zero).
	DBMaxConns int
	// DBAcquireTimeout is how long a request waits for a database connection (the
	// httpx default when zero).
	DBAcquireTimeout time.Duration
	// Metrics, when set, is served on /metrics (telemetry.Telemetry.MetricsHandler).
	Metrics http.Handler
}

// Node is a copnet node running services in the test process, wired exactly as in
// production (node.Start and node.Run), on a real embedded NATS and a fresh PostgreSQL
// database. Component tests of every service use it.
type Node struct {
	URL         string
	NATS        *NATSServer
	DatabaseURL string
	Bus         *bus.Bus
	Node        *node.Node
	Secret      []byte
}

// StartNode boots factories on a node and serves them until the test ends.
func StartNode(t testing.TB, opts NodeOptions, factories ...node.Factory) *Node {
	t.Helper()
	if opts.NodeID == "" {
		opts.NodeID = "national"
	}
	if opts.NATS == nil {
		opts.NATS = NATS(t)
	}
	if opts.DatabaseURL == "" {
		opts.DatabaseURL = PostgresURL(t)
	}
	if opts.AckWait == 0 {
		opts.AckWait = 5 * time.Second
	}
	b, err := bus.New(bus.Config{NodeID: opts.NodeID, AckWait: opts.AckWait, Logger: opts.Logger, Now: opts.Now}, bus.URLConnector(opts.NATS.URL()))
	if err != nil {
		t.Fatalf("testkit: bus: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	secret := []byte("testkit-secret-" + opts.NodeID + "-0123456789")
	// Listening first gives the node its real address as its public URL.
	ln, err := httpx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: listen: %v", err)
	}
	if opts.PublicURL == "" {
		opts.PublicURL = "http://" + ln.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Start(ctx, node.Config{
		NodeID: opts.NodeID, Tier: opts.Tier, DatabaseURL: opts.DatabaseURL, Bus: b, Now: opts.Now, Logger: opts.Logger,
		HTTP:   httpx.ServerConfig{Addr: "127.0.0.1:0", DBAcquireTimeout: opts.DBAcquireTimeout},
		Secret: secret, PublicURL: opts.PublicURL, DataDir: t.TempDir(),
		// The budget is the node's, as in production; tests shrink it to exhaust it.
		DBMaxConns: opts.DBMaxConns,
		Metrics:    opts.Metrics,
	}, factories...)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("testkit: start node: %v", err)
	}
	// The node serves its own HTTP server on a loopback port nobody is told about; tests
	// reach it at ln through a server with the same settings whose handler checks every
	// answer against the OpenAPI document of its route, whichever client a test uses.
	inner, err := httpx.Listen("127.0.0.1:0")
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("testkit: listen: %v", err)
	}
	done := make(chan error, 2)
	go func() { done <- n.Run(ctx, inner) }()
	srv := httpx.NewServer(httpx.ServerConfig{Addr: ln.Addr().String()}, ValidatingHandler(t, n.Handler()))
	go func() { done <- httpx.Serve(ctx, srv, ln, 0) }()
	// A node serves before its consumers are subscribed; tests start from the state where
	// it would apply every event (its /readyz says ready).
	Eventually(t, 30*time.Second, b.ConsumersReady)
	t.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("testkit: node stopped with %v", err)
			}
		}
		n.Close()
	})
	return &Node{URL: "http://" + ln.Addr().String(), NATS: opts.NATS, DatabaseURL: opts.DatabaseURL, Bus: b, Node: n, Secret: secret}
}

// Token issues an access token for claims with the node's signing key, as the node's issuer
// would for a person holding those grants.
func (n *Node) Token(t testing.TB, c httpx.Claims) string {
	t.Helper()
	tok, err := n.Node.Signer().Sign(c, time.Hour)
	if err != nil {
		t.Fatalf("testkit: sign: %v", err)
	}
	return tok
}

// Do sends a request with an optional bearer token and JSON body (a string or []byte body
// is sent as is, so tests can send malformed JSON) and returns status and raw body. Every
// answer is checked against the OpenAPI document of the route it came from (status,
// content type, body) by the node itself (see StartNode).
func (n *Node) Do(t testing.TB, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewBuffer(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("testkit: marshal: %v", err)
		}
		rd = bytes.NewBuffer(raw)
	}
	req, err := http.NewRequest(method, n.URL+path, rd)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("testkit: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("testkit: read %s %s: %v", method, path, err)
	}
	return resp.StatusCode, raw
}

// JSON is Do that decodes a JSON answer into out (when out is non-nil).
func (n *Node) JSON(t testing.TB, method, path, token string, body, out any) int {
	t.Helper()
	status, raw := n.Do(t, method, path, token, body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("testkit: %s %s answered %d with %q: %v", method, path, status, raw, err)
		}
	}
	return status
}

// Pool is the database pool of one service on this node.
func (n *Node) Pool(service string) *pgxpool.Pool { return n.Node.Pool(service) }

// Messages returns every message in the node's event stream whose subject matches filter
// (NATS wildcards allowed), oldest first.
func (n *Node) Messages(t testing.TB, filter string) []*nats.RawStreamMsg {
	t.Helper()
	nc, err := nats.Connect(n.NATS.URL())
	if err != nil {
		t.Fatalf("testkit: connect: %v", err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	info, err := js.StreamInfo(bus.DefaultStream)
	if err != nil {
		t.Fatalf("testkit: stream info: %v", err)
	}
	var out []*nats.RawStreamMsg
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := js.GetMsg(bus.DefaultStream, seq)
		if err != nil {
			continue // deleted
		}
		if subjectMatches(filter, m.Subject) {
			out = append(out, m)
		}
	}
	return out
}

// subjectMatches applies NATS wildcard rules: * matches one token, > the rest.
func subjectMatches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

// Publish puts events on this node's stream as another service would (real envelope,
// Nats-Msg-Id, subject cop.<node>.<service>.<event>), so a component test can feed a
// service the events of services it does not run.
func (n *Node) Publish(t testing.TB, evs ...events.Event) {
	t.Helper()
	pub, err := n.Bus.NewPublisher("testkit-publish")
	if err != nil {
		t.Fatalf("testkit: publisher: %v", err)
	}
	defer pub.Close()
	for _, ev := range evs {
		msg, err := n.Bus.NewMessage(context.Background(), ev)
		if err != nil {
			t.Fatalf("testkit: %v", err)
		}
		if err := pub.Publish(ev.EventName().Subject(n.Bus.NodeID()), msg); err != nil {
			t.Fatalf("testkit: publish %s: %v", ev.EventName().Type(), err)
		}
	}
}

// ForgedTokens returns tokens an attacker could make, each claiming national rights: HS256
// signed with this node's own secret (what tokens used to be), EdDSA with another node's
// key, and alg "none". A node must refuse every one with 401.
func (n *Node) ForgedTokens(t testing.TB) map[string]string {
	t.Helper()
	claims := jwt.MapClaims{"sub": "attacker", "iss": access.Issuer, "jti": "forged", "iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix(), "grants": []map[string]string{{"role": "national"}}}
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(n.Secret)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	other, err := access.NewSigner([]byte("another node's secret, not this one"), nil)
	if err != nil {
		t.Fatal(err)
	}
	eddsa, err := other.Sign(httpx.One("attacker", httpx.Grant{Role: httpx.RoleNational}), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"HS256 with the node secret": hs, "EdDSA with another key": eddsa, "alg none": none, "not a JWT": "hello"}
}
