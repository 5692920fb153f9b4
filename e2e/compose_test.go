package e2e

import (
	"context"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/sirupsen/logrus"
	"go.yaml.in/yaml/v3"

	"github.com/copnet/copnet/cmd/copnet/allinone"
	"github.com/copnet/copnet/pkg/config"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/console"
	"github.com/copnet/copnet/services/feedback"
	"github.com/copnet/copnet/services/knowledge"
	"github.com/copnet/copnet/services/membership"
	"github.com/copnet/copnet/services/notify"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/scheduling"
)

// composeFile is one compose file and what it is meant to publish.
type composeFile struct {
	path string
	// published maps each service allowed a port to the host IP it must bind ("" = any).
	published map[string]string
	// everyService: the file must run every split service (one container each).
	everyService bool
}

var composeFiles = []composeFile{
	{path: "docker-compose.yml", published: map[string]string{"console": ""}, everyService: true},
	{path: "deploy/compose/federation.yml", published: map[string]string{
		"national": "127.0.0.1", "vic": "127.0.0.1", "wa": "127.0.0.1"}},
}

// loadCompose loads a compose file the way `docker compose --env-file ENV -f FILE` does,
// with env as the only environment (nothing leaks in from the machine running the test).
func loadCompose(t *testing.T, file string, env map[string]string) (*types.Project, error) {
	t.Helper()
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	path, err := filepath.Abs(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions([]string{path}, cli.WithWorkingDirectory(filepath.Dir(path)), cli.WithEnv(list))
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// TestComposeFiles loads both compose files with compose-go, the loader docker compose
// uses, and checks that each copnet container is built from our Dockerfile for a service
// that exists, is health-checked, starts after healthy NATS and PostgreSQL, is given every
// setting its config requires (through the same config structs the service loads), talks
// to a NATS and a PostgreSQL of the same file with the passwords those servers are given,
// and that only the intended ports are published.
func TestComposeFiles(t *testing.T) {
	dockerfilePath, err := filepath.Abs(filepath.Join(repoRoot, dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	for _, cf := range composeFiles {
		t.Run(cf.path, func(t *testing.T) {
			p, err := loadCompose(t, cf.path, exampleEnv(t))
			if err != nil {
				t.Fatal(err)
			}
			built := map[string]bool{}
			for name, s := range p.Services {
				if port, ok := cf.published[name]; ok {
					if len(s.Ports) == 0 {
						t.Errorf("%s: publishes nothing", name)
					}
					for _, pc := range s.Ports {
						if pc.HostIP != port {
							t.Errorf("%s: publishes %s:%s, want host IP %q", name, pc.HostIP, pc.Published, port)
						}
					}
				} else if len(s.Ports) > 0 {
					t.Errorf("%s: publishes %v; only %v may", name, s.Ports, slices.Collect(maps.Keys(cf.published)))
				}
				if s.Build == nil {
					continue
				}
				dockerfile := s.Build.Dockerfile
				if !filepath.IsAbs(dockerfile) {
					dockerfile = filepath.Join(s.Build.Context, dockerfile)
				}
				if dockerfile != dockerfilePath {
					t.Errorf("%s: built from %s, want %s", name, dockerfile, dockerfilePath)
				}
				if ctx, _ := filepath.Abs(repoRoot); s.Build.Context != ctx {
					t.Errorf("%s: build context %s, want the repository root %s", name, s.Build.Context, ctx)
				}
				arg := s.Build.Args["SERVICE"]
				if arg == nil || mainPackage(*arg) == "" {
					t.Errorf("%s: build arg SERVICE %v names no service", name, arg)
					continue
				}
				built[*arg] = true
				checkCopnetService(t, p, name, s)
			}
			if cf.everyService {
				for _, svc := range splitServices(t) {
					if !built[svc] {
						t.Errorf("no container runs %s", svc)
					}
				}
			}
			if len(built) == 0 {
				t.Error("no copnet service at all")
			}
			for name, s := range p.Services {
				if strings.HasPrefix(s.Image, "nats:") {
					checkNATSService(t, name, s)
				}
				if strings.HasPrefix(s.Image, "postgres:") && !hasVolume(s, "/var/lib/postgresql/data") {
					t.Errorf("%s: PostgreSQL's data is not on a volume", name)
				}
			}
		})
	}
}

func hasVolume(s types.ServiceConfig, target string) bool {
	return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Target == target
	})
}

func checkCopnetService(t *testing.T, p *types.Project, name string, s types.ServiceConfig) {
	t.Helper()
	env := map[string]string{}
	for k, v := range s.Environment {
		if v == nil {
			t.Errorf("%s: %s has no value", name, k)
			continue
		}
		env[k] = *v
	}
	// Every variable given is one the config reads: a typo would otherwise be ignored.
	known := config.Vars(config.Base{})
	if allInOne(s) {
		known = config.Vars(allinone.Settings{})
	}
	// A service's own settings are known too (all of them for the all-in-one).
	for _, f := range factories {
		if f.Settings != nil && (allInOne(s) || *s.Build.Args["SERVICE"] == f.Name) {
			maps.Copy(known, config.Vars(f.Settings))
		}
	}
	for k := range env {
		if _, ok := known[k]; !ok {
			t.Errorf("%s: sets %s, which no copnet setting reads", name, k)
		}
	}
	// Load the service's settings from exactly this environment, as node.Main does.
	for k := range known {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var cfg allinone.Settings
	var spec any = &cfg.Base
	if allInOne(s) {
		spec = &cfg
	}
	if err := config.Load(spec); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	if err := cfg.RequireSplit(); err != nil {
		t.Errorf("%s: %v", name, err)
	}
	for k, required := range known {
		if _, ok := env[k]; required && !ok {
			t.Errorf("%s: required %s missing", name, k)
		}
	}

	// The healthcheck probes the port the service listens on.
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		t.Errorf("%s: COPNET_HTTP_ADDR %q: %v", name, cfg.HTTPAddr, err)
	}
	if strings.HasPrefix(cfg.HTTPAddr, "127.") || strings.HasPrefix(cfg.HTTPAddr, "localhost") {
		t.Errorf("%s: listens on %s, unreachable from other containers", name, cfg.HTTPAddr)
	}
	hc := s.HealthCheck
	want := []string{"CMD", "/probe", "http://127.0.0.1:" + port + "/readyz"}
	if hc == nil || hc.Disable || !slices.Equal(hc.Test, want) {
		t.Errorf("%s: healthcheck %+v, want test %q", name, hc, want)
	}

	// It starts after its NATS and PostgreSQL are healthy, and reaches them with the
	// credentials those servers are given.
	natsURL, err := url.Parse(cfg.NATSURL)
	if err != nil {
		t.Fatalf("%s: COPNET_NATS_URL: %v", name, err)
	}
	dbURL, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("%s: DATABASE_URL: %v", name, err)
	}
	natsPassword, _ := natsURL.User.Password()
	dbPassword, _ := dbURL.User.Password()
	for _, dep := range []struct {
		host, image, passwordVar, password string
		userVar, user                      string
	}{
		{natsURL.Hostname(), "nats:", "COPNET_NATS_PASSWORD", natsPassword, "", ""},
		{dbURL.Hostname(), "postgres:", "POSTGRES_PASSWORD", dbPassword, "POSTGRES_USER", dbURL.User.Username()},
	} {
		server, ok := p.Services[dep.host]
		if !ok || !strings.HasPrefix(server.Image, dep.image) {
			t.Errorf("%s: connects to %q, which is no %s service of this file", name, dep.host, dep.image)
			continue
		}
		if d, ok := s.DependsOn[dep.host]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s: does not wait for %s to be healthy (%+v)", name, dep.host, s.DependsOn)
		}
		if server.HealthCheck == nil || len(server.HealthCheck.Test) == 0 {
			t.Errorf("%s: has no healthcheck, so service_healthy never comes", dep.host)
		}
		if got := server.Environment[dep.passwordVar]; got == nil || *got != dep.password {
			t.Errorf("%s: its password for %s is not the one %s is given", name, dep.host, dep.host)
		}
		if dep.userVar != "" {
			if got := server.Environment[dep.userVar]; got == nil || *got != dep.user {
				t.Errorf("%s: its user for %s is not the one %s creates", name, dep.host, dep.host)
			}
		}
	}
	if natsURL.User.Username() != appUser {
		t.Errorf("%s: NATS user %q, want %q (account COP in deploy/nats)", name, natsURL.User.Username(), appUser)
	}
	if ep := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; ep != "" {
		checkCollector(t, p, name, ep)
	}
}

