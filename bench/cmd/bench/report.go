package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Results is everything one run measured: bench/results/<date>.json.
type Results struct {
	Date         string  `json:"date"`
	Started      string  `json:"started"`
	Seconds      float64 `json:"seconds"`
	Quick        bool    `json:"quick"`
	ScaleFactor  float64 `json:"scale_factor"`
	Split        bool    `json:"split"`
	ConcurrencyN int     `json:"concurrency_n"`
	Machine      Machine `json:"machine"`
	Baselines    struct {
		JetStream  *JetStreamBaseline `json:"jetstream"`
		PostgreSQL *PostgresBaseline  `json:"postgresql"`
	} `json:"baselines"`
	Pipeline   []*Pipeline   `json:"pipeline"`
	Scale      *Scale        `json:"scale"`
	Federation *Federation   `json:"federation"`
	Memory     *Memory       `json:"memory"`
	Live       *Live         `json:"live"`
	Ratios     []Ratio       `json:"ratios"`
	Profiles   []*ProfileTop `json:"profiles,omitempty"`
	Error      string        `json:"error,omitempty"`
}

// Machine is where the run happened.
type Machine struct {
	Cores      int     `json:"cores"`
	MemoryGB   float64 `json:"memory_gb"`
	CPU        string  `json:"cpu"`
	OS         string  `json:"os"`
	Go         string  `json:"go"`
	NATSServer string  `json:"nats_server"`
	NATSClient string  `json:"nats_go"`
	PostgreSQL string  `json:"postgresql"`
}

func machine(ctx context.Context) (Machine, error) {
	m := Machine{Cores: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version(),
		NATSServer: server.VERSION, NATSClient: nats.Version}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
				m.MemoryGB = round2(kb / 1024 / 1024)
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += " " + strings.TrimSpace(string(b))
	}
	conn, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		return m, fmt.Errorf("postgres at %s: %w (start it: make postgres)", redacted(adminURL()), err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err == nil {
		m.PostgreSQL = "PostgreSQL " + v
	}
	return m, nil
}

// Ratio is one of the aims ("The ratios we aim for"): reported, never asserted.
type Ratio struct {
	Name   string   `json:"name"`
	Aim    string   `json:"aim"`
	Value  *float64 `json:"value"`
	Target float64  `json:"target"`
	Detail string   `json:"detail"`
	Met    bool     `json:"met"`
	Status string   `json:"status"` // met | missed | not measured
}

// RatioNames are every ratio of the issue, in its order.
var RatioNames = []string{
	"pipeline_vs_pg_outbox_c1", "pipeline_vs_pg_outbox_cN", "consumer_lag_zero_within_1s",
	"e2e_p50_vs_pg_commit_plus_js_rtt",
	"growth_overlap_check", "growth_national_summary",
	"catch_up_vs_js_consume", "propagation_p99_vs_recovery_interval",
	"idle_rss_mb", "live_room_vs_pg_insert_cN", "live_presenter_lag_ms",
}

