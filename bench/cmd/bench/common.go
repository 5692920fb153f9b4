package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/cmd/copnet/broker"
	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/feedback"
	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// allServices is what the all-in-one runs (cmd/copnet), federation aside.
var allServices = []node.Factory{registry.Factory, membership.Factory, scheduling.Factory, knowledge.Factory, feedback.Factory, console.Factory}

const benchSecret = "copnet-bench-secret-0123456789abcdef"

// Latency summarises a set of durations in milliseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summarise(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		if i < 0 {
			i = 0
		}
		return ms(s[i])
	}
	return Latency{N: len(s), P50: q(0.50), P95: q(0.95), P99: q(0.99), Max: ms(s[len(s)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// logf reports progress on stderr; stdout carries only the final table.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// progress is a bar on stderr.
type progress struct {
	mu    sync.Mutex
	what  string
	total int
	done  int
	start time.Time
	last  time.Time
}

func newProgress(what string, total int) *progress {
	return &progress{what: what, total: total, start: time.Now()}
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if time.Since(p.last) < 200*time.Millisecond && p.done < p.total {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) set(n int) {
	p.mu.Lock()
	p.done = 0
	p.mu.Unlock()
	p.add(n)
}

func (p *progress) draw() {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = math.Min(1, float64(p.done)/float64(p.total))
	}
	bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
	rate := float64(p.done) / math.Max(time.Since(p.start).Seconds(), 1e-3)
	fmt.Fprintf(os.Stderr, "\r  %-28s [%s] %3.0f%% %d/%d %.0f/s   ", p.what, bar, frac*100, p.done, p.total, rate)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	fmt.Fprintln(os.Stderr)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// database is a fresh PostgreSQL database for one part of the run, dropped at the end.
type database struct {
	admin, URL, name string
}

func adminURL() string {
	if u := os.Getenv("COPNET_BENCH_DATABASE_URL"); u != "" {
		return u
	}
	if u := os.Getenv("COPNET_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

func newDatabase(ctx context.Context) (*database, error) {
	admin := adminURL()
	name := "copnet_bench_" + randHex(6)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("postgres at %s: %w (start it: make postgres)", redacted(admin), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"); err != nil {
		return nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return nil, err
	}
	u.Path = "/" + name
	return &database{admin: admin, URL: u.String(), name: name}, nil
}

func (d *database) drop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, "DROP DATABASE IF EXISTS "+d.name+" WITH (FORCE)") //nolint:errcheck // best effort
}

func redacted(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(database url)"
	}
	return u.Redacted()
}

// client is the load generator's HTTP side, loopback only.
var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}

func sign(c httpx.Claims) string {
	signer, err := access.NewSigner([]byte(benchSecret), nil)
	if err != nil {
		panic(err)
	}
	tok, err := signer.Sign(c, 6*time.Hour)
	if err != nil {
		panic(err)
	}
	return tok
}

var nationalToken = sign(httpx.Claims{Subject: string(httpx.RoleNational), Grants: []httpx.Grant{{Role: httpx.RoleNational}}})

// call sends a JSON request and decodes a JSON answer into out when given.
func call(ctx context.Context, method, u, token string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if out != nil && resp.StatusCode < 300 && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, raw, err
		}
	}
	return resp.StatusCode, raw, nil
}

// must calls and insists on the status.
func must(ctx context.Context, want int, method, u, token string, body, out any) error {
	st, raw, err := call(ctx, method, u, token, body, out)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	if st != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", method, u, st, want, raw)
	}
	return nil
}