// checkNATSService checks a NATS container runs one of deploy/nats's configs, mounted
// read-only where its command reads it, keeps JetStream on a volume, runs the server
// version the tests use, and is given every variable that config references.
func checkNATSService(t *testing.T, name string, s types.ServiceConfig) {
	t.Helper()
	if v := natsServerVersion(t); !strings.HasPrefix(s.Image, "nats:"+strings.TrimPrefix(v, "v")) {
		t.Errorf("%s: image %s, want the nats-server version pkg/go.mod pins (%s)", name, s.Image, v)
	}
	i := slices.Index(s.Command, "--config")
	if i < 0 || i+1 >= len(s.Command) {
		t.Fatalf("%s: command %q names no --config", name, s.Command)
	}
	var conf string
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == s.Command[i+1] {
			conf = v.Source
			if !v.ReadOnly {
				t.Errorf("%s: config mounted read-write", name)
			}
		}
	}
	natsDir, _ := filepath.Abs(filepath.Join(repoRoot, "deploy/nats"))
	if conf == "" || !strings.HasPrefix(conf, natsDir+string(filepath.Separator)) {
		t.Fatalf("%s: %s is not mounted from deploy/nats (got %q)", name, s.Command[i+1], conf)
	}
	if store := s.Environment["COPNET_NATS_STORE_DIR"]; !hasVolume(s, "/data") || store == nil || *store != "/data" {
		t.Errorf("%s: JetStream's store (COPNET_NATS_STORE_DIR %v) is not on the /data volume", name, store)
	}
	if s.HealthCheck == nil || !slices.Contains(s.HealthCheck.Test, "http://127.0.0.1:8222/healthz") {
		t.Errorf("%s: healthcheck %+v, want the monitoring port's /healthz", name, s.HealthCheck)
	}
	// Parse the mounted config with only the container's environment.
	raw, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$([A-Z_][A-Z0-9_]*)`).FindAllStringSubmatch(stripComments(string(raw)), -1) {
		t.Setenv(m[1], "")
		os.Unsetenv(m[1])
	}
	for k, v := range s.Environment {
		if v != nil {
			t.Setenv(k, *v)
		}
	}
	if _, err := server.ProcessConfigFile(conf); err != nil {
		t.Errorf("%s: %s with the container's environment: %v", name, filepath.Base(conf), err)
	}
}

func stripComments(conf string) string {
	var b strings.Builder
	for _, line := range strings.Split(conf, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// natsServerVersion is the nats-server version pkg/go.mod pins.
func natsServerVersion(t testing.TB) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "pkg/go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/nats-io/nats-server/v2 (v\S+)`).FindStringSubmatch(string(raw))
	if m == nil {
		t.Fatal("pkg/go.mod does not require github.com/nats-io/nats-server/v2")
	}
	return m[1]
}

