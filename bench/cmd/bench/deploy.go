package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var splitNames = []string{"registry", "membership", "scheduling", "knowledge", "feedback", "console"}

// binaries builds the all-in-one and every split service once per run.
func binaries(cfg runConfig) (string, error) {
	dir := filepath.Join(cfg.workDir, "bin")
	if _, err := os.Stat(filepath.Join(dir, "copnet")); err == nil {
		return dir, nil
	}
	pkgs := []string{"./cmd/copnet"}
	for _, s := range splitNames {
		pkgs = append(pkgs, "./services/"+s+"/cmd/"+s)
	}
	logf("building copnet and the split services")
	return dir, buildBinaries(dir, pkgs...)
}

// runSplit starts a real nats-server process and one process per service on one database
// (a schema each) and drives the pipeline against it.
func runSplit(ctx context.Context, cfg runConfig, levels []int) (*Pipeline, error) {
	bin, err := binaries(cfg)
	if err != nil {
		return nil, err
	}
	natsProc, natsURL, err := startNATSServer(ctx, bin, cfg.workDir, "national", "pw"+randHex(8))
	if err != nil {
		return nil, err
	}
	defer natsProc.stop()
	db, err := newDatabase(ctx)
	if err != nil {
		return nil, err
	}
	defer db.drop()
	urls := map[string]string{}
	var procs []*process
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for _, name := range splitNames {
		addr := freeAddr()
		p, err := startProcess(name, filepath.Join(bin, name), nil, []string{
			"COPNET_NODE_ID=national", "COPNET_NODE_TIER=national", "COPNET_HTTP_ADDR=" + addr,
			"DATABASE_URL=" + db.URL, "COPNET_NATS_URL=" + natsURL, "COPNET_AUTH_SECRET=" + benchSecret,
			"COPNET_LOG_LEVEL=warn",
		}, cfg.workDir)
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		urls[name] = "http://" + addr
		// Services provision the stream at start; one at a time keeps that orderly.
		if err := p.waitHTTP(ctx, urls[name]+"/readyz", 90*time.Second); err != nil {
			return nil, err
		}
	}
	t := target{name: "split", registry: urls["registry"], knowledge: urls["knowledge"], console: urls["console"], natsURL: natsURL, dbURL: db.URL}
	cops, err := setupCoPs(ctx, t, "spl", 10)
	if err != nil {
		return nil, err
	}
	return runPipeline(ctx, cfg, t, cops, "spl", levels, nil)
}

// Memory is the all-in-one binary's resident set, read from /proc/<pid>/status.
type Memory struct {
	IdleHWMMB float64        `json:"idle_peak_rss_mb"`
	IdleRSSMB float64        `json:"idle_rss_mb"`
	LoadHWMMB float64        `json:"load_peak_rss_mb"`
	LoadRSSMB float64        `json:"load_rss_mb"`
	IdleAfter string         `json:"idle_measured_after"`
	Load      *PipelineLevel `json:"load"`
}

// runMemory starts the copnet binary (embedded NATS, every service) on a fresh database and
// reads its peak RSS idle, then under the pipeline's load at the highest concurrency.
func runMemory(ctx context.Context, cfg runConfig, conc int) (*Memory, error) {
	a, err := startAllInOne(ctx, cfg, "copnet")
	if err != nil {
		return nil, err
	}
	defer a.stop()
	p, u, db, data, natsAddr := a.process, a.url, a.db, a.dataDir, a.natsAddr
	time.Sleep(cfg.idleWait)
	pid := p.cmd.Process.Pid
	m := &Memory{IdleAfter: cfg.idleWait.String()}
	hwm, err := memKB(pid, "VmHWM")
	if err != nil {
		return nil, err
	}
	rss, _ := memKB(pid, "VmRSS")
	m.IdleHWMMB, m.IdleRSSMB = round2(float64(hwm)/1024), round2(float64(rss)/1024)
	pw, err := os.ReadFile(filepath.Join(data, "nats-password"))
	if err != nil {
		return nil, fmt.Errorf("all-in-one nats password: %w", err)
	}
	t := target{name: "all-in-one binary", registry: u, knowledge: u, console: u, dbURL: db.URL,
		natsURL: fmt.Sprintf("nats://copnet:%s@%s", strings.TrimSpace(string(pw)), natsAddr)}
	cops, err := setupCoPs(ctx, t, "mem", 10)
	if err != nil {
		return nil, err
	}
	pl, err := runPipeline(ctx, cfg, t, cops, "mem", []int{conc}, nil)
	if err != nil {
		return nil, err
	}
	m.Load = &pl.Levels[0]
	hwm, err = memKB(pid, "VmHWM")
	if err != nil {
		return nil, err
	}
	rss, _ = memKB(pid, "VmRSS")
	m.LoadHWMMB, m.LoadRSSMB = round2(float64(hwm)/1024), round2(float64(rss)/1024)
	return m, nil
}

// allInOne is the copnet binary running as operators run it, on its own database.
type allInOne struct {
	process                *process
	db                     *database
	url, dataDir, natsAddr string
}

// startAllInOne starts the copnet binary named name (its data under the run's work dir)
// and waits until it is ready.
func startAllInOne(ctx context.Context, cfg runConfig, name string) (*allInOne, error) {
	bin, err := binaries(cfg)
	if err != nil {
		return nil, err
	}
	db, err := newDatabase(ctx)
	if err != nil {
		return nil, err
	}
	a := &allInOne{db: db, dataDir: filepath.Join(cfg.workDir, name+"-data"), natsAddr: freeAddr()}
	addr := freeAddr()
	a.process, err = startProcess(name, filepath.Join(bin, "copnet"), nil, []string{
		"COPNET_DATA_DIR=" + a.dataDir, "DATABASE_URL=" + db.URL, "COPNET_HTTP_ADDR=" + addr,
		"COPNET_AUTH_SECRET=" + benchSecret, "COPNET_NATS_LISTEN=" + a.natsAddr, "COPNET_LOG_LEVEL=warn",
	}, cfg.workDir)
	if err != nil {
		db.drop()
		return nil, err
	}
	a.url = "http://" + addr
	if err := a.process.waitHTTP(ctx, a.url+"/readyz", 90*time.Second); err != nil {
		a.stop()
		return nil, err
	}
	return a, nil
}

func (a *allInOne) stop() {
	a.process.stop()
	a.db.drop()
}
