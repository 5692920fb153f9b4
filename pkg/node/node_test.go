package node_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
)

// probe is a service with one route that holds a pool connection for a moment, so that
// concurrent requests need many connections at once.
type probe struct {
	name string
	pool *pgxpool.Pool
}

func (p *probe) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/"+p.name, func(w http.ResponseWriter, r *http.Request) {
		if err := pgx.BeginFunc(r.Context(), p.pool, func(tx pgx.Tx) error {
			_, err := tx.Exec(r.Context(), "SELECT pg_sleep(0.02)")
			return err
		}); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"service": p.name})
	})
}

func (p *probe) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

func probeFactory(name string) node.Factory {
	return node.Factory{Name: name, Migrations: fstest.MapFS{}, New: func(_ context.Context, d node.Deps) (node.Service, error) {
		return &probe{name: name, pool: d.Pool}, nil
	}}
}

func TestSplitBudget(t *testing.T) {
	for _, c := range []struct{ total, n int }{{20, 7}, {20, 1}, {2, 1}, {14, 7}, {21, 4}, {100, 3}} {
		pools, err := node.SplitBudget(c.total, c.n)
		if err != nil {
			t.Errorf("SplitBudget(%d, %d): %v", c.total, c.n, err)
			continue
		}
		sum := 0
		for _, p := range pools {
			if p < 1 {
				t.Errorf("SplitBudget(%d, %d) = %v: a pool without a connection", c.total, c.n, pools)
			}
			sum += int(p) + node.ConnsOutsidePool
		}
		if sum > c.total || len(pools) != c.n {
			t.Errorf("SplitBudget(%d, %d) = %v: %d connections", c.total, c.n, pools, sum)
		}
		if c.total-sum >= c.n {
			t.Errorf("SplitBudget(%d, %d) = %v leaves %d unused", c.total, c.n, pools, c.total-sum)
		}
	}
	if _, err := node.SplitBudget(13, 7); err == nil || !strings.Contains(err.Error(), "COPNET_DB_MAX_CONNS") {
		t.Errorf("a budget too small for the services: %v", err)
	}
}

// The node sizes every service's pool from its one budget: the pools plus what each service
// opens beside them never exceed it, and under concurrent load the server sees no more of
// the node's connections than that.
func TestNodeKeepsToItsConnectionBudget(t *testing.T) {
	const budget = 8
	names := []string{"alpha", "beta", "gamma"}
	var factories []node.Factory
	for _, n := range names {
		factories = append(factories, probeFactory(n))
	}
	dbURL := testkit.PostgresURL(t)
	n := testkit.StartNode(t, testkit.NodeOptions{DatabaseURL: dbURL, DBMaxConns: budget, DBAcquireTimeout: time.Minute}, factories...)

	total := 0
	for _, name := range names {
		total += int(n.Pool(name).Config().MaxConns) + node.ConnsOutsidePool
	}
	if total > budget {
		t.Fatalf("pools and outside connections add up to %d, budget %d", total, budget)
	}

	watch := testkit.Postgres(t) // another database: the admin's view of the server
	dbName := dbURL[strings.LastIndex(dbURL, "/")+1:]
	if i := strings.IndexByte(dbName, '?'); i >= 0 {
		dbName = dbName[:i]
	}
	var mu sync.Mutex
	most := 0
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			var c int
			if err := watch.QueryRow(context.Background(), "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", dbName).Scan(&c); err == nil {
				mu.Lock()
				most = max(most, c)
				mu.Unlock()
			}
		}
	})
	var reqs sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		reqs.Go(func() {
			res, err := http.Get(n.URL + "/v1/" + names[i%len(names)])
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("GET %s: %d", names[i%len(names)], res.StatusCode)
			}
		})
	}
	reqs.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request under load: %v", err)
	}
	if most > budget {
		t.Errorf("the server saw %d of the node's connections at once, budget %d", most, budget)
	}
	if most == 0 {
		t.Error("never saw the node's connections")
	}
}