// checkCollector checks the OTLP endpoint is a collector of the same file, running
// deploy/otel's config, whose OTLP gRPC receiver listens on that port in a traces pipeline.
func checkCollector(t *testing.T, p *types.Project, name, endpoint string) {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("%s: OTEL_EXPORTER_OTLP_ENDPOINT: %v", name, err)
	}
	col, ok := p.Services[u.Hostname()]
	if !ok || !strings.HasPrefix(col.Image, "otel/opentelemetry-collector") {
		t.Errorf("%s: traces go to %q, which is no collector of this file", name, u.Hostname())
		return
	}
	var conf string
	for _, v := range col.Volumes {
		if v.Type == types.VolumeTypeBind && slices.Contains(col.Command, "--config="+v.Target) {
			conf = v.Source
		}
	}
	if conf == "" {
		t.Errorf("%s: the collector's --config is not mounted", u.Hostname())
		return
	}
	raw, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Receivers struct {
			OTLP struct {
				Protocols struct {
					GRPC struct{ Endpoint string } `yaml:"grpc"`
				}
			} `yaml:"otlp"`
		}
		Service struct {
			Pipelines map[string]struct{ Receivers, Processors, Exporters []string }
		}
		Processors, Exporters map[string]any
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("%s: %v", conf, err)
	}
	if _, port, _ := net.SplitHostPort(c.Receivers.OTLP.Protocols.GRPC.Endpoint); port != u.Port() {
		t.Errorf("collector's OTLP gRPC receiver on %q, services send to port %s", c.Receivers.OTLP.Protocols.GRPC.Endpoint, u.Port())
	}
	traces, ok := c.Service.Pipelines["traces"]
	if !ok || !slices.Contains(traces.Receivers, "otlp") || len(traces.Exporters) == 0 {
		t.Errorf("collector has no traces pipeline from otlp: %+v", c.Service.Pipelines)
	}
	for pname, pl := range c.Service.Pipelines {
		for _, x := range pl.Processors {
			if _, ok := c.Processors[x]; !ok {
				t.Errorf("pipeline %s uses undefined processor %s", pname, x)
			}
		}
		for _, x := range pl.Exporters {
			if _, ok := c.Exporters[x]; !ok {
				t.Errorf("pipeline %s uses undefined exporter %s", pname, x)
			}
		}
	}
}

