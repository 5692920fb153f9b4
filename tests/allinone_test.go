package tests

import (
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

// A newcomer runs copnet with no settings: it embeds NATS (opening no port, so a broker
// already on 4222 is no obstacle), starts its own PostgreSQL under the data dir (a server
// already on 5432 is no obstacle either), generates a secret, and serves. `copnet token`
// signs with the same secret, and Ctrl-C stops everything, PostgreSQL included.
func TestAllInOneStartsWithNoSettings(t *testing.T) {
	// The private PostgreSQL runs as the postgres user when we are root, so the data dir
	// must be reachable by it: t.TempDir's parents are not.
	dir, err := os.MkdirTemp("", "copnet-allinone-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	env := []string{"COPNET_DATA_DIR=" + dir}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COPNET_") && !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(copnetBin)
	cmd.Dir = dir
	cmd.Env = append(env, "COPNET_HTTP_ADDR="+addr)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill() //nolint:errcheck // test failed midway
			cmd.Wait()         //nolint:errcheck // killed
		}
	})
	base := "http://" + addr
	testkit.Eventually(t, 90*time.Second, func() error {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz %d", resp.StatusCode)
		}
		return nil
	})
	if !strings.Contains(out.String(), "national token") || !strings.Contains(out.String(), base) {
		t.Fatalf("start-up output lacks the URL or the national token:\n%s", out.String())
	}

	tokCmd := exec.Command(copnetBin, "token", "--role", "national")
	tokCmd.Env = env
	tok, err := tokCmd.Output()
	if err != nil {
		t.Fatalf("copnet token: %v", err)
	}
	if st, body := call(t, "POST", base+"/v1/regions", strings.TrimSpace(string(tok)), map[string]string{"id": "vic", "name": "Victoria"}); st != http.StatusCreated {
		t.Fatalf("create region with a `copnet token` token: %d %v", st, body)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("copnet did not stop cleanly on Ctrl-C: %v", err)
	}
	stopped = true
	matches, _ := filepath.Glob(filepath.Join(dir, "postgres", "postmaster.pid"))
	if len(matches) != 0 {
		t.Fatal("the private PostgreSQL is still running after copnet stopped")
	}
}
