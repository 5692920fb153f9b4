package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestQuickRunReportsEverySectionAndRatio runs the quick benchmark for real (PostgreSQL,
// embedded NATS servers, the copnet binary) and checks its JSON: every section is there and
// every ratio of the issue is reported as met or missed. Speed is not checked.
func TestQuickRunReportsEverySectionAndRatio(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a whole quick bench run")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	res, path, err := run(ctx, newConfig(true, false, 1, out))
	if err != nil {
		t.Fatalf("quick run: %v", err)
	}
	if want := filepath.Join(out, res.Date+"-quick.json"); path != want {
		t.Errorf("results written to %s, want %s", path, want)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("results are not JSON: %v", err)
	}
	for _, section := range []string{"machine", "baselines", "pipeline", "scale", "federation", "memory", "live", "ratios"} {
		if v, ok := doc[section]; !ok || string(v) == "null" {
			t.Errorf("section %q missing from %s", section, path)
		}
	}
	var got Results
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.Machine.Cores < 1 || got.Machine.NATSServer == "" || got.Machine.PostgreSQL == "" || got.Machine.Go == "" {
		t.Errorf("machine incomplete: %+v", got.Machine)
	}
	if js := got.Baselines.JetStream; js == nil || js.SyncPublishRate <= 0 || js.AsyncPublishRate <= 0 || js.ConsumeRate <= 0 || js.PubToConsume.N == 0 {
		t.Errorf("JetStream baseline incomplete: %+v", js)
	}
	if pg := got.Baselines.PostgreSQL; pg == nil || len(pg.Levels) != 4 {
		t.Errorf("PostgreSQL baseline: want insert and insert+outbox at 1 and N: %+v", pg)
	}
	if len(got.Pipeline) == 0 || len(got.Pipeline[0].Levels) < 2 {
		t.Fatalf("pipeline: want rising concurrency levels, got %+v", got.Pipeline)
	}
	for _, l := range got.Pipeline[0].Levels {
		if l.Visible == 0 || l.EndToEnd.N == 0 {
			t.Errorf("pipeline level %d saw nothing visible: %+v", l.Concurrency, l)
		}
	}
	if got.Scale == nil || len(got.Scale.Points) != 2 || got.Scale.Points[0].Fraction != 0.01 || got.Scale.Points[1].Fraction != 1 {
		t.Errorf("scale: want points at 1%% and 100%%: %+v", got.Scale)
	}
	if f := got.Federation; f == nil || f.Propagation.N == 0 || f.CatchUpIncomplete || f.CatchUpDrainRate <= 0 {
		t.Errorf("federation incomplete: %+v", f)
	}
	if m := got.Memory; m == nil || m.IdleHWMMB <= 0 || m.LoadHWMMB < m.IdleHWMMB {
		t.Errorf("memory incomplete: %+v", m)
	}
	if l := got.Live; l == nil || l.Accepted == 0 || l.Refused != 0 || l.BurstN == 0 || l.Presenter.N == 0 || l.PresenterFinal < 0 || l.HWMMB <= 0 {
		t.Errorf("live room incomplete (every phone's answer accepted, the presenter followed to the last step): %+v", l)
	}
	ratios := map[string]Ratio{}
	for _, r := range got.Ratios {
		ratios[r.Name] = r
	}
	for _, name := range RatioNames {
		r, ok := ratios[name]
		switch {
		case !ok:
			t.Errorf("ratio %s missing", name)
		case r.Value == nil || (r.Status != "met" && r.Status != "missed") || r.Met != (r.Status == "met"):
			t.Errorf("ratio %s not reported as met or missed: %+v", name, r)
		}
	}
	if len(got.Ratios) != len(RatioNames) {
		t.Errorf("%d ratios reported, the issue has %d", len(got.Ratios), len(RatioNames))
	}
}
