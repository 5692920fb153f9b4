// Command bench measures copnet against the raw limits of NATS JetStream and PostgreSQL in
// the same run: baselines first, then the pipeline (all-in-one, and --split with one process
// per service), a national dataset at 1% and 100%, a federation of three nodes, and the
// all-in-one's memory. It prints a Markdown table and writes bench/results/<date>.json.
//
//	go run ./bench/cmd/bench [--quick] [--scale F] [--split] [--out DIR]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// runConfig bounds every loop of the run in count and in time.
type runConfig struct {
	quick, split     bool
	scale            float64
	out, workDir     string
	concurrencyN     int
	levels           []int
	jsMessages       int
	rttSamples       int
	pgTransactions   int
	pipelineCommands int
	phaseLimit       time.Duration
	datasetFactor    float64
	scaleSamples     int
	fedCommands      int
	fedPace          time.Duration
	partitionEvents  int
	catchUpLimit     time.Duration
	idleWait         time.Duration
	profile          bool
	liveParticipants int
	liveWindow       time.Duration
	liveBurst        int
	sections         map[string]bool // nil: every section
}

// wants reports whether the run includes section (baselines always run: every ratio is
// against the same run's baselines).
func (c runConfig) wants(section string) bool { return c.sections == nil || c.sections[section] }

func newConfig(quick, split bool, scale float64, out string) runConfig {
	n := max(8, 2*runtime.NumCPU())
	c := runConfig{quick: quick, split: split, scale: scale, out: out, concurrencyN: n}
	if quick {
		c.levels = []int{1, n}
		c.jsMessages, c.rttSamples, c.pgTransactions, c.pipelineCommands = 2000, 100, 300, 60
		c.phaseLimit, c.datasetFactor, c.scaleSamples = 15*time.Second, 0.005*scale, 5
		c.fedCommands, c.fedPace, c.partitionEvents = 40, 50*time.Millisecond, max(100, int(1000*scale))
		c.catchUpLimit, c.idleWait = time.Minute, 2*time.Second
		c.liveParticipants, c.liveWindow, c.liveBurst = 200, 5*time.Second, 300
		return c
	}
	c.levels = []int{1, 2, 4, n}
	c.jsMessages, c.rttSamples, c.pgTransactions, c.pipelineCommands = 20000, 500, 3000, 600
	c.phaseLimit, c.datasetFactor, c.scaleSamples = time.Minute, scale, 30
	c.fedCommands, c.fedPace, c.partitionEvents = 400, 50*time.Millisecond, max(1000, int(100_000*scale))
	c.catchUpLimit, c.idleWait, c.profile = 5*time.Minute, 5*time.Second, true
	c.liveParticipants, c.liveWindow, c.liveBurst = 5000, 60*time.Second, 5000
	return c
}

