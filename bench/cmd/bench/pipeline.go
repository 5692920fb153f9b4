package main

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
)

// target is a running copnet deployment the load generator drives: where each service
// answers (one address for the all-in-one), its NATS server and its database.
type target struct {
	name      string
	registry  string
	knowledge string
	console   string
	natsURL   string
	dbURL     string
}

// PipelineLevel is one step of rising concurrency.
type PipelineLevel struct {
	Concurrency    int     `json:"concurrency"`
	Commands       int     `json:"commands"`
	Errors         int     `json:"errors"`
	Visible        int     `json:"visible"`
	CommandsPerS   float64 `json:"commands_per_s_visible"`
	HTTP           Latency `json:"http_201_latency"`
	EndToEnd       Latency `json:"http_201_to_visible_latency"`
	LagDrainMillis float64 `json:"consumer_lag_zero_after_load_ms"`
	LagDrained     bool    `json:"consumer_lag_drained"`
	// The end-to-end latency in its two hops, so the next bottleneck is visible: from the
	// 201 (the command's commit) until the forwarder publishes its event (seen by a core NATS
	// subscriber on the node's server), and from there until the console applied it.
	CommitToForwarded  Latency `json:"http_201_to_forwarded_latency"`
	ForwardedToVisible Latency `json:"forwarded_to_visible_latency"`
}

// Pipeline is the pipeline section for one deployment shape.
type Pipeline struct {
	Deployment string          `json:"deployment"`
	Command    string          `json:"command"`
	VisibleIn  string          `json:"visible_in"`
	PollEvery  string          `json:"visibility_poll_interval"`
	Levels     []PipelineLevel `json:"levels"`
	Profile    string          `json:"cpu_profile,omitempty"`
}

func (p *Pipeline) level(c int) (PipelineLevel, bool) {
	for _, l := range p.Levels {
		if l.Concurrency == c {
			return l, true
		}
	}
	return PipelineLevel{}, false
}

// setupCoPs onboards a region and its approved CoPs through the registry's API and waits
// until knowledge accepts projects for them (it learns of them from cop_approved).
func setupCoPs(ctx context.Context, t target, region string, n int) ([]string, error) {
	if err := must(ctx, http.StatusCreated, "POST", t.registry+"/v1/regions", nationalToken, map[string]any{"id": region, "name": "Region " + region}, nil); err != nil {
		return nil, err
	}
	hub := sign(httpx.Claims{Subject: string(httpx.RoleHub), Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: region}}})
	var cops []string
	for i := range n {
		var cop struct{ ID string }
		if err := must(ctx, http.StatusCreated, "POST", t.registry+"/v1/cops", hub, map[string]any{
			"name": fmt.Sprintf("Bench CoP %s %d", region, i), "region": region, "scope": "regional",
			"purpose": "Benchmark load", "topics": []string{"bench"}, "host_organisations": []string{"Bench Org"},
			"meeting": map[string]any{"frequency": "monthly", "duration_minutes": 60, "format": []string{"share", "discuss"}},
		}, &cop); err != nil {
			return nil, err
		}
		if err := must(ctx, http.StatusOK, "POST", t.registry+"/v1/cops/"+cop.ID+"/decision", nationalToken, map[string]any{"decision": "approve"}, nil); err != nil {
			return nil, err
		}
		cops = append(cops, cop.ID)
	}
	for _, c := range cops {
		if err := await(ctx, 60*time.Second, http.StatusCreated, "POST", t.knowledge+"/v1/projects", nationalToken, projectBody(mrand.New(mrand.NewPCG(1, 2)), c, region), nil); err != nil {
			return nil, err
		}
	}
	return cops, nil
}

var groups = []string{"young people", "older people", "carers", "farmers", "new migrants", "first nations", "teachers", "nurses",
	"small business", "veterans", "students", "parents", "people with disability", "rural families", "shift workers", "volunteers"}

