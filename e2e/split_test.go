package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

// The split deployment as docker compose runs it, with processes instead of containers: a
// real nats-server process configured by deploy/nats/single.conf, and every service as its
// own OS process (the binaries the Dockerfile builds), sharing one PostgreSQL database
// (a schema each) and the NATS server, and nothing else.

const (
	splitNode     = "national"
	splitSecret   = "e2e-auth-secret-0123456789abcdef"
	splitPassword = "pw-e2e-nats-0123456789"
	startTimeout  = 90 * time.Second
	eventTimeout  = 30 * time.Second
)

// deployment is the running split deployment.
type deployment struct {
	natsURL  string
	services map[string]*process
	js       nats.JetStreamContext
	signer   *access.Signer
}

// process is one OS process with its output kept in a file, shown if the test fails.
type process struct {
	name, url string
	cmd       *exec.Cmd
	log       string
	done      chan struct{}
}

func (d *deployment) has(service string) bool { _, ok := d.services[service]; return ok }

// step is one part of the scenario; it runs only when its service is deployed.
type step struct {
	name    string
	service string
	run     func(t *testing.T, d *deployment, s *scenario)
}

// scenario carries what one step leaves for the next, and what the console's figures
// must add up to.
type scenario struct {
	region, copID string
	members       []string
	regions       []string // every region created
	cops          []string // every CoP approved

	sessions []sessionView // the program's sessions as planned, in order
	held     []heldSession // the sessions held, in order

	confidence *float64 // the mean confidence of the evaluation that published results
	overlaps   []string // overlap ids knowledge detected
}

// The CoP's life across the services, in order. A step whose service is not in the build
// is reported and left out; every service in the build has its step.
var steps = []step{
	{"region, CoP proposed and approved, charter published", "registry", onboardCoP},
	{"members join", "membership", membersJoin},
	{"a member chooses a weekly digest", "notify", notificationSettings},
	{"program planned", "scheduling", programPlanned},
	{"sessions held with attendance", "scheduling", sessionsHeld},
	{"evaluation poll answered", "feedback", evaluationAnswered},
	{"projects mapped and overlap detected", "knowledge", overlapDetected},
	{"console figures", "console", consoleFigures},
}

func TestSplitDeployment(t *testing.T) {
	bin := builtBinaries(t)
	natsURL, js := startNATSProcess(t)
	dbURL := testkit.PostgresURL(t)
	d := &deployment{natsURL: natsURL, services: map[string]*process{}, js: js,
		signer: mustSigner(splitSecret)}
	ports := map[string]int{}
	for _, name := range splitServices(t) {
		ports[name] = testkit.FreePort(t)
	}
	for _, name := range splitServices(t) {
		env := []string{
			"COPNET_NODE_ID=" + splitNode,
			"COPNET_NODE_TIER=national",
			fmt.Sprintf("COPNET_HTTP_ADDR=127.0.0.1:%d", ports[name]),
			"DATABASE_URL=" + dbURL,
			"COPNET_NATS_URL=" + natsURL,
			"COPNET_AUTH_SECRET=" + splitSecret,
			"COPNET_LOG_LEVEL=warn",
		}
		// Membership issues the tokens; every other service verifies them against the key set
		// it publishes, fetched over HTTP as a split deployment does.
		if issuer, ok := ports["membership"]; ok && name != "membership" {
			env = append(env, fmt.Sprintf("COPNET_ISSUER_URL=http://127.0.0.1:%d", issuer))
		}
		d.services[name] = startProcess(t, name, filepath.Join(bin, name), nil, env)
		d.services[name].url = fmt.Sprintf("http://127.0.0.1:%d", ports[name])
	}
	for name, p := range d.services {
		waitReady(t, p, p.url+"/readyz")
		// The container healthcheck, run against the real service.
		if out, err := exec.Command(filepath.Join(bin, "probe"), p.url+"/readyz").CombinedOutput(); err != nil {
			t.Errorf("probe of ready %s: %v %s", name, err, out)
		}
	}
	s := &scenario{}
	for _, st := range steps {
		if !d.has(st.service) {
			t.Logf("step %q: no %s service in this build", st.name, st.service)
			continue
		}
		if !t.Run(st.name, func(t *testing.T) { st.run(t, d, s) }) {
			break // later steps build on this one
		}
	}
}

