package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/testkit"
)

// copnetRun is one run of the all-in-one binary.
type copnetRun struct {
	cmd     *exec.Cmd
	out     *testkit.LogBuffer // stdout and stderr, in the order written
	base    string
	stopped bool
}

// allInOneDataDir is a fresh data dir. The private PostgreSQL runs as the postgres user when
// we are root, so it must be reachable by it: t.TempDir's parents are not.
func allInOneDataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "copnet-allinone-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// allInOneEnv is the environment of a newcomer: no COPNET_ settings and no DATABASE_URL.
func allInOneEnv(dir string) []string {
	env := []string{"COPNET_DATA_DIR=" + dir}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COPNET_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	return env
}

// startAllInOne runs copnet with no settings (but extra) on dir and waits until it is ready.
func startAllInOne(t *testing.T, dir string, extra ...string) *copnetRun {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	r := &copnetRun{cmd: exec.Command(copnetBin), out: &testkit.LogBuffer{}, base: "http://" + addr}
	r.cmd.Dir = dir
	r.cmd.Env = append(append(allInOneEnv(dir), "COPNET_HTTP_ADDR="+addr), extra...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !r.stopped {
			r.cmd.Process.Kill() //nolint:errcheck // test failed midway
			r.cmd.Wait()         //nolint:errcheck // killed
			t.Logf("copnet's output:\n%s", r.out)
		}
	})
	testkit.Eventually(t, 90*time.Second, func() error {
		if r.cmd.ProcessState != nil {
			return fmt.Errorf("copnet exited")
		}
		resp, err := http.Get(r.base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	// The announcement follows readiness by a moment; wait for its last line.
	testkit.Eventually(t, 30*time.Second, func() error {
		if !strings.Contains(r.out.String(), "copnet ready") {
			return fmt.Errorf("no announcement yet")
		}
		return nil
	})
	return r
}

// stop is Ctrl-C: copnet must stop cleanly, PostgreSQL included.
func (r *copnetRun) stop(t *testing.T, dir string) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("copnet did not stop cleanly on Ctrl-C: %v\n%s", err, r.out)
	}
	r.stopped = true
	if _, err := os.Stat(filepath.Join(dir, "postgres", "postmaster.pid")); err == nil {
		t.Fatal("the private PostgreSQL is still running after copnet stopped")
	}
}

// copnetCommand runs `copnet args...` on dir and returns its standard output.
func copnetCommand(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(copnetBin, args...)
	cmd.Env = allInOneEnv(dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("copnet %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// useSetupLink follows a setup link as a browser does: opening it shows a form asking the
// administrator's name and address; submitting it makes them national and signs them in.
// It returns the browser (with its cookies) and whether it is now signed in.
func useSetupLink(t *testing.T, link, email string) (*http.Client, bool) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	u, _ := url.Parse(link)
	signedIn := func() bool {
		for _, c := range jar.Cookies(u) {
			if c.Name == "copnet_session" {
				return true
			}
		}
		return false
	}
	if signedIn() || resp.StatusCode != http.StatusOK {
		t.Fatalf("opening %s: %d, signed in %v (a GET must only show the form)", link, resp.StatusCode, signedIn())
	}
	field := func(name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("the setup page has no %s field:\n%s", name, page)
		}
		return string(m[1])
	}
	resp, err = browser.PostForm(u.Scheme+"://"+u.Host+"/auth/setup", url.Values{"t": {field("t")}, "csrf": {field("csrf")},
		"name": {"Sam Secretariat"}, "email": {email}})
	if err != nil {
		t.Fatal(err)
	}
	home, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !signedIn() {
		return browser, false
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(home), "National network") {
		t.Fatalf("signed in by %s, landed on %s: %d", link, resp.Request.URL, resp.StatusCode)
	}
	return browser, true
}

// jwtLike is three base64url segments, the shape of every bearer token.
var jwtLike = regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// assertNoCredential fails if copnet's output holds anything usable as a standing credential.
func assertNoCredential(t *testing.T, what, out string) {
	t.Helper()
	if m := jwtLike.FindString(out); m != "" {
		t.Errorf("%s holds a token %q:\n%s", what, m, out)
	}
	if strings.Contains(out, "token=") {
		t.Errorf("%s holds a token= link:\n%s", what, out)
	}
}

func setupLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "setup: ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// A newcomer runs copnet with no settings: it embeds NATS (opening no port, so a broker
// already on 4222 is no obstacle), starts its own PostgreSQL under the data dir (a server
// already on 5432 is no obstacle either), generates a secret, and serves. The first start
// prints one single-use setup link and no token; later starts print no secret at all.
// `copnet link` and `copnet token` sign with the same secret, and Ctrl-C stops everything,
// PostgreSQL included.
func TestAllInOneStartsWithNoSettings(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the copnet binary with its own PostgreSQL cluster")
	}
	dir := allInOneDataDir(t)
	first := startAllInOne(t, dir)
	out := first.out.String()
	setup := setupLines(out)
	if len(setup) != 1 || !strings.Contains(out, first.base) {
		t.Fatalf("the first start should print its URL and one setup: line:\n%s", out)
	}
	link := strings.Fields(strings.TrimPrefix(setup[0], "setup: "))[0]
	if !strings.HasPrefix(link, strings.Replace(first.base, "127.0.0.1", "localhost", 1)+"/setup?t=") {
		t.Fatalf("setup link %q is not a setup link to %s", link, first.base)
	}
	if _, ok := useSetupLink(t, link, "sam@secretariat.example"); !ok {
		t.Fatal("the setup link did not sign in")
	}
	if _, ok := useSetupLink(t, link, "mallory@example.org"); ok {
		t.Fatal("the setup link worked twice")
	}
	// The operator's way back in: a fresh link for the same data dir.
	fresh := copnetCommand(t, dir, "link", "--url", first.base)
	if fresh == link || !strings.HasPrefix(fresh, first.base+"/setup?t=") {
		t.Fatalf("copnet link printed %q", fresh)
	}
	if _, ok := useSetupLink(t, fresh, "ops@secretariat.example"); !ok {
		t.Fatal("the link from `copnet link` did not sign in")
	}
	tok := copnetCommand(t, dir, "token", "--role", "national")
	if st, body := call(t, "POST", first.base+"/v1/regions", tok, map[string]string{"id": "vic", "name": "Victoria"}); st != http.StatusCreated {
		t.Fatalf("create region with a `copnet token` token: %d %v", st, body)
	}
	first.stop(t, dir)
	assertNoCredential(t, "the first start's output", first.out.String())

	// Someone loosened the secret's mode between runs: the next start makes it private
	// again and says so.
	secretFile := filepath.Join(dir, "auth-secret")
	if err := os.Chmod(secretFile, 0o644); err != nil {
		t.Fatal(err)
	}
	second := startAllInOne(t, dir)
	out = second.out.String()
	if lines := setupLines(out); len(lines) != 0 {
		t.Errorf("a later start printed a setup link: %q", lines)
	}
	if !strings.Contains(out, "copnet link") || !strings.Contains(out, second.base) {
		t.Errorf("a later start should say where it serves and how to get a setup link:\n%s", out)
	}
	if !strings.Contains(out, secretFile) || !strings.Contains(out, "0644") || !strings.Contains(out, "0600") {
		t.Errorf("the fixed mode of %s was not reported:\n%s", secretFile, out)
	}
	if fi, err := os.Stat(secretFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("auth-secret after the start: %v, %v; want mode 0600", fi, err)
	}
	// Single use holds across restarts (the link's own address has the first run's port).
	local := func(base string) string { return strings.Replace(base, "127.0.0.1", "localhost", 1) }
	used := strings.Replace(link, local(first.base), local(second.base), 1)
	if _, ok := useSetupLink(t, used, "eve@example.org"); ok {
		t.Error("the setup link worked again after a restart")
	}
	second.stop(t, dir)
	assertNoCredential(t, "a later start's output", second.out.String())
}