// projectBody is a plausible project: two topics of 200, one community of 20 towns × 16
// groups in the CoP's region, a window of one to three months within a year.
func projectBody(r *mrand.Rand, cop, region string) map[string]any {
	start := time.Now().UTC().AddDate(0, 0, r.IntN(365))
	return map[string]any{
		"cop_id": cop, "title": fmt.Sprintf("Project %d", r.Uint32()), "organisation": "Bench Org",
		"topics":      []string{fmt.Sprintf("topic-%03d", r.IntN(200)), fmt.Sprintf("topic-%03d", r.IntN(200))},
		"methods":     []string{"survey"},
		"communities": []map[string]string{{"place": fmt.Sprintf("au.%s.t%02d", region, r.IntN(20)), "group": groups[r.IntN(len(groups))]}},
		"starts_on":   start.Format(time.DateOnly), "ends_on": start.AddDate(0, 1+r.IntN(3), 0).Format(time.DateOnly),
	}
}

// visibility polls a projection table for ids and records when each appears.
type visibility struct {
	pool  *pgxpool.Pool
	query string
	every time.Duration

	mu      sync.Mutex
	pending map[string]time.Time
	seen    []time.Duration
	lastAt  time.Time
	// visibleAt is when each id appeared.
	visibleAt map[string]time.Time
}

func newVisibility(pool *pgxpool.Pool, query string) *visibility {
	return &visibility{pool: pool, query: query, every: 2 * time.Millisecond, pending: map[string]time.Time{}, visibleAt: map[string]time.Time{}}
}

func (v *visibility) add(id string, at time.Time) {
	v.mu.Lock()
	v.pending[id] = at
	v.mu.Unlock()
}

func (v *visibility) run(ctx context.Context) {
	for ctx.Err() == nil {
		v.mu.Lock()
		ids := make([]string, 0, len(v.pending))
		for id := range v.pending {
			ids = append(ids, id)
		}
		v.mu.Unlock()
		if len(ids) > 0 {
			rows, err := v.pool.Query(ctx, v.query, ids)
			if err == nil {
				now := time.Now()
				var found []string
				for rows.Next() {
					var id string
					if rows.Scan(&id) == nil {
						found = append(found, id)
					}
				}
				rows.Close()
				v.mu.Lock()
				for _, id := range found {
					if at, ok := v.pending[id]; ok {
						v.seen = append(v.seen, now.Sub(at))
						v.visibleAt[id] = now
						delete(v.pending, id)
						v.lastAt = now
					}
				}
				v.mu.Unlock()
			}
		}
		time.Sleep(v.every)
	}
}