// startNATSProcess builds nats-server from its Go module at the version pkg/go.mod pins
// and runs it with deploy/nats/single.conf; flags move its ports to free loopback ones, the
// environment puts its store in a temporary directory, everything else is the file's.
func startNATSProcess(t *testing.T) (string, nats.JetStreamContext) {
	t.Helper()
	want := natsServerVersion(t)
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/nats-io/nats-server/v2").Output()
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Fatalf("e2e builds nats-server %s (%v), pkg/go.mod pins %s", out, err, want)
	}
	bin := filepath.Join(t.TempDir(), "nats-server")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	port, monitor := testkit.FreePort(t), testkit.FreePort(t)
	conf, _ := filepath.Abs(filepath.Join(repoRoot, "deploy/nats/single.conf"))
	p := startProcess(t, "nats-server", bin, []string{"-c", conf, "-a", "127.0.0.1",
		"-p", fmt.Sprint(port), "-m", fmt.Sprint(monitor)}, []string{
		"COPNET_NATS_STORE_DIR=" + t.TempDir(),
		"COPNET_NODE_ID=" + splitNode,
		"COPNET_NATS_PASSWORD=" + splitPassword,
		"COPNET_NATS_SYS_PASSWORD=" + splitPassword + "-sys",
	})
	waitReady(t, p, fmt.Sprintf("http://127.0.0.1:%d/healthz", monitor))
	url := fmt.Sprintf("nats://%s:%s@127.0.0.1:%d", appUser, splitPassword, port)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	return url, js
}

// startProcess runs bin with exactly env (plus PATH), stopping it with SIGTERM, as docker
// stop does, when the test ends; its output is printed if the test failed.
func startProcess(t *testing.T, name, bin string, args, env []string) *process {
	t.Helper()
	log := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	// Its own working directory: a service with no COPNET_DATA_DIR keeps its data (the mail
	// it writes without SMTP) under ./var, which must not land in the source tree.
	cmd.Dir = t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }() //nolint:errcheck // the exit is reported through done
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited already
		select {
		case <-p.done:
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop within 20s of SIGTERM", name)
			cmd.Process.Kill() //nolint:errcheck // last resort
			<-p.done
		}
		if t.Failed() {
			out, _ := os.ReadFile(log)
			t.Logf("--- %s output:\n%s", name, out)
		}
	})
	return p
}

// waitReady polls url until it answers 200, failing at once if the process exits.
func waitReady(t *testing.T, p *process, url string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	testkit.Eventually(t, startTimeout, func() error {
		select {
		case <-p.done:
			out, _ := os.ReadFile(p.log)
			t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.cmd.ProcessState, out)
		default:
		}
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s %s", url, resp.Status, body)
		}
		return nil
	})
}

// token signs a bearer token with the deployment's secret.
func (d *deployment) token(t *testing.T, c httpx.Claims) string {
	t.Helper()
	tok, err := d.signer.Sign(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// call sends a JSON request to a service and decodes the answer into out, failing the test
// on any status other than want.
func (d *deployment) call(t *testing.T, service, method, path, token string, body, out any, want int) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, d.services[service].url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s %s: %v", service, method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s %s: %s, want %d: %s", service, method, path, resp.Status, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s %s: %v in %s", service, method, path, err, raw)
		}
	}
}