// TestAllInOneSurvivesPostgresKill: kill -9 of the private PostgreSQL's postmaster. While it
// is down copnet answers at once and never 2xx; it brings the server back by itself, and
// what was committed before the kill is served after.
func TestAllInOneSurvivesPostgresKill(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: runs the copnet binary with its own PostgreSQL cluster and kills it")
	}
	dir := allInOneDataDir(t)
	r := startAllInOne(t, dir)
	tok := copnetCommand(t, dir, "token", "--role", "national")
	if st, body := call(t, "POST", r.base+"/v1/regions", tok, map[string]string{"id": "vic", "name": "Victoria"}); st != http.StatusCreated {
		t.Fatalf("create region: %d %v", st, body)
	}
	pidFile, err := os.ReadFile(filepath.Join(dir, "postgres", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	postmaster, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(pidFile), "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	// One of the postmaster's children, stopped, keeps the dead server's shared memory, which
	// PostgreSQL will not start over: the outage lasts until the test releases it, so "while
	// down" is a state observed, not a moment raced.
	child := testkit.ChildProcess(t, postmaster)
	if err := syscall.Kill(child, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	release := func() { _ = syscall.Kill(child, syscall.SIGKILL) }
	t.Cleanup(release)
	if err := syscall.Kill(postmaster, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	client := &http.Client{Timeout: 30 * time.Second} // an answer, not a hang
	get := func(path string) (int, string, error) {
		req, _ := http.NewRequest("GET", r.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), nil
	}
	testkit.Eventually(t, time.Minute, func() error {
		if st, _, err := get("/readyz"); err != nil || st != http.StatusServiceUnavailable {
			return fmt.Errorf("readyz %d, %v; want 503 while PostgreSQL is down", st, err)
		}
		return nil
	})
	req, _ := http.NewRequest("GET", r.base+"/v1/regions", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET regions while PostgreSQL is down: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("GET regions while PostgreSQL is down: %d (Retry-After %q, %s) %s, want 503 with Retry-After as a problem",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), body)
	}

	release()
	testkit.Eventually(t, 2*time.Minute, func() error {
		if st, _, err := get("/readyz"); err != nil || st != http.StatusOK {
			return fmt.Errorf("readyz %d, %v", st, err)
		}
		if st, body, err := get("/v1/regions"); err != nil || st != http.StatusOK || !strings.Contains(body, "Victoria") {
			return fmt.Errorf("region committed before the kill: %d %s %v", st, body, err)
		}
		return nil
	})
	// Logged once pg_ctl has seen the server ready, which clients may see a moment sooner.
	testkit.Eventually(t, time.Minute, func() error {
		if !strings.Contains(r.out.String(), "PostgreSQL restarted") {
			return fmt.Errorf("the restart was not logged")
		}
		return nil
	})
	r.stop(t, dir)
}
