// Package tests holds the end-to-end suites that cross services and processes: crash
// recovery of the outbox, broker restarts, and the all-in-one binary as a newcomer runs it.
package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/trace"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/postgres"
)

const secret = "tests-secret-0123456789abcdef"

var copnetBin string

func TestMain(m *testing.M) {
	// -short skips every test that runs the binary (see testing.Short in them): no build.
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "copnet-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	copnetBin = filepath.Join(dir, "copnet")
	build := exec.Command("go", "build", "-o", copnetBin, "../cmd/copnet")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build copnet:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func token(t testing.TB, c httpx.Claims) string {
	t.Helper()
	signer, err := access.NewSigner([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.Sign(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a JSON request and returns the status and decoded body.
func call(t testing.TB, method, url, tok string, body any) (int, map[string]any) {
	t.Helper()
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, url, &rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	json.NewDecoder(resp.Body).Decode(&out) //nolint:errcheck // some answers have no body
	return resp.StatusCode, out
}

// probe is a durable consumer living in the test process: it records every region_created
// it applies, through the same bus.Handle path every service uses.
type probe struct {
	pool *pgxpool.Pool
	bus  *bus.Bus
}

func startProbe(t *testing.T, ctx context.Context, nodeID, natsURL, dbURL string) *probe {
	t.Helper()
	b, err := bus.New(bus.Config{NodeID: nodeID, AckWait: 5 * time.Second}, bus.URLConnector(natsURL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := b.Provision(); err != nil {
		t.Fatal(err)
	}
	pool, err := postgres.Open(ctx, dbURL, "probe")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	err = postgres.Migrate(ctx, pool, fstest.MapFS{"001.sql": {Data: []byte(
		`CREATE TABLE applied (region_id text NOT NULL, event_id text NOT NULL,
			correlation_id text NOT NULL, trace_id text NOT NULL, source text NOT NULL)`)}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.NewRouter("probe", pool)
	if err != nil {
		t.Fatal(err)
	}
	bus.Handle(r, "on_region_created", func(ctx context.Context, tx pgx.Tx, ev events.RegionCreated, env events.Envelope) error {
		_, err := tx.Exec(ctx, "INSERT INTO applied VALUES ($1, $2, $3, $4, $5)", ev.RegionID, env.ID,
			httpx.CorrelationID(ctx), trace.SpanContextFromContext(ctx).TraceID().String(), env.Source)
		return err
	})
	done := make(chan error, 1)
	rctx, cancel := context.WithCancel(ctx)
	go func() { done <- r.Run(rctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-r.Running():
	case err := <-done:
		t.Fatalf("probe router: %v", err)
	}
	return &probe{pool: pool, bus: b}
}

// bySource counts applied events per origin node, and reports any event applied twice.
func (p *probe) bySource(t testing.TB) (map[string]int, int) {
	t.Helper()
	rows, err := p.pool.Query(context.Background(),
		"SELECT source, count(*), count(*) - count(DISTINCT event_id) FROM applied GROUP BY source")
	if err != nil {
		t.Fatal(err)
	}
	out, dups := map[string]int{}, 0
	for rows.Next() {
		var src string
		var n, d int
		if err := rows.Scan(&src, &n, &d); err != nil {
			t.Fatal(err)
		}
		out[src], dups = n, dups+d
	}
	return out, dups
}

// applied counts how often the probe applied region_created for each region.
func (p *probe) applied(t testing.TB) map[string]int {
	t.Helper()
	rows, err := p.pool.Query(context.Background(), "SELECT region_id, count(*) FROM applied GROUP BY region_id")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		out[id] = n
	}
	return out
}

// streamRegions counts region_created messages per region in the node's stream, and
// checks that no event id is stored twice.
func streamRegions(t testing.TB, nc *nats.Conn) map[string]int {
	t.Helper()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	info, err := js.StreamInfo(bus.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	ids := map[string]bool{}
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := js.GetMsg(bus.DefaultStream, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "cop.national.registry.region_created" {
			continue
		}
		id := m.Header.Get(events.HeaderID)
		if ids[id] {
			t.Fatalf("event %s stored twice", id)
		}
		ids[id] = true
		var ev events.RegionCreated
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			t.Fatal(err)
		}
		out[ev.RegionID]++
	}
	return out
}
