package e2e

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
)

const dockerfile = "deploy/docker/Dockerfile"

// probePackage is the healthcheck's main package; the Dockerfile must build /out/probe from it.
const probePackage = "./cmd/probe"

// dockerBuild is the `go build` the Dockerfile runs, read from the Dockerfile itself so the
// tests build exactly what the image holds.
type dockerBuild struct {
	env   []string // assignments before `go`, e.g. CGO_ENABLED=0
	flags []string // between `build` and `-o`
}

// dockerfileInstructions returns the Dockerfile's instructions with continuation lines
// joined and comments dropped.
func dockerfileInstructions(t testing.TB) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	return out
}

// parseDockerBuild finds the service's `go build` (the one writing /out/service).
func parseDockerBuild(t testing.TB) dockerBuild {
	t.Helper()
	for _, ins := range dockerfileInstructions(t) {
		if !strings.HasPrefix(ins, "RUN ") {
			continue
		}
		for _, cmd := range strings.Split(ins, "&&") {
			words := shellWords(cmd)
			i := slices.Index(words, "go")
			if i < 0 || i+1 >= len(words) || words[i+1] != "build" || !slices.Contains(words, "/out/service") {
				continue
			}
			o := slices.Index(words, "-o")
			if o < i {
				t.Fatalf("%s: go build without -o: %q", dockerfile, cmd)
			}
			return dockerBuild{env: words[:i], flags: words[i+2 : o]}
		}
	}
	t.Fatalf("%s: no `go build ... -o /out/service` found", dockerfile)
	return dockerBuild{}
}

// shellWords splits a command as sh would for the simple quoting the Dockerfile uses.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	quote, started := rune(0), false
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, started = r, true
		case r == ' ' || r == '\t':
			if started || cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteRune(r)
		}
	}
	if started || cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}

// mainPackage is where SERVICE's main package lives, by the Dockerfile's own rule, or ""
// when the Dockerfile would refuse that SERVICE.
func mainPackage(service string) string {
	if service == "copnet" {
		return "./cmd/copnet"
	}
	dir := filepath.Join("services", service, "cmd", service)
	if service == "" || strings.ContainsAny(service, "/.") {
		return ""
	}
	if fi, err := os.Stat(filepath.Join(repoRoot, dir)); err != nil || !fi.IsDir() {
		return ""
	}
	return "./" + dir
}