// A node refuses to start with a budget that cannot give each service a connection.
func TestNodeRefusesTooSmallBudget(t *testing.T) {
	b, err := bus.New(bus.Config{NodeID: "national"}, bus.URLConnector(testkit.NATS(t).URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = node.Start(context.Background(), node.Config{NodeID: "national", DatabaseURL: testkit.PostgresURL(t), Bus: b, DBMaxConns: 3},
		probeFactory("alpha"), probeFactory("beta"))
	if err == nil || !strings.Contains(err.Error(), "COPNET_DB_MAX_CONNS") {
		t.Fatalf("Start with 3 connections for 2 services: %v", err)
	}
}

// Unknown routes and wrong methods on a real node answer problem+json; 405 keeps Allow.
func TestNodeUnmatchedRoutesAreProblems(t *testing.T) {
	n := testkit.StartNode(t, testkit.NodeOptions{}, probeFactory("alpha"))
	for _, c := range []struct {
		method, path string
		status       int
	}{{"GET", "/v1/nothing", 404}, {"DELETE", "/v1/alpha", 405}, {"POST", "/nothing/at/all", 404}} {
		req, _ := http.NewRequest(c.method, n.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.status || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s, want %d problem+json", c.method, c.path, res.StatusCode, res.Header.Get("Content-Type"), c.status)
		}
		if c.status == 405 && !strings.Contains(res.Header.Get("Allow"), "GET") {
			t.Errorf("%s %s: Allow %q", c.method, c.path, res.Header.Get("Allow"))
		}
	}
}

// Every service's settings are checked before any schema is touched: two services with bad
// settings are both named in one error, and neither's schema was created or migrated.
func TestBadSettingsOfEveryServiceReportedBeforeAnyMigration(t *testing.T) {
	type settingsA struct {
		Every time.Duration `envconfig:"COPNET_NODETEST_A_EVERY" default:"1s"`
	}
	type settingsB struct {
		Burst int `envconfig:"COPNET_NODETEST_B_BURST" default:"5"`
	}
	t.Setenv("COPNET_NODETEST_A_EVERY", "soon")
	t.Setenv("COPNET_NODETEST_B_BURST", "many")
	migrations := fstest.MapFS{"001_t.sql": {Data: []byte("CREATE TABLE t (id int)")}}
	a := node.Factory{Name: "settings_a", Migrations: migrations, Settings: settingsA{},
		New: func(context.Context, node.Deps) (node.Service, error) {
			return &probe{name: "a"}, config.Load(&settingsA{})
		}}
	b := node.Factory{Name: "settings_b", Migrations: migrations, Settings: settingsB{},
		New: func(context.Context, node.Deps) (node.Service, error) {
			return &probe{name: "b"}, config.Load(&settingsB{})
		}}
	dbURL := testkit.PostgresURL(t)
	b2, err := bus.New(bus.Config{NodeID: "national"}, bus.URLConnector(testkit.NATS(t).URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b2.Close() })
	_, err = node.Start(context.Background(), node.Config{NodeID: "national", Tier: "national", DatabaseURL: dbURL,
		HTTP: httpx.ServerConfig{Addr: "127.0.0.1:0"}, Bus: b2}, a, b)
	if err == nil || !strings.Contains(err.Error(), "COPNET_NODETEST_A_EVERY") || !strings.Contains(err.Error(), "COPNET_NODETEST_B_BURST") {
		t.Fatalf("Start: %v, want both services' bad settings named", err)
	}
	pool, perr := pgxpool.New(context.Background(), dbURL)
	if perr != nil {
		t.Fatal(perr)
	}
	defer pool.Close()
	var schemas int
	if err := pool.QueryRow(context.Background(),
		"SELECT count(*) FROM information_schema.schemata WHERE schema_name IN ('settings_a', 'settings_b')").Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Errorf("%d schemas were created before the settings were checked", schemas)
	}
}
