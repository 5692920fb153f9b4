package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/testkit"
)

// readmeTryIt returns the shell lines of the README's "Try it" section, in order.
func readmeTryIt(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	section, block := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "## "):
			section = l == "## Try it"
		case section && strings.HasPrefix(l, "```"):
			block = !block && strings.HasPrefix(l, "```sh")
		case section && block:
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatal(`README has no sh block under "## Try it"`)
	}
	return lines
}

// TestReadmeTryItWorksAsPasted builds the all-in-one and copctl, starts copnet as the README
// says (no settings but a data dir; PostgreSQL from the test server to save a cluster's
// start-up, which tests/ covers), and runs the README's "Try it" lines in order in bash, as
// a newcomer pastes them: `go run ./cmd/X` becomes the built binary and localhost:8080 the
// test's address. Any failing line (curl -f, a copctl exit code) fails the test.
func TestReadmeTryItWorksAsPasted(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: builds the all-in-one and copctl and runs the README's Try it lines")
	}
	lines := readmeTryIt(t)
	script := strings.Join(lines, "\n")
	for _, want := range []string{"copnet token", "copctl seed demo"} {
		if !strings.Contains(script, want) {
			t.Fatalf("the README's Try it lacks %q", want)
		}
	}
	bin := t.TempDir()
	for _, pkg := range []string{"copnet", "copctl"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, pkg), "../"+pkg)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", pkg, err, out)
		}
	}
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COPNET_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	env = append(env, "COPNET_DATA_DIR="+filepath.Join(dir, "var"))
	server := exec.Command(filepath.Join(bin, "copnet"))
	server.Dir = dir
	server.Env = append(env, "COPNET_HTTP_ADDR="+addr, "DATABASE_URL="+testkit.PostgresURL(t))
	var serverOut strings.Builder
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		server.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have stopped already
		server.Wait()                          //nolint:errcheck // stopping
		if t.Failed() {
			t.Logf("copnet output:\n%s", serverOut.String())
		}
	})
	testkit.Eventually(t, 90*time.Second, func() error {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})

	script = strings.NewReplacer(
		"go run ./cmd/copnet", filepath.Join(bin, "copnet"),
		"go run ./cmd/copctl", filepath.Join(bin, "copctl"),
		"localhost:8080", addr,
	).Replace(script)
	sh := exec.Command("bash", "-euo", "pipefail", "-c", script)
	sh.Dir = dir
	// copctl's default node is 127.0.0.1:8080; the README's lines rely on that default, so
	// only the test's port differs.
	sh.Env = append(env, "COPNET_URL=http://"+addr)
	out, err := sh.CombinedOutput()
	t.Logf("README Try it:\n%s", out)
	if err != nil {
		t.Fatalf("the README's Try it failed: %v", err)
	}
	if !strings.Contains(string(out), "demo network ready") {
		t.Errorf("copctl seed demo did not finish")
	}
}
