package browser

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeDir holds the pinned axe-core (a11y/package.json and its lock file).
func axeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "a11y")
}

// AxeSource returns axe-core's script at the pinned version, installed with npm ci from the
// lock file into a cache directory outside the repository, once per machine whichever test
// process gets there first (a file lock keeps two from installing into it at once).
func AxeSource(t testing.TB) string {
	t.Helper()
	pin := axeDir()
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	raw, err := os.ReadFile(filepath.Join(pin, "package.json"))
	if err != nil || json.Unmarshal(raw, &pkg) != nil || pkg.Dependencies["axe-core"] == "" {
		t.Fatalf("read the axe-core pin in %s (%v)", pin, err)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "copnet", "axe-core-"+pkg.Dependencies["axe-core"])
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		for _, name := range []string{"package.json", "package-lock.json"} {
			b, err := os.ReadFile(filepath.Join(pin, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := exec.LookPath("npm"); err != nil {
			t.Fatal("axe-core is not installed and npm is missing: install Node.js and npm")
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci axe-core: %v\n%s", err, out)
		}
	}
	js, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
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
