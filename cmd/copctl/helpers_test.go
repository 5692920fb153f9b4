package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/federation"
)

// waitFor bounds every wait on events: generous for small CI machines.
const waitFor = 60 * time.Second

type env struct {
	t *testing.T
	n *testkit.Node
}

// start boots the factories on a real node (PostgreSQL, embedded NATS with JetStream).
func start(t *testing.T, factories ...node.Factory) *env {
	t.Helper()
	factories = append(factories, federation.Factory(federation.Config{NodeID: "national", Tier: "national"}))
	e := &env{t: t, n: testkit.StartNode(t, testkit.NodeOptions{}, factories...)}
	// status and the replays read readiness: wait until every consumer is subscribed, as
	// an operator would after a start, rather than racing the subscriptions.
	testkit.Eventually(t, waitFor, func() error {
		if code, body := e.n.Do(t, http.MethodGet, "/readyz", "", nil); code != http.StatusOK {
			return fmt.Errorf("readyz %d: %s", code, body)
		}
		return nil
	})
	return e
}

func (e *env) national() string {
	return e.n.Token(e.t, httpx.Claims{Subject: "ops", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
}

func (e *env) hub(region string) string {
	return e.n.Token(e.t, httpx.Claims{Subject: "hub-" + region, Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: region}}})
}

func (e *env) client(token string) *Client { return NewClient(e.n.URL, token) }

// call runs one command function the way main does, and returns what it wrote.
func (e *env) call(token string, fn func(context.Context, *Client, []string, io.Writer) error, args ...string) (string, error) {
	e.t.Helper()
	var out bytes.Buffer
	err := fn(context.Background(), e.client(token), args, &out)
	return out.String(), err
}

// cli runs the whole command line against the node and returns exit code, stdout, stderr.
func (e *env) cli(token string, args ...string) (int, string, string) {
	e.t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"--url", e.n.URL, "--token", token}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// must calls the API directly (setup and checks) and fails unless it answers want.
func (e *env) must(want int, out any, method, path, token string, body any) {
	e.t.Helper()
	if st := e.n.JSON(e.t, method, path, token, body, out); st != want {
		_, raw := e.n.Do(e.t, method, path, token, body)
		e.t.Fatalf("%s %s → %d, want %d (%s)", method, path, st, want, raw)
	}
}

// approvedCoP creates a region (once), proposes a CoP there, approves it and publishes its
// charter, straight through the registry's API.
func (e *env) approvedCoP(region, name string) string {
	e.t.Helper()
	if st := e.n.JSON(e.t, "POST", "/v1/regions", e.national(), map[string]string{"id": region, "name": region}, nil); st != http.StatusCreated && st != http.StatusConflict {
		e.t.Fatalf("create region %s → %d", region, st)
	}
	var cop struct {
		ID string `json:"id"`
	}
	e.must(http.StatusCreated, &cop, "POST", "/v1/cops", e.national(), map[string]any{
		"name": name, "region": region, "scope": "regional", "purpose": "test",
		"meeting": map[string]any{"frequency": "monthly", "duration_minutes": 60},
	})
	e.must(http.StatusOK, nil, "POST", "/v1/cops/"+cop.ID+"/decision", e.national(), map[string]string{"decision": "approve"})
	e.must(http.StatusOK, nil, "PUT", "/v1/cops/"+cop.ID+"/charter", e.national(), map[string]string{
		"aims": "a", "terms_of_reference": "t", "code_of_practice": "c"})
	return cop.ID
}

func (e *env) memberCount(copID string) int {
	e.t.Helper()
	var res struct {
		Members []map[string]any `json:"members"`
	}
	e.must(http.StatusOK, &res, "GET", "/v1/cops/"+copID+"/members", e.national(), nil)
	return len(res.Members)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
