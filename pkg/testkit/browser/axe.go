package browser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeDir holds the pinned axe-core (a11y/package.json and its lock); node_modules is
// installed there on first use and ignored by git.
func axeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "a11y")
}

var axeOnce sync.Mutex

// AxeSource returns axe-core's script, installing the pinned version with npm on first use.
func AxeSource(t testing.TB) string {
	t.Helper()
	axeOnce.Lock()
	defer axeOnce.Unlock()
	dir := axeDir()
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Fatalf("axe-core is not installed and npm is missing: install Node.js and npm, or run npm ci --prefix %s", dir)
		}
		if out, err := exec.Command("npm", "ci", "--prefix", dir, "--no-audit", "--no-fund").CombinedOutput(); err != nil {
			t.Fatalf("npm ci axe-core: %v\n%s", err, out)
		}
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// axeViolation is one failed axe rule.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// CheckAccessibility runs axe-core (AxeSource) in the page ctx shows and fails t on serious
// or critical violations; lesser ones are logged.
func CheckAccessibility(t testing.TB, ctx context.Context, axe, what string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](axe)); err != nil {
		t.Fatalf("load axe-core into %s: %v", what, err)
	}
	type report struct {
		Passes     int            `json:"passes"`
		Violations []axeViolation `json:"violations"`
	}
	res, err := chromedp.Run(ctx, chromedp.Evaluate[report](`axe.run(document).then(r => ({passes: r.passes.length,
			violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))}))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe on %s: %v", what, err)
	}
	if res.Passes == 0 {
		t.Fatalf("axe checked nothing on %s", what)
	}
	t.Logf("axe on %s: %d rules passed, %d violations of any impact", what, res.Passes, len(res.Violations))
	for _, v := range res.Violations {
		if v.Impact != "serious" && v.Impact != "critical" {
			t.Logf("axe, %s: %s (%s): %s at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
			continue
		}
		t.Errorf("accessibility, %s: %s (%s): %s at %v", what, v.ID, v.Impact, v.Help, v.Nodes)
	}
}
