package membership_test

// Shared setup of membership's component tests: a real node (PostgreSQL, embedded NATS
// with JetStream, the outbox forwarder, HTTP with authentication) running membership, and
// the registry too when a test needs its events to come from the real producer.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/services/membership"
)

// waitFor bounds every Eventually: reached only when something is really wrong.
const waitFor = 20 * time.Second

// env is one running node and a client for it.
type env struct {
	t     testing.TB
	n     *testkit.Node
	clock *testkit.Clock
}

// start boots membership (and any other factories) on a fresh node.
func start(t testing.TB, others ...node.Factory) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	n := testkit.StartNode(t, testkit.NodeOptions{Now: c.Now, Logger: logger}, append(others, membership.Factory)...)
	return &env{t: t, n: n, clock: c}
}

func (e *env) in(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) national() string {
	return e.n.National(e.t)
}

func (e *env) hub(region string) string {
	return e.n.Hub(e.t, region)
}

func (e *env) coordinator(cop string) string {
	return e.n.Coordinator(e.t, cop)
}

// person is the token of a member acting for themselves.
func (e *env) person(id string) string {
	return e.n.Member(e.t, id)
}

// response is an answer, read whole.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s → %d %s", r.method, r.path, r.status, strings.TrimSpace(string(r.body)))
}

// problem is an RFC 9457 body.
type problem struct {
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (p problem) fields() []string {
	out := []string{}
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// problem checks that r is a problem+json answer with status and returns it.
func (r *response) problem(t testing.TB, status int) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: want %d", r, status)
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", r, r.header.Get("Content-Type"))
	}
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil || p.Status != status {
		t.Fatalf("%s: not a problem with status %d (%v)", r, status, err)
	}
	return p
}

// send makes one request with a body of the given content type ("" for none).
func (e *env) send(tok, method, path, contentType, body string) *response {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.n.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{method: method, path: path, status: res.StatusCode, header: res.Header, body: b}
}

// do sends a JSON request.
func (e *env) do(tok, method, path, body string) *response {
	e.t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return e.send(tok, method, path, ct, body)
}

// must sends a request that has to answer status and decodes the body into dst.
func (e *env) must(status int, dst any, tok, method, path, body string) {
	e.t.Helper()
	r := e.do(tok, method, path, body)
	if r.status != status {
		e.t.Fatalf("%s: want %d", r, status)
	}
	if dst != nil {
		if err := json.Unmarshal(r.body, dst); err != nil {
			e.t.Fatalf("%s: %v", r, err)
		}
	}
}

// register adds a person as national and returns the id.
func (e *env) register(name, email string) string {
	e.t.Helper()
	var out struct{ ID string }
	body, _ := json.Marshal(map[string]string{"name": name, "email": email, "organisation": "Community Health"})
	e.must(http.StatusCreated, &out, e.national(), "POST", "/v1/people", string(body))
	return out.ID
}

// approve feeds membership the registry's events of an approved CoP with a Code of
// Practice, as the registry would publish them, and waits until membership has them.
func (e *env) approve(region string, cops ...string) {
	e.t.Helper()
	var evs []events.Event
	for _, id := range cops {
		evs = append(evs, events.CoPApproved{CoPID: id, Region: region}, events.CharterPublished{CoPID: id, Region: region, Version: 1})
	}
	e.n.Publish(e.t, evs...)
	testkit.Eventually(e.t, waitFor, func() error {
		var n int
		err := e.n.Pool("membership").QueryRow(context.Background(),
			"SELECT count(*) FROM cops WHERE id = ANY($1) AND status = 'approved' AND code_of_practice_version = 1", cops).Scan(&n)
		if err == nil && n != len(cops) {
			err = fmt.Errorf("%d of %d CoPs approved with a Code of Practice", n, len(cops))
		}
		return err
	})
}

// join makes person a member of cop as national.
func (e *env) join(cop, person string) {
	e.t.Helper()
	e.must(http.StatusCreated, nil, e.national(), "POST", "/v1/cops/"+cop+"/members",
		fmt.Sprintf(`{"person_id":%q,"code_of_practice_version":1}`, person))
}

// workingGroup gives person the working-group role.
func (e *env) workingGroup(cop, person string) {
	e.t.Helper()
	e.must(http.StatusOK, nil, e.national(), "PUT", "/v1/cops/"+cop+"/members/"+person+"/roles", `{"roles":["working_group"]}`)
}

// member is a roster entry.
type member struct {
	PersonID string   `json:"person_id"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
}

func (e *env) members(cop string) map[string]member {
	e.t.Helper()
	var out struct{ Members []member }
	e.must(http.StatusOK, &out, e.national(), "GET", "/v1/cops/"+cop+"/members", "")
	m := map[string]member{}
	for _, x := range out.Members {
		m[x.PersonID] = x
	}
	return m
}

// published decodes the payloads of this node's events of one membership type.
func published[E any](e *env, event string) []E {
	e.t.Helper()
	var out []E
	for _, m := range e.n.Messages(e.t, "cop.*.membership."+event) {
		var ev E
		if err := json.Unmarshal(m.Data, &ev); err != nil {
			e.t.Fatalf("%s: %v", m.Subject, err)
		}
		out = append(out, ev)
	}
	return out
}

// awaitEvent waits until an event of the type matching ok is in the stream.
func awaitEvent[E any](e *env, event string, ok func(E) bool) E {
	e.t.Helper()
	var found E
	testkit.Eventually(e.t, waitFor, func() error {
		for _, ev := range published[E](e, event) {
			if ok(ev) {
				found = ev
				return nil
			}
		}
		return fmt.Errorf("no matching %s event yet", event)
	})
	return found
}

// decode reads a JSON answer into dst.
func decode(t testing.TB, r *response, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.body, dst); err != nil {
		t.Fatalf("%s: %v", r, err)
	}
}