// splitServices lists every service with its own command (services/<name>/cmd/<name>) in a
// module go.work uses: the ones docker-compose.yml runs and the split e2e starts. A service
// outside go.work cannot be built by the Dockerfile either; it is logged, not guessed at.
func splitServices(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(repoRoot, "services/*/cmd/*"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, u := range workModules(t) {
		used[u] = true
	}
	var names []string
	for _, d := range dirs {
		name := filepath.Base(d)
		if filepath.Base(filepath.Dir(filepath.Dir(d))) != name {
			continue
		}
		if !used["services/"+name] {
			t.Logf("services/%s has a command but go.work does not use it yet: left out", name)
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// workModules lists the module directories go.work uses, relative to the root.
func workModules(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("go", "work", "edit", "-json", filepath.Join(repoRoot, "go.work")).Output()
	if err != nil {
		t.Fatal(err)
	}
	var work struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &work); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, u := range work.Use {
		dirs = append(dirs, strings.TrimPrefix(filepath.ToSlash(u.DiskPath), "./"))
	}
	return dirs
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// builtBinaries builds every service, the all-in-one and the probe with the Dockerfile's
// flags, once per test run, into one directory (binaries named after their directory).
// The split e2e runs these same binaries, so it runs what the images run.
func builtBinaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		b := parseDockerBuild(t)
		buildDir, buildErr = os.MkdirTemp("", "copnet-e2e-bin-")
		if buildErr != nil {
			return
		}
		pkgs := []string{"./cmd/copnet", probePackage}
		for _, s := range splitServices(t) {
			pkgs = append(pkgs, mainPackage(s))
		}
		args := append(append([]string{"build"}, b.flags...), append([]string{"-o", buildDir + "/"}, pkgs...)...)
		cmd := exec.Command("go", args...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), b.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// TestDockerfileBuildsStaticBinaries builds every service as the Dockerfile does and checks
// each binary is static: the final image has no libc or dynamic loader to run anything else.
func TestDockerfileBuildsStaticBinaries(t *testing.T) {
	b := parseDockerBuild(t)
	if !slices.Contains(b.env, "CGO_ENABLED=0") || !slices.Contains(b.flags, "-trimpath") || !slices.Contains(b.flags, "-ldflags=-s -w") {
		t.Errorf("Dockerfile's go build: env %q flags %q; want CGO_ENABLED=0, -trimpath, -ldflags=-s -w", b.env, b.flags)
	}
	dir := builtBinaries(t)
	names := append([]string{"copnet", "probe"}, splitServices(t)...)
	for _, name := range names {
		f, err := elf.Open(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked (%s)", name, p.Type)
			}
		}
		if f.Section(".dynamic") != nil {
			t.Errorf("%s has a .dynamic section", name)
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s kept its symbol table: -s did not apply", name)
		}
		f.Close()
	}
}

// TestDockerfileCommentsNameFilesThatExist: a reader follows the Dockerfile's comments to
// the files they name (the test that parses it, the compose file that passes SERVICE), so
// each repository path a comment names must exist. A path counts when its first element is
// a directory at the repository's root (not an image tag such as copnet/registry); paths with
// a <placeholder> and the image's own absolute paths are not repository files.
func TestDockerfileCommentsNameFilesThatExist(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	path := regexp.MustCompile(`[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+|[A-Za-z0-9_-]+\.(go|yml|yaml|md|conf)\b`)
	named := 0
	for _, line := range strings.Split(string(raw), "\n") {
		comment, ok := strings.CutPrefix(strings.TrimSpace(line), "#")
		if !ok || strings.HasPrefix(comment, " syntax=") {
			continue
		}
		for _, loc := range path.FindAllStringIndex(comment, -1) {
			p := strings.TrimRight(comment[loc[0]:loc[1]], ".")
			if (loc[0] > 0 && strings.ContainsAny(comment[loc[0]-1:loc[0]], "/<>")) ||
				(loc[1] < len(comment) && strings.ContainsAny(comment[loc[1]:loc[1]+1], "<>")) {
				continue
			}
			if first, _, ok := strings.Cut(p, "/"); ok {
				if fi, err := os.Stat(filepath.Join(repoRoot, first)); err != nil || !fi.IsDir() {
					continue
				}
			}
			named++
			if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
				t.Errorf("%s: comment %q names %s, which does not exist", dockerfile, strings.TrimSpace(comment), p)
			}
		}
	}
	if named == 0 {
		t.Error("found no paths in the Dockerfile's comments: the pattern no longer matches them")
	}
}

// TestDockerfileShape checks what a build cannot show without Docker: the module download
// layer names every module of go.work, the SERVICE argument selects the binary, and the
// final image is minimal, non-root and has a healthcheck that needs no shell.
func TestDockerfileShape(t *testing.T) {
	ins := dockerfileInstructions(t)
	copied := map[string]bool{}
	downloadAt, sourceAt := -1, -1
	for i, in := range ins {
		w := shellWords(in)
		switch {
		case w[0] == "COPY" && len(w) >= 3 && !strings.HasPrefix(w[1], "--"):
			for _, src := range w[1 : len(w)-1] {
				copied[src] = true
			}
			if w[1] == "." && sourceAt < 0 {
				sourceAt = i
			}
		case w[0] == "RUN" && strings.HasSuffix(in, "go mod download"):
			downloadAt = i
		}
	}
	for _, f := range []string{"go.work", "go.work.sum"} {
		if !copied[f] {
			t.Errorf("module layer does not copy %s", f)
		}
	}
	for _, dir := range workModules(t) {
		for _, f := range []string{"go.mod", "go.sum"} {
			_, statErr := os.Stat(filepath.Join(repoRoot, dir, f))
			if statErr == nil && !copied[dir+"/"+f] {
				t.Errorf("module layer does not copy %s/%s (go.work uses it)", dir, f)
			}
		}
	}
	if downloadAt < 0 || sourceAt < 0 || downloadAt > sourceAt {
		t.Errorf("want `go mod download` before `COPY . .` (download at %d, source at %d)", downloadAt, sourceAt)
	}

	last := -1
	for i, in := range ins {
		if strings.HasPrefix(in, "FROM ") {
			last = i
		}
	}
	final := ins[last:]
	if !regexp.MustCompile(`^FROM (gcr\.io/distroless/static\S*:nonroot|scratch)\b`).MatchString(final[0]) {
		t.Errorf("final stage %q: want distroless static nonroot or scratch", final[0])
	}
	var user, health, entry string
	for _, in := range final {
		switch {
		case strings.HasPrefix(in, "USER "):
			user = strings.TrimPrefix(in, "USER ")
		case strings.HasPrefix(in, "HEALTHCHECK "):
			health = in
		case strings.HasPrefix(in, "ENTRYPOINT "):
			entry = in
		}
	}
	if user == "" || strings.HasPrefix(user, "0") || strings.HasPrefix(user, "root") {
		t.Errorf("final stage runs as %q: want a non-root USER", user)
	}
	if !slices.ContainsFunc(ins, func(s string) bool { return strings.Contains(s, "-o /out/probe "+probePackage) }) {
		t.Errorf("no `go build ... -o /out/probe %s`: the image's probe must be the one these tests build", probePackage)
	}
	if !strings.Contains(health, `CMD ["/probe"`) {
		t.Errorf("HEALTHCHECK %q: want the exec form calling /probe (no shell in the image)", health)
	}
	if !strings.Contains(entry, `["/copnet-service"]`) {
		t.Errorf("ENTRYPOINT %q", entry)
	}
	if !slices.ContainsFunc(ins, func(s string) bool { return s == "ARG SERVICE" }) {
		t.Error("no ARG SERVICE")
	}
	for _, s := range append(splitServices(t), "copnet") {
		if mainPackage(s) == "" {
			t.Errorf("SERVICE=%s names no main package", s)
		}
	}
	if mainPackage("../etc") != "" || mainPackage("nosuch") != "" {
		t.Error("mainPackage accepts what the Dockerfile refuses")
	}
}

// TestProbe runs the healthcheck binary against a service that is ready, one that is not,
// and a closed port, and checks that without arguments it finds /readyz from
// COPNET_HTTP_ADDR as the container sets it.
func TestProbe(t *testing.T) {
	probe := filepath.Join(builtBinaries(t), "probe")
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer ready.Close()
	unready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer unready.Close()
	closed := fmt.Sprintf("http://127.0.0.1:%d/readyz", testkit.FreePort(t))
	readyAddr := strings.TrimPrefix(ready.URL, "http://")
	for _, c := range []struct {
		name, httpAddr string
		args           []string
		want           int
	}{
		{"ready", "", []string{ready.URL + "/readyz"}, 0},
		{"unready", "", []string{unready.URL + "/readyz"}, 1},
		{"closed port", "", []string{closed}, 1},
		{"from COPNET_HTTP_ADDR", "0.0.0.0:" + readyAddr[strings.LastIndex(readyAddr, ":")+1:], nil, 0},
	} {
		cmd := exec.Command(probe, c.args...)
		cmd.Env = []string{"COPNET_HTTP_ADDR=" + c.httpAddr}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.want {
			t.Errorf("%s: exit %d, want %d (%s)", c.name, code, c.want, stderr.String())
		}
	}
}
