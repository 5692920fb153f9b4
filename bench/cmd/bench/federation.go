package main

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/federation"
	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/registry"
)

// Federation is the federation section.
type Federation struct {
	Topology          string  `json:"topology"`
	Commands          int     `json:"commands"`
	Propagation       Latency `json:"propagation_latency"`
	RecoveryInterval  float64 `json:"sourcing_recovery_interval_ms"`
	PartitionEvents   int     `json:"partition_events"`
	ReconnectMillis   float64 `json:"first_event_after_restore_ms"`
	CatchUpSeconds    float64 `json:"catch_up_seconds"`
	CatchUpRate       float64 `json:"catch_up_msgs_per_s"`
	CatchUpDrainRate  float64 `json:"catch_up_drain_msgs_per_s"`
	CatchUpIncomplete bool    `json:"catch_up_incomplete,omitempty"`
	// FailedAttempts are earlier attempts that failed (each on fresh nodes), kept so a
	// flaky federation start is reported rather than hidden.
	FailedAttempts []string `json:"failed_attempts,omitempty"`
}

// runFederationRetrying runs the federation section up to three times on fresh nodes.
func runFederationRetrying(ctx context.Context, cfg runConfig) (*Federation, error) {
	var failed []string
	for attempt := 1; ; attempt++ {
		f, err := runFederation(ctx, cfg)
		if err == nil {
			f.FailedAttempts = failed
			return f, nil
		}
		failed = append(failed, err.Error())
		logf("federation attempt %d failed: %v", attempt, err)
		if attempt == 3 || ctx.Err() != nil {
			return nil, fmt.Errorf("3 attempts failed: %s", strings.Join(failed, "; "))
		}
	}
}

// stallAfter is the federation component's default: a silent source is re-created after it.
const stallAfter = 3 * time.Second