// TestEnvExampleDocumentsEveryVariable: every variable the compose files read is in
// .env.example, and .env.example holds nothing they do not read.
func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	env := exampleEnv(t)
	used := map[string]bool{}
	ref := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
	for _, cf := range composeFiles {
		raw, err := os.ReadFile(filepath.Join(repoRoot, cf.path))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllStringSubmatch(stripComments(string(raw)), -1) {
			used[m[1]] = true
		}
	}
	for v := range used {
		if _, ok := env[v]; !ok {
			t.Errorf("compose reads %s, which .env.example does not document", v)
		}
	}
	for v := range env {
		if !used[v] {
			t.Errorf(".env.example documents %s, which no compose file reads", v)
		}
	}
}

// TestComposeRefusesMissingSecrets: without a .env, compose stops with a message naming the
// secret rather than starting services with an empty password.
func TestComposeRefusesMissingSecrets(t *testing.T) {
	for _, cf := range composeFiles {
		env := exampleEnv(t)
		delete(env, "COPNET_AUTH_SECRET")
		// compose-go warns about the unset variable on logrus before failing on it.
		logrus.SetOutput(io.Discard)
		defer logrus.SetOutput(os.Stderr)
		_, err := loadCompose(t, cf.path, env)
		if err == nil || !strings.Contains(err.Error(), "COPNET_AUTH_SECRET") {
			t.Errorf("%s without COPNET_AUTH_SECRET: %v", cf.path, err)
		}
	}
}

// allInOne reports whether a compose service runs the all-in-one image, whose settings are
// allinone.Settings rather than the split services' config.Base.
func allInOne(s types.ServiceConfig) bool {
	return s.Build != nil && s.Build.Args["SERVICE"] != nil && *s.Build.Args["SERVICE"] == "copnet"
}

// factories are the services as copnet builds them; their Settings list the variables each
// reads beyond config.Base.
var factories = []node.Factory{registry.Factory, membership.Factory, scheduling.Factory,
	knowledge.Factory, feedback.Factory, notify.Factory, console.Factory}