func (r *Results) computeRatios() {
	r.Ratios = nil
	add := func(name, aim string, target float64, atMost bool, value *float64, detail string) {
		x := Ratio{Name: name, Aim: aim, Target: target, Value: value, Detail: detail, Status: "not measured"}
		if value != nil {
			v := round2(*value)
			x.Value = &v
			if atMost {
				x.Met = *value <= target
			} else {
				x.Met = *value >= target
			}
			x.Status = map[bool]string{true: "met", false: "missed"}[x.Met]
		}
		r.Ratios = append(r.Ratios, x)
	}
	f := func(v float64) *float64 { return &v }
	js, pg := r.Baselines.JetStream, r.Baselines.PostgreSQL
	var pipe *Pipeline
	if len(r.Pipeline) > 0 {
		pipe = r.Pipeline[0]
	}
	for _, c := range []struct {
		name string
		conc int
	}{{"pipeline_vs_pg_outbox_c1", 1}, {"pipeline_vs_pg_outbox_cN", r.ConcurrencyN}} {
		var v *float64
		detail := ""
		if pipe != nil && pg != nil {
			l, ok1 := pipe.level(c.conc)
			b, ok2 := pg.rate("insert_outbox", c.conc)
			if ok1 && ok2 && b.TxPerSecond > 0 {
				v = f(l.CommandsPerS / b.TxPerSecond)
				detail = fmt.Sprintf("%.1f commands/s visible vs %.1f insert+outbox tx/s at concurrency %d", l.CommandsPerS, b.TxPerSecond, c.conc)
			}
		}
		add(c.name, fmt.Sprintf("pipeline commands/s ≥ 0.6 × PostgreSQL insert+outbox tx/s at concurrency %d", c.conc), 0.6, false, v, detail)
	}
	{
		var v *float64
		detail := ""
		if pipe != nil && len(pipe.Levels) > 0 {
			worst, drained := 0.0, true
			for _, l := range pipe.Levels {
				worst = max(worst, l.LagDrainMillis)
				drained = drained && l.LagDrained
			}
			v = f(worst)
			detail = fmt.Sprintf("slowest level: consumer lag zero %.0f ms after the last 201", worst)
			if !drained {
				v = f(max(worst, 30_000))
				detail = fmt.Sprintf("at some level the lag was not zero 30 s after load stopped (slowest measured: %.0f ms)", worst)
			}
		}
		add("consumer_lag_zero_within_1s", "consumers keep up: lag returns to zero within a second after load stops (ms)", 1000, true, v, detail)
	}
	{
		var v *float64
		detail := ""
		if pipe != nil && pg != nil && js != nil {
			l, ok1 := pipe.level(1)
			b, ok2 := pg.rate("insert_outbox", 1)
			if ok1 && ok2 {
				floor := b.RoundTrip.P50 + js.PubToConsume.P50
				if floor > 0 {
					v = f(l.EndToEnd.P50 / floor)
					detail = fmt.Sprintf("e2e p50 %.2f ms vs PostgreSQL commit %.2f ms + JetStream publish→consume %.2f ms", l.EndToEnd.P50, b.RoundTrip.P50, js.PubToConsume.P50)
				}
			}
		}
		add("e2e_p50_vs_pg_commit_plus_js_rtt", "end-to-end p50 ≤ 5 × (PostgreSQL commit round trip + JetStream publish-to-consume round trip)", 5, true, v, detail)
	}
	for _, g := range []struct {
		name, what string
		pick       func(ScalePoint) Latency
	}{{"growth_overlap_check", "overlap check", func(p ScalePoint) Latency { return p.Overlap }},
		{"growth_national_summary", "national summary", func(p ScalePoint) Latency { return p.Summary }}} {
		var v *float64
		detail := ""
		if r.Scale != nil && len(r.Scale.Points) == 2 {
			a, b := g.pick(r.Scale.Points[0]), g.pick(r.Scale.Points[1])
			if a.P50 > 0 {
				v = f(b.P50 / a.P50)
				detail = fmt.Sprintf("p50 %.2f ms at 100%% vs %.2f ms at 1%%", b.P50, a.P50)
			}
		}
		add(g.name, "at 100% of the dataset the "+g.what+" costs ≤ 2× what it costs at 1% (p50)", 2, true, v, detail)
	}
	{
		var v *float64
		detail := ""
		if r.Federation != nil && js != nil && js.ConsumeRate > 0 && r.Federation.CatchUpDrainRate > 0 {
			v = f(r.Federation.CatchUpDrainRate / js.ConsumeRate)
			detail = fmt.Sprintf("catch-up %.0f msgs/s (from the first arrival; %.0f/s from the restore) vs raw consume %.0f msgs/s", r.Federation.CatchUpDrainRate, r.Federation.CatchUpRate, js.ConsumeRate)
		}
		add("catch_up_vs_js_consume", "federation catch-up drains at ≥ 0.5 × the raw JetStream consume rate", 0.5, false, v, detail)
	}
	{
		var v *float64
		detail := ""
		if r.Federation != nil && r.Federation.Propagation.N > 0 {
			v = f(r.Federation.Propagation.P99 / r.Federation.RecoveryInterval)
			detail = fmt.Sprintf("propagation p99 %.1f ms vs recovery interval (StallAfter) %.0f ms", r.Federation.Propagation.P99, r.Federation.RecoveryInterval)
		}
		add("propagation_p99_vs_recovery_interval", "propagation p99 stays under the sourcing layer's recovery interval in steady state (ratio < 1)", 1, true, v, detail)
	}
	{
		var v *float64
		detail := ""
		if r.Memory != nil {
			v = f(r.Memory.IdleHWMMB)
			detail = fmt.Sprintf("idle peak RSS (VmHWM) %.1f MB, RSS %.1f MB", r.Memory.IdleHWMMB, r.Memory.IdleRSSMB)
		}
		add("idle_rss_mb", "the all-in-one idles under 150 MB RSS", 150, true, v, detail)
	}
	{
		var v *float64
		detail := ""
		if l := r.Live; l != nil && pg != nil {
			if b, ok := pg.rate("insert", r.ConcurrencyN); ok && b.TxPerSecond > 0 && l.BurstN > 0 {
				v = f(l.AcceptedPS / b.TxPerSecond)
				detail = fmt.Sprintf("%.0f answers accepted/s by %d phones vs %.0f single-row inserts/s at concurrency %d", l.AcceptedPS, l.Concurrency, b.TxPerSecond, r.ConcurrencyN)
			}
		}
		add("live_room_vs_pg_insert_cN", fmt.Sprintf("a live room accepts answers at ≥ 0.5 × PostgreSQL single-row inserts/s at concurrency %d", r.ConcurrencyN), 0.5, false, v, detail)
	}
	{
		var v *float64
		detail := ""
		if l := r.Live; l != nil && l.Presenter.N > 0 {
			v = f(max(l.Presenter.P99, l.PresenterFinal))
			if l.PresenterFinal < 0 {
				v = f(30_000)
			}
			detail = fmt.Sprintf("presenter (%s) behind each step of answers: %s; after the last answer %.0f ms", l.PresenterVia, latencyText(l.Presenter), l.PresenterFinal)
		}
		add("live_presenter_lag_ms", "the presenter's results are at most 1 s behind the answers (p99 per step, and after the last)", 1000, true, v, detail)
	}
}