func (v *visibility) waitEmpty(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		v.mu.Lock()
		n := len(v.pending)
		v.mu.Unlock()
		if n == 0 {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// runPipeline drives t at each concurrency: workers map projects in knowledge over HTTP,
// each 201 is timed until the project is in the console's projection (another service,
// reached only through project_mapped).
func runPipeline(ctx context.Context, cfg runConfig, t target, cops []string, region string, levels []int, onLevel func(int) func()) (*Pipeline, error) {
	pool, err := openPool(ctx, t.dbURL, 2)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	nc, js, err := jsConnect(t.natsURL)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	out := &Pipeline{Deployment: t.name, Command: "POST /v1/projects (knowledge)",
		VisibleIn: "console projection (console.projects, fed by knowledge.project_mapped)", PollEvery: "2ms"}
	for _, conc := range levels {
		var stopProfile func()
		if onLevel != nil {
			stopProfile = onLevel(conc)
		}
		vis := newVisibility(pool, "SELECT id FROM console.projects WHERE id = ANY($1)")
		fwd, err := watchForwarded(nc)
		if err != nil {
			return nil, err
		}
		vctx, vcancel := context.WithCancel(ctx)
		go vis.run(vctx)
		count := cfg.pipelineCommands
		var next atomic.Int64
		var errs atomic.Int64
		var firstErr atomic.Value
		httpLat := make([][]time.Duration, conc)
		httpAt := make([][]idAt, conc)
		var last atomic.Int64
		deadline := time.Now().Add(cfg.phaseLimit)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(uint64(conc), uint64(w)))
				for next.Add(1) <= int64(count) && time.Now().Before(deadline) && ctx.Err() == nil {
					var p struct{ ID string }
					t0 := time.Now()
					st, raw, err := call(ctx, "POST", t.knowledge+"/v1/projects", nationalToken, projectBody(r, cops[r.IntN(len(cops))], region), &p)
					at := time.Now()
					if err != nil || st != http.StatusCreated || p.ID == "" {
						errs.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s %v", st, raw, err))
						continue
					}
					httpLat[w] = append(httpLat[w], at.Sub(t0))
					vis.add(p.ID, at)
					httpAt[w] = append(httpAt[w], idAt{p.ID, at})
					last.Store(at.UnixNano())
				}
			}()
		}
		wg.Wait()
		loadStopped := time.Unix(0, last.Load())
		allVisible := vis.waitEmpty(30 * time.Second)
		drain, drained := waitLagZero(js, "COPNET", 30*time.Second, nil)
		drainMs := ms(time.Since(loadStopped))
		if !drained {
			drainMs = ms(drain)
		}
		vcancel()
		fwd.stop()
		if stopProfile != nil {
			stopProfile()
		}
		var all []time.Duration
		for _, l := range httpLat {
			all = append(all, l...)
		}
		vis.mu.Lock()
		l := PipelineLevel{Concurrency: conc, Commands: len(all) + int(errs.Load()), Errors: int(errs.Load()), Visible: len(vis.seen),
			HTTP: summarise(all), EndToEnd: summarise(vis.seen), LagDrainMillis: drainMs, LagDrained: drained && allVisible}
		l.CommitToForwarded, l.ForwardedToVisible = fwd.hops(committedAt(httpAt), vis.visibleAt)
		if !vis.lastAt.IsZero() {
			l.CommandsPerS = round2(float64(len(vis.seen)) / vis.lastAt.Sub(start).Seconds())
		}
		vis.mu.Unlock()
		if e := firstErr.Load(); e != nil {
			logf("pipeline %s ×%d: %d errors, first: %v", t.name, conc, l.Errors, e)
		}
		logf("pipeline %s ×%d: %d commands, %.1f visible/s, e2e p50 %.1fms p99 %.1fms", t.name, conc, l.Commands, l.CommandsPerS, l.EndToEnd.P50, l.EndToEnd.P99)
		out.Levels = append(out.Levels, l)
	}
	return out, nil
}

type idAt struct {
	id string
	at time.Time
}

func committedAt(per [][]idAt) map[string]time.Time {
	out := map[string]time.Time{}
	for _, l := range per {
		for _, x := range l {
			out[x.id] = x.at
		}
	}
	return out
}

// forwarded records when each project_mapped event was published by the forwarder, as a
// core NATS subscriber on the node's server sees it (JetStream stores and this subscriber
// receives the same publish).
type forwarded struct {
	sub *nats.Subscription
	mu  sync.Mutex
	at  map[string]time.Time
}

func watchForwarded(nc *nats.Conn) (*forwarded, error) {
	f := &forwarded{at: map[string]time.Time{}}
	sub, err := nc.Subscribe(events.ProjectMapped{}.EventName().Filter(), func(m *nats.Msg) {
		now := time.Now()
		var ev struct {
			ProjectID string `json:"project_id"`
		}
		if json.Unmarshal(m.Data, &ev) == nil && ev.ProjectID != "" {
			f.mu.Lock()
			if _, ok := f.at[ev.ProjectID]; !ok {
				f.at[ev.ProjectID] = now
			}
			f.mu.Unlock()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("watch forwarded events: %w", err)
	}
	f.sub = sub
	return f, nil
}

func (f *forwarded) stop() { _ = f.sub.Unsubscribe() }

// hops splits each command's end-to-end latency at the moment its event was forwarded.
func (f *forwarded) hops(committed, visible map[string]time.Time) (toForwarded, toVisible Latency) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var a, b []time.Duration
	for id, at := range committed {
		fw, ok := f.at[id]
		if !ok {
			continue
		}
		a = append(a, fw.Sub(at))
		if v, ok := visible[id]; ok {
			b = append(b, v.Sub(fw))
		}
	}
	return summarise(a), summarise(b)
}