func main() {
	quick := flag.Bool("quick", false, "small sizes, about two minutes: checks the harness runs, not speed")
	scale := flag.Float64("scale", 1, "multiply the national dataset and the partition size by F")
	split := flag.Bool("split", false, "also run the pipeline with one process per service on a nats-server process")
	out := flag.String("out", "", "directory for <date>.json (default bench/results)")
	only := flag.String("sections", "", "run only these sections after the baselines (comma list of pipeline, memory, live, scale, federation); results go to <date>-<sections>.json")
	flag.Parse()
	if *scale <= 0 {
		fmt.Fprintln(os.Stderr, "bench: --scale must be positive")
		os.Exit(2)
	}
	if *out == "" {
		root, err := repoRoot()
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		*out = filepath.Join(root, "bench", "results")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := newConfig(*quick, *split, *scale, *out)
	if *only != "" {
		cfg.sections = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			cfg.sections[strings.TrimSpace(s)] = true
		}
	}
	res, path, err := run(ctx, cfg)
	if res != nil {
		fmt.Print(res.Markdown())
	}
	if path != "" {
		fmt.Fprintln(os.Stderr, "bench: results in", path)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run executes every section in order and writes the results, even partial ones.
func run(ctx context.Context, cfg runConfig) (*Results, string, error) {
	work, err := os.MkdirTemp("", "copnet-bench-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(work)
	cfg.workDir = work
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return nil, "", err
	}
	started := time.Now()
	res := &Results{Date: started.Format("2006-01-02"), Started: started.UTC().Format(time.RFC3339),
		Quick: cfg.quick, ScaleFactor: cfg.scale, Split: cfg.split, ConcurrencyN: cfg.concurrencyN}
	stem := res.Date
	if cfg.quick {
		stem += "-quick"
	}
	if cfg.sections != nil {
		var names []string
		for _, s := range []string{"pipeline", "memory", "live", "scale", "federation"} {
			if cfg.sections[s] {
				names = append(names, s)
			}
		}
		stem += "-" + strings.Join(names, "-")
	}
	path := filepath.Join(cfg.out, stem+".json")
	err = sections(ctx, cfg, res, stem)
	res.Seconds = round2(time.Since(started).Seconds())
	res.computeRatios()
	if err != nil {
		res.Error = err.Error()
	}
	raw, jerr := json.MarshalIndent(res, "", "  ")
	if jerr != nil {
		return res, "", jerr
	}
	if werr := os.WriteFile(path, append(raw, '\n'), 0o644); werr != nil {
		return res, "", werr
	}
	return res, path, err
}

func sections(ctx context.Context, cfg runConfig, res *Results, stem string) error {
	var err error
	if res.Machine, err = machine(ctx); err != nil {
		return err
	}
	logf("machine: %d cores, %.1f GB, %s, NATS %s, %s", res.Machine.Cores, res.Machine.MemoryGB, res.Machine.Go, res.Machine.NATSServer, res.Machine.PostgreSQL)

	// 1. Baselines: JetStream on an embedded server rendered as the all-in-one's (file
	// store, sync_interval always), PostgreSQL on the server every section uses.
	node, err := startBroker("national", "", false)
	if err != nil {
		return err
	}
	logf("baselines: JetStream (file stream, sync_interval always)")
	res.Baselines.JetStream, err = benchJetStream(cfg, node.natsURL())
	node.stop()
	if err != nil {
		return fmt.Errorf("jetstream baseline: %w", err)
	}
	logf("baselines: PostgreSQL")
	db, err := newDatabase(ctx)
	if err != nil {
		return err
	}
	res.Baselines.PostgreSQL, err = benchPostgres(ctx, cfg, db.URL, []int{1, cfg.concurrencyN})
	db.drop()
	if err != nil {
		return fmt.Errorf("postgres baseline: %w", err)
	}
	if cfg.wants("pipeline") {
		if err := pipelines(ctx, cfg, res, stem); err != nil {
			return err
		}
	}
	if cfg.wants("memory") {
		// 5. Memory of the all-in-one binary.
		logf("memory: copnet binary idle and under load")
		if res.Memory, err = runMemory(ctx, cfg, cfg.concurrencyN); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	if cfg.wants("live") {
		// A live room: phones answering one open poll by code, a presenter following.
		logf("live: %d participants over %s, then a burst of %d", cfg.liveParticipants, cfg.liveWindow, cfg.liveBurst)
		if res.Live, err = runLive(ctx, cfg); err != nil {
			return fmt.Errorf("live: %w", err)
		}
	}
	if cfg.wants("scale") {
		// 3. Scale.
		var scaleProfile string
		if res.Scale, err = runScale(ctx, cfg, func() func() {
			if !cfg.profile {
				return nil
			}
			return startProfile(cfg, stem+"-scale", &scaleProfile)
		}); err != nil {
			return fmt.Errorf("scale: %w", err)
		}
		res.Scale.Profile = scaleProfile
		if pt := profileTop(scaleProfile); pt != nil {
			res.Profiles = append(res.Profiles, pt)
		}
	}
	if cfg.wants("federation") {
		// 4. Federation.
		logf("federation: national + vic + wa")
		if res.Federation, err = runFederationRetrying(ctx, cfg); err != nil {
			return fmt.Errorf("federation: %w", err)
		}
	}
	return nil
}

// pipelines runs the pipeline section: the all-in-one in process, then --split. The
// baselines' node serves it again, so they share the broker's store and the server.
func pipelines(ctx context.Context, cfg runConfig, res *Results, stem string) error {
	node, err := startBroker("national", "", false)
	if err != nil {
		return err
	}
	defer node.stop()
	if err := node.startServices(ctx, allServices...); err != nil {
		return fmt.Errorf("all-in-one node: %w", err)
	}
	// 2. Pipeline, all-in-one in process (every service, node.Start/Run as production).
	logf("pipeline: all-in-one in process")
	t := target{name: "all-in-one (in process)", registry: node.URL, knowledge: node.URL, console: node.URL, natsURL: node.natsURL(), dbURL: node.db.URL}
	cops, err := setupCoPs(ctx, t, "pip", 10)
	if err != nil {
		return fmt.Errorf("pipeline setup: %w", err)
	}
	top := cfg.levels[len(cfg.levels)-1]
	var profile string
	p, err := runPipeline(ctx, cfg, t, cops, "pip", cfg.levels, func(c int) func() {
		if !cfg.profile || c != top {
			return nil
		}
		return startProfile(cfg, stem+"-pipeline", &profile)
	})
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	p.Profile = profile
	res.Pipeline = append(res.Pipeline, p)
	node.stop()
	if pt := profileTop(profile); pt != nil {
		res.Profiles = append(res.Profiles, pt)
	}

	if cfg.split {
		logf("pipeline: split (one process per service, nats-server process)")
		sp, err := runSplit(ctx, cfg, []int{1, cfg.concurrencyN})
		if err != nil {
			return fmt.Errorf("split pipeline: %w", err)
		}
		res.Pipeline = append(res.Pipeline, sp)
	}

	return nil
}

// startProfile records a CPU profile of this process (the in-process node runs here).
func startProfile(cfg runConfig, name string, path *string) func() {
	f, err := os.Create(filepath.Join(cfg.out, name+".cpu.pprof"))
	if err != nil {
		logf("profile: %v", err)
		return nil
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		logf("profile: %v", err)
		return nil
	}
	*path = f.Name()
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// ProfileTop is the top of a CPU profile, cumulative, as go tool pprof prints it.
type ProfileTop struct {
	File string   `json:"file"`
	Top  []string `json:"top"`
}

func profileTop(path string) *ProfileTop {
	if path == "" {
		return nil
	}
	exe, _ := os.Executable()
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", exe, path).Output()
	if err != nil {
		out, err = exec.Command("go", "tool", "pprof", "-top", "-nodecount=25", path).Output()
	}
	if err != nil {
		return &ProfileTop{File: path, Top: []string{"go tool pprof: " + err.Error()}}
	}
	return &ProfileTop{File: path, Top: strings.Split(strings.TrimSpace(string(out)), "\n")}
}
