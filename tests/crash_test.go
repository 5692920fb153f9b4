package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/testkit"
)

// copnetProcess is the all-in-one binary run as an operator would, against an external
// NATS server and a test database.
type copnetProcess struct {
	cmd  *exec.Cmd
	base string
}

func startCopnet(t *testing.T, env ...string) *copnetProcess {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	cmd := exec.Command(copnetBin)
	cmd.Env = append(os.Environ(), append([]string{
		"COPNET_HTTP_ADDR=" + addr,
		"COPNET_DATA_DIR=" + t.TempDir(),
		"COPNET_LOG_LEVEL=warn",
	}, env...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &copnetProcess{cmd: cmd, base: "http://" + addr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may be gone already
			cmd.Wait()                          //nolint:errcheck // exit status after SIGTERM
		}
	})
	testkit.Eventually(t, 60*time.Second, func() error {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	return p
}

// kill ends the process the hard way: no shutdown hooks, nothing flushed.
func (p *copnetProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait() //nolint:errcheck // killed on purpose
}

// An event committed with its state change survives the process dying before the event
// reached JetStream: after restart the outbox delivers it, the broker stores it once, and a
// durable consumer applies it exactly once.
func TestEventCommittedBeforeCrashIsDeliveredOnceAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: kills and restarts the copnet binary")
	}
	ctx := context.Background()
	ns := testkit.NATS(t)
	dbURL := testkit.PostgresURL(t)
	env := []string{"COPNET_NATS_URL=" + ns.URL(), "DATABASE_URL=" + dbURL, "COPNET_AUTH_SECRET=" + secret}
	natl := token(t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})

	p := startCopnet(t, env...)
	pr := startProbe(t, ctx, "national", ns.URL(), dbURL)
	if st, body := call(t, "POST", p.base+"/v1/regions", natl, map[string]string{"id": "vic", "name": "Victoria"}); st != http.StatusCreated {
		t.Fatalf("create vic: %d %v", st, body)
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		if n := pr.applied(t)["vic"]; n != 1 {
			return fmt.Errorf("vic applied %d times", n)
		}
		return nil
	})

	// The broker goes away, so the forwarder cannot move the next event; the command still
	// commits (201), and then the process dies with the event only in its outbox.
	ns.Stop(t)
	if st, body := call(t, "POST", p.base+"/v1/regions", natl, map[string]string{"id": "wa", "name": "Western Australia"}); st != http.StatusCreated {
		t.Fatalf("create wa while broker down: %d %v", st, body)
	}
	p.kill(t)
	ns.Start(t)

	nc := ns.Connect(t)
	if got := streamRegions(t, nc)["wa"]; got != 0 {
		t.Fatalf("wa reached JetStream before the restart (%d): the test did not crash between commit and publish", got)
	}

	startCopnet(t, env...)
	testkit.Eventually(t, 30*time.Second, func() error {
		if n := streamRegions(t, nc)["wa"]; n != 1 {
			return fmt.Errorf("stream holds wa %d times", n)
		}
		if n := pr.applied(t)["wa"]; n != 1 {
			return fmt.Errorf("wa applied %d times", n)
		}
		return nil
	})
	if got := pr.applied(t); got["vic"] != 1 || len(got) != 2 {
		t.Fatalf("applied after restart: %v", got)
	}
}