// await retries a call until it answers want (a service waiting for an event), bounded.
func await(ctx context.Context, timeout time.Duration, want int, method, u, token string, body, out any) error {
	deadline := time.Now().Add(timeout)
	for {
		st, raw, err := call(ctx, method, u, token, body, out)
		if err == nil && st == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s %s: still %d %s (%v) after %s", method, u, st, raw, err, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitReady(ctx context.Context, u string, timeout time.Duration) error {
	return await(ctx, timeout, http.StatusOK, "GET", u+"/readyz", "", nil, nil)
}

// inproc is a copnet node in this process wired as production wires it (node.Start and
// node.Run), on an embedded NATS server from a broker.Topology with a loopback client port.
type inproc struct {
	id      string
	URL     string
	topo    broker.Topology
	broker  *broker.Embedded
	bus     *bus.Bus
	node    *node.Node
	db      *database
	cancel  context.CancelFunc
	done    chan error
	dataDir string
}

func (n *inproc) natsURL() string {
	return fmt.Sprintf("nats://%s:%s@%s", n.topo.AppUser, n.topo.AppPassword, n.topo.ClientListen)
}

// startBroker runs the node's embedded NATS server only (baselines run on it first).
func startBroker(id, parentLeaf string, withLeaf bool) (*inproc, error) {
	dir, err := os.MkdirTemp("", "copnet-bench-"+id+"-")
	if err != nil {
		return nil, err
	}
	n := &inproc{id: id, dataDir: dir, topo: broker.Topology{
		NodeID: id, StoreDir: dir, ClientListen: freeAddr(), ParentLeafURL: parentLeaf,
		AppUser: "copnet", AppPassword: "pw-" + randHex(8),
	}}
	if withLeaf {
		n.topo.LeafListen = freeAddr()
	}
	if n.broker, err = broker.Start(n.topo); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return n, nil
}

var quietLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// startServices runs factories on the node's broker and a fresh database.
func (n *inproc) startServices(ctx context.Context, factories ...node.Factory) error {
	db, err := newDatabase(ctx)
	if err != nil {
		return err
	}
	n.db = db
	b, err := bus.New(bus.Config{NodeID: n.id, Logger: quietLogger}, bus.URLConnector(n.natsURL()))
	if err != nil {
		return err
	}
	n.bus = b
	rctx, cancel := context.WithCancel(context.Background())
	nd, err := node.Start(rctx, node.Config{NodeID: n.id, DatabaseURL: db.URL, Bus: b, Logger: quietLogger,
		HTTP: httpx.ServerConfig{Addr: "127.0.0.1:0"}, Secret: []byte(benchSecret)}, factories...)
	if err != nil {
		cancel()
		return err
	}
	ln, err := httpx.Listen("127.0.0.1:0")
	if err != nil {
		cancel()
		return err
	}
	n.node, n.cancel, n.done = nd, cancel, make(chan error, 1)
	go func() { n.done <- nd.Run(rctx, ln) }()
	n.URL = "http://" + ln.Addr().String()
	return waitReady(ctx, n.URL, 60*time.Second)
}

func (n *inproc) stop() {
	if n.cancel != nil {
		n.cancel()
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			logf("node %s did not stop within 30s", n.id)
		}
		n.node.Close()
		n.cancel = nil
	}
	if n.bus != nil {
		n.bus.Close()
		n.bus = nil
	}
	if n.broker != nil {
		n.broker.Shutdown()
		n.broker = nil
	}
	if n.db != nil {
		n.db.drop()
		n.db = nil
	}
	os.RemoveAll(n.dataDir)
}

// consumerLag is the sum of pending and unacknowledged messages over every consumer of
// the node's stream.
func consumerLag(js nats.JetStreamContext, stream string) (uint64, error) {
	var lag uint64
	for info := range js.ConsumersInfo(stream) {
		lag += info.NumPending + uint64(info.NumAckPending)
	}
	return lag, nil
}

// waitLagZero waits until every consumer has caught up, bounded by timeout; it reports how
// long it took.
func waitLagZero(js nats.JetStreamContext, stream string, timeout time.Duration, onLag func(uint64)) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < timeout {
		lag, err := consumerLag(js, stream)
		if onLag != nil {
			onLag(lag)
		}
		if err == nil && lag == 0 {
			return time.Since(start), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start), false
}

func jsConnect(url string) (*nats.Conn, nats.JetStreamContext, error) {
	nc, err := nats.Connect(url, nats.Name("copnet-bench"))
	if err != nil {
		return nil, nil, err
	}
	js, err := nc.JetStream(nats.PublishAsyncMaxPending(4096))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func openPool(ctx context.Context, dbURL string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxConns
	return pgxpool.NewWithConfig(ctx, cfg)
}