func latencyText(l Latency) string {
	return fmt.Sprintf("p50 %.2f / p99 %.2f ms (n=%d)", l.P50, l.P99, l.N)
}

// Markdown is the table printed at the end.
func (r *Results) Markdown() string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	row := func(section, figure, value string) { w("| %s | %s | %s |", section, figure, value) }
	w("## copnet bench %s (quick=%v, scale=%g, split=%v, %.0fs)", r.Date, r.Quick, r.ScaleFactor, r.Split, r.Seconds)
	w("")
	w("Machine: %d cores, %.1f GB, %s; %s; NATS server %s (nats.go %s); %s", r.Machine.Cores, r.Machine.MemoryGB, r.Machine.CPU, r.Machine.Go, r.Machine.NATSServer, r.Machine.NATSClient, r.Machine.PostgreSQL)
	w("")
	w("| section | figure | value |")
	w("|---|---|---|")
	lat := func(l Latency) string {
		return fmt.Sprintf("p50 %.2f / p95 %.2f / p99 %.2f ms (n=%d)", l.P50, l.P95, l.P99, l.N)
	}
	if js := r.Baselines.JetStream; js != nil {
		row("baseline JetStream", "sync publish", fmt.Sprintf("%.0f msg/s, %s", js.SyncPublishRate, lat(js.SyncPublish)))
		row("baseline JetStream", "async publish", fmt.Sprintf("%.0f msg/s, ack %s", js.AsyncPublishRate, lat(js.AsyncPublish)))
		row("baseline JetStream", "consume (pull, explicit ack)", fmt.Sprintf("%.0f msg/s", js.ConsumeRate))
		row("baseline JetStream", "publish → consume", lat(js.PubToConsume))
	}
	if pg := r.Baselines.PostgreSQL; pg != nil {
		for _, l := range pg.Levels {
			row("baseline PostgreSQL", fmt.Sprintf("%s ×%d", l.Kind, l.Concurrency), fmt.Sprintf("%.0f tx/s, commit %s", l.TxPerSecond, lat(l.RoundTrip)))
		}
	}
	for _, p := range r.Pipeline {
		for _, l := range p.Levels {
			row("pipeline "+p.Deployment, fmt.Sprintf("×%d: %d commands (%d errors)", l.Concurrency, l.Commands, l.Errors),
				fmt.Sprintf("%.1f cmd/s visible; HTTP %s; 201→visible %s (201→forwarded %s, forwarded→visible %s); lag zero %.0f ms after load", l.CommandsPerS, lat(l.HTTP), lat(l.EndToEnd), lat(l.CommitToForwarded), lat(l.ForwardedToVisible), l.LagDrainMillis))
		}
	}
	if s := r.Scale; s != nil {
		for _, p := range s.Points {
			sec := fmt.Sprintf("scale %.0f%%", p.Fraction*100)
			row(sec, "dataset", fmt.Sprintf("%d regions, %d CoPs, %d people, %d projects, %d attendance records (%d events, built in %.0fs)",
				p.Dataset.Regions, p.Dataset.CoPs, p.Dataset.People, p.Dataset.Projects, p.Dataset.Attendance, p.Events, p.BuildSeconds))
			row(sec, "overlap check (201 → overlap recorded)", lat(p.Overlap))
			row(sec, "national summary", lat(p.Summary))
			row(sec, "gaps query", lat(p.Gaps))
			row(sec, "CoP calendar feed", lat(p.Calendar))
		}
	}
	if f := r.Federation; f != nil {
		row("federation", fmt.Sprintf("propagation regional 201 → national projection (%d commands)", f.Commands), lat(f.Propagation))
		row("federation", fmt.Sprintf("catch-up of %d events after a partition", f.PartitionEvents),
			fmt.Sprintf("%.2fs: %.0f msg/s from restore, %.0f msg/s from first arrival (%.0f ms after restore)", f.CatchUpSeconds, f.CatchUpRate, f.CatchUpDrainRate, f.ReconnectMillis))
	}
	if m := r.Memory; m != nil {
		row("memory", "all-in-one idle", fmt.Sprintf("peak RSS %.1f MB (RSS %.1f MB)", m.IdleHWMMB, m.IdleRSSMB))
		row("memory", "all-in-one under pipeline load", fmt.Sprintf("peak RSS %.1f MB (RSS %.1f MB)", m.LoadHWMMB, m.LoadRSSMB))
	}
	if l := r.Live; l != nil {
		row("live room", fmt.Sprintf("%d phones over %.0fs: %d accepted, %d refused", l.Participants, l.Seconds, l.Accepted, l.Refused),
			fmt.Sprintf("question %s; answer %s", lat(l.Question), lat(l.Answer)))
		row("live room", "presenter ("+l.PresenterVia+") behind the answers, per step", fmt.Sprintf("%s; after the last answer %.0f ms", lat(l.Presenter), l.PresenterFinal))
		row("live room", fmt.Sprintf("burst: %d answers by %d phones", l.BurstN, l.Concurrency), fmt.Sprintf("%.0f accepted/s, answer %s", l.AcceptedPS, lat(l.Burst)))
		row("live room", "copnet process", fmt.Sprintf("peak RSS %.1f MB (RSS %.1f MB)", l.HWMMB, l.RSSMB))
	}
	w("")
	w("| ratio | aim | value | status |")
	w("|---|---|---|---|")
	for _, x := range r.Ratios {
		v := "—"
		if x.Value != nil {
			v = strconv.FormatFloat(*x.Value, 'f', 2, 64)
		}
		w("| %s | %s | %s (target %g) %s | **%s** |", x.Name, x.Aim, v, x.Target, x.Detail, x.Status)
	}
	if r.Error != "" {
		w("")
		w("Run stopped early: %s", r.Error)
	}
	return b.String()
}