// try sends a JSON request and returns the status and body, for steps that wait for an
// event to arrive before a request can succeed.
func (d *deployment) try(t *testing.T, service, method, path, token string, body any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, d.services[service].url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// eventsStored waits until the node's stream holds at least the given number of events on
// each subject: the outbox forwarder got them to JetStream.
func (d *deployment) eventsStored(t *testing.T, want map[string]uint64) {
	t.Helper()
	testkit.Eventually(t, eventTimeout, func() error {
		info, err := d.js.StreamInfo("COPNET", &nats.StreamInfoRequest{SubjectsFilter: "cop." + splitNode + ".>"})
		if err != nil {
			return err
		}
		for subject, n := range want {
			if got := info.State.Subjects[subject]; got < n {
				return fmt.Errorf("%s: %d events stored, want %d (stream holds %v)", subject, got, n, info.State.Subjects)
			}
		}
		return nil
	})
}

func subject(service, event string) string { return "cop." + splitNode + "." + service + "." + event }

// onboardCoP: national adds the region, its hub proposes a CoP, national approves it, the
// hub publishes its charter; each change reaches the stream as an event.
func onboardCoP(t *testing.T, d *deployment, s *scenario) {
	national := d.token(t, httpx.Claims{Subject: "secretariat", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	s.region = "vic"
	hub := d.token(t, httpx.Claims{Subject: "vic-hub", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: s.region}}})
	d.call(t, "registry", "POST", "/v1/regions", national, map[string]any{"id": s.region, "name": "Victoria"}, nil, http.StatusCreated)
	var cop struct{ ID, Status string }
	d.call(t, "registry", "POST", "/v1/cops", hub, map[string]any{
		"name": "Youth mental health", "region": s.region, "scope": "regional",
		"purpose": "Local public health units sharing what works.", "topics": []string{"youth", "mental-health"},
		"host_organisations": []string{"Community Health"},
		"meeting":            map[string]any{"frequency": "monthly", "duration_minutes": 90, "format": []string{"share", "discuss", "apply"}},
	}, &cop, http.StatusCreated)
	if cop.ID == "" || cop.Status != "proposed" {
		t.Fatalf("proposed CoP: %+v", cop)
	}
	s.copID = cop.ID
	s.regions = append(s.regions, s.region)
	d.call(t, "registry", "POST", "/v1/cops/"+cop.ID+"/decision", national, map[string]any{"decision": "approve"}, &cop, http.StatusOK)
	if cop.Status != "approved" {
		t.Fatalf("after approval: %+v", cop)
	}
	s.cops = append(s.cops, cop.ID)
	d.call(t, "registry", "PUT", "/v1/cops/"+cop.ID+"/charter", hub, map[string]any{
		"aims": "Better youth mental health practice", "terms_of_reference": "We meet monthly.", "code_of_practice": "Be kind.",
	}, nil, http.StatusOK)
	d.eventsStored(t, map[string]uint64{
		subject("registry", "cop_proposed"):      1,
		subject("registry", "cop_approved"):      1,
		subject("registry", "charter_published"): 1,
	})
	// The registry's process also runs the node's federation component.
	var fed struct {
		Node string `json:"node"`
	}
	d.call(t, "registry", "GET", "/v1/federation", national, nil, &fed, http.StatusOK)
	if fed.Node != splitNode {
		t.Fatalf("federation health names node %q, want %q", fed.Node, splitNode)
	}
}

// membersJoin: six practitioners register and join the approved CoP, accepting its Code
// of Practice (version 1). Membership learns of the approval and the charter only from
// registry's events, so the first join is retried until those have arrived.
func membersJoin(t *testing.T, d *deployment, s *scenario) {
	national := d.token(t, httpx.Claims{Subject: "secretariat", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	for i := range 6 {
		var person struct{ ID string }
		d.call(t, "membership", "POST", "/v1/people", national, map[string]any{
			"name": fmt.Sprintf("Practitioner %d", i+1), "email": fmt.Sprintf("p%d@example.org", i+1),
			"organisation": "Community Health",
		}, &person, http.StatusCreated)
		s.members = append(s.members, person.ID)
	}
	join := func(person string) map[string]any {
		return map[string]any{"person_id": person, "code_of_practice_version": 1}
	}
	testkit.Eventually(t, eventTimeout, func() error {
		status, raw := d.try(t, "membership", "POST", "/v1/cops/"+s.copID+"/members", national, join(s.members[0]))
		if status != http.StatusCreated {
			return fmt.Errorf("join before membership knows the CoP: %d %s", status, raw)
		}
		return nil
	})
	for _, p := range s.members[1:] {
		d.call(t, "membership", "POST", "/v1/cops/"+s.copID+"/members", national, join(p), nil, http.StatusCreated)
	}
	n := uint64(len(s.members))
	d.eventsStored(t, map[string]uint64{
		subject("membership", "person_registered"): n,
		subject("membership", "member_joined"):     n,
	})
}

// mustSigner is the issuer's signer of a deployment whose secret is given.
func mustSigner(secret string) *access.Signer {
	s, err := access.NewSigner([]byte(secret), nil)
	if err != nil {
		panic(err)
	}
	return s
}