// runFederation starts national and two regional nodes, each an embedded NATS server
// (pkg/broker) on loopback with its services and its own database; vic's leaf link runs
// through a proxy the run cuts.
func runFederation(ctx context.Context, cfg runConfig) (*Federation, error) {
	var nodes []*inproc
	defer func() {
		for i := len(nodes) - 1; i >= 0; i-- {
			nodes[i].stop()
		}
	}()
	national, err := startBroker("national", "", true)
	if err != nil {
		return nil, err
	}
	nodes = append(nodes, national)
	if err := national.startServices(ctx, registry.Factory, knowledge.Factory, console.Factory,
		federation.Factory(federation.Config{NodeID: "national", Tier: "national", LeafAdvertise: national.topo.LeafListen, Accounts: national.broker})); err != nil {
		return nil, err
	}
	leaf := map[string]string{}
	for _, id := range []string{"vic", "wa"} {
		var body struct {
			LeafURL string `json:"leaf_url"`
		}
		if err := must(ctx, http.StatusCreated, "POST", national.URL+"/v1/nodes", nationalToken,
			map[string]string{"id": id, "tier": "regional", "parent": "national"}, &body); err != nil {
			return nil, err
		}
		leaf[id] = body.LeafURL
	}
	proxy, err := testkit.NewProxy(national.topo.LeafListen)
	if err != nil {
		return nil, err
	}
	defer proxy.Cut()
	regions := map[string]*inproc{}
	for _, id := range []string{"vic", "wa"} {
		u := leaf[id]
		if id == "vic" {
			u = strings.Replace(u, national.topo.LeafListen, proxy.Addr, 1)
		}
		n, err := startBroker(id, u, false)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
		if err := n.startServices(ctx, registry.Factory, knowledge.Factory,
			federation.Factory(federation.Config{NodeID: id, Tier: "regional"})); err != nil {
			return nil, err
		}
		regions[id] = n
	}
	out := &Federation{Topology: "national ← vic (through a cuttable proxy), national ← wa; embedded NATS servers (pkg/broker) on loopback, leaf nodes + stream sourcing",
		RecoveryInterval: ms(stallAfter)}

	// Propagation under steady load: each region maps projects at a steady pace; each is
	// timed from its regional 201 to its row in national's console projection.
	pool, err := openPool(ctx, national.db.URL, 2)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	cops := map[string][]string{}
	for id, n := range regions {
		t := target{registry: n.URL, knowledge: n.URL}
		if cops[id], err = setupCoPs(ctx, t, id, 4); err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
	}
	// Wait until the first projects (from setup) reach national: the links are up.
	warm := newVisibility(pool, "SELECT cop_id FROM console.projects WHERE cop_id = ANY($1)")
	wctx, wcancel := context.WithCancel(ctx)
	go warm.run(wctx)
	warm.add(cops["vic"][0], time.Now())
	warm.add(cops["wa"][0], time.Now())
	ok := warm.waitEmpty(90 * time.Second)
	wcancel()
	if !ok {
		return nil, fmt.Errorf("federation: regional projects never reached national within 90s")
	}
	vis := newVisibility(pool, "SELECT id FROM console.projects WHERE id = ANY($1)")
	vctx, vcancel := context.WithCancel(ctx)
	go vis.run(vctx)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sent := 0
	for id, n := range regions {
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(uint64(len(id)), uint64(w)))
				tick := time.NewTicker(cfg.fedPace)
				defer tick.Stop()
				deadline := time.Now().Add(cfg.phaseLimit)
				for i := 0; i < cfg.fedCommands/4 && time.Now().Before(deadline); i++ {
					<-tick.C
					var p struct{ ID string }
					err := must(ctx, http.StatusCreated, "POST", n.URL+"/v1/projects", nationalToken, projectBody(r, cops[id][r.IntN(len(cops[id]))], id), &p)
					at := time.Now()
					mu.Lock()
					if err != nil {
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						return
					}
					sent++
					mu.Unlock()
					vis.add(p.ID, at)
				}
			}()
		}
	}
	wg.Wait()
	allSeen := vis.waitEmpty(60 * time.Second)
	vcancel()
	if firstErr != nil {
		return nil, firstErr
	}
	if !allSeen {
		return nil, fmt.Errorf("federation: %d projects never reached national within 60s", len(vis.pending))
	}
	out.Commands, out.Propagation = sent, summarise(vis.seen)
	logf("federation: propagation p50 %.1fms p99 %.1fms over %d commands", out.Propagation.P50, out.Propagation.P99, sent)

	// Partition and catch-up: cut vic from national, let vic publish K events, restore,
	// time until national's stream holds all of them.
	nnc, njs, err := jsConnect(national.natsURL())
	if err != nil {
		return nil, err
	}
	defer nnc.Close()
	vnc, vjs, err := jsConnect(regions["vic"].natsURL())
	if err != nil {
		return nil, err
	}
	defer vnc.Close()
	subject := events.RegionCreated{}.EventName().Subject("vic")
	count := func() uint64 {
		info, err := njs.StreamInfo("COPNET", &nats.StreamInfoRequest{SubjectsFilter: subject})
		if err != nil {
			return 0
		}
		return info.State.Subjects[subject]
	}
	base := count()
	proxy.Cut()
	time.Sleep(time.Second)
	k := cfg.partitionEvents
	out.PartitionEvents = k
	g := &generator{b: regions["vic"].bus, js: vjs}
	p := newProgress("partition events at vic", k)
	for i := range k {
		if err := g.publish(p, events.RegionCreated{RegionID: fmt.Sprintf("p%07d", i), Name: "partition"}); err != nil {
			return nil, err
		}
	}
	if err := g.flush(); err != nil {
		return nil, err
	}
	p.finish()
	if got := count(); got != base {
		return nil, fmt.Errorf("federation: %d events crossed a cut link", got-base)
	}
	if err := proxy.Restore(); err != nil {
		return nil, err
	}
	restored := time.Now()
	var first time.Time
	p = newProgress("national catching up", k)
	deadline := restored.Add(cfg.catchUpLimit)
	got := uint64(0)
	for time.Now().Before(deadline) {
		got = count() - base
		if got > 0 && first.IsZero() {
			first = time.Now()
		}
		p.set(int(got))
		if got >= uint64(k) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	end := time.Now()
	p.finish()
	done := end.Sub(restored)
	out.CatchUpSeconds = round2(done.Seconds())
	out.CatchUpRate = round2(float64(got) / done.Seconds())
	if !first.IsZero() {
		out.ReconnectMillis = ms(first.Sub(restored))
		out.CatchUpDrainRate = round2(float64(got) / end.Sub(first).Seconds())
	}
	out.CatchUpIncomplete = got < uint64(k)
	logf("federation: catch-up of %d events in %.2fs (%.0f/s; %.0f/s after the first arrived %.0fms after restore)",
		got, out.CatchUpSeconds, out.CatchUpRate, out.CatchUpDrainRate, out.ReconnectMillis)
	return out, nil
}
