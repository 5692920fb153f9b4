package registry_test

// Shared setup of the registry's component tests: a real node (PostgreSQL, embedded NATS
// with JetStream, the outbox forwarder, the HTTP stack with authentication) running the
// registry in-process, a client that mints tokens, and a check of every response against
// schemas/openapi/registry.yaml (or ops.yaml for the node's own routes).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/copnet/copnet/pkg/bus"
	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/pkg/testkit"
	"github.com/copnet/copnet/schemas"
	"github.com/copnet/copnet/services/registry"
	"github.com/copnet/copnet/services/registry/internal/ports"
)

// nodeID is the node the tests run; it is the origin token of every subject and ce-source.
const nodeID = "national"

// waitFor bounds every Eventually: generous, because CI machines are small and the outbox
// forwarder polls, but reached only when something is really wrong.
const waitFor = 20 * time.Second

// env is one running registry node and a client for it.
type env struct {
	t      *testing.T
	base   string
	dbURL  string
	node   *node.Node
	js     jetstream.JetStream
	client *http.Client
	// tk mints the access matrix's callers (testkit.Node.CallerToken).
	tk *testkit.Node
}

// start boots the registry through node.Start and node.Run (testkit.StartNode), as
// cmd/registry and the all-in-one binary do, on a fresh database and a fresh NATS server.
func start(t *testing.T) *env {
	t.Helper()
	// Warnings and errors only: the forwarder's and HTTP server's info lines would bury a
	// failure's own output.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	n := testkit.StartNode(t, testkit.NodeOptions{NodeID: nodeID, Logger: logger}, registry.Factory)
	js, err := jetstream.New(n.NATS.Connect(t))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return &env{
		t: t, base: n.URL, dbURL: n.DatabaseURL, node: n.Node, js: js,
		client: &http.Client{Timeout: 30 * time.Second}, tk: n,
	}
}

// in returns the same node for a subtest, so that helpers fail the subtest that called them.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) national() string {
	return e.tk.National(e.t)
}

func (e *env) hub(region string) string {
	return e.tk.Hub(e.t, region)
}

func (e *env) coordinator(cop string) string {
	return e.tk.Coordinator(e.t, cop)
}

func (e *env) member() string {
	return e.tk.Member(e.t, "person-1")
}

// response is what a test looks at; the body is read whole so it can be checked twice.
type response struct {
	method, path string
	status       int
	header       http.Header
	body         []byte
	err          error // the request itself failed (doAsync only)
}

func (r *response) String() string {
	return fmt.Sprintf("%s %s → %d %s", r.method, r.path, r.status, bytes.TrimSpace(r.body))
}

// decode reads the JSON body into dst, failing the test when it does not fit.
func (r *response) decode(t testing.TB, dst any) {
	t.Helper()
	if err := json.Unmarshal(r.body, dst); err != nil {
		t.Fatalf("%s: decode body: %v", r, err)
	}
}

// problem is an RFC 9457 body as the registry writes it.
type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// problem checks that r is an application/problem+json answer with status and returns it.
func (r *response) problem(t testing.TB, status int) problem {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: want %d", r, status)
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/problem+json" {
		t.Fatalf("%s: Content-Type %q, want application/problem+json", r, r.header.Get("Content-Type"))
	}
	var p problem
	r.decode(t, &p)
	if p.Status != status {
		t.Fatalf("%s: problem status %d, want %d", r, p.Status, status)
	}
	return p
}

// fields lists the fields a problem names, in order.
func (p problem) fields() []string {
	out := []string{}
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// do sends one request (tok "" is anonymous; body "" sends none) and checks the answer
// against the OpenAPI document before returning it.
func (e *env) do(tok, method, path, body string) *response {
	e.t.Helper()
	r := e.doAsync(tok, method, path, body)
	if r.err != nil {
		e.t.Fatalf("%s %s: %v", method, path, r.err)
	}
	return r
}

// doAsync is do for other goroutines than the test's: it reports a failed request in
// response.err instead of ending the test, which only the test's goroutine may do.
func (e *env) doAsync(tok, method, path, body string) *response {
	r := &response{method: method, path: path}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		r.err = err
		return r
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := e.client.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer res.Body.Close()
	r.status, r.header = res.StatusCode, res.Header
	if r.body, r.err = io.ReadAll(res.Body); r.err != nil {
		return r
	}
	doc := docFor(req.URL.Path)
	if err := doc.check(req, r); err != nil {
		e.t.Errorf("%s: the answer disagrees with %s: %v", r, doc.file, err)
	}
	return r
}

// must sends a request that has to succeed with status and decodes its body into dst.
func (e *env) must(status int, dst any, tok, method, path, body string) {
	e.t.Helper()
	r := e.do(tok, method, path, body)
	if r.status != status {
		e.t.Fatalf("%s: want %d", r, status)
	}
	if dst != nil {
		r.decode(e.t, dst)
	}
}

// cop is a CoP as the API shows it (the fields the tests read).
type cop struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Region         string   `json:"region"`
	Status         string   `json:"status"`
	Stage          string   `json:"stage"`
	Topics         []string `json:"topics"`
	CharterVersion int      `json:"charter_version"`
}

type charter struct {
	CoPID   string `json:"cop_id"`
	Version int    `json:"version"`
	Aims    string `json:"aims"`
}

func (e *env) createRegion(id string) {
	e.t.Helper()
	e.must(http.StatusCreated, nil, e.national(), "POST", "/v1/regions",
		fmt.Sprintf(`{"id":%q,"name":"Region %s"}`, id, id))
}

// proposalBody is a complete, valid proposal.
func proposalBody(region, name string, topics ...string) string {
	b, _ := json.Marshal(map[string]any{
		"name": name, "region": region, "scope": "regional",
		"purpose":            "Practitioners sharing what works.",
		"topics":             topics,
		"host_organisations": []string{"Community Health"},
		"meeting":            map[string]any{"frequency": "monthly", "duration_minutes": 90, "format": []string{"share", "discuss", "apply"}},
	})
	return string(b)
}

// propose creates a CoP in region as national and returns it.
func (e *env) propose(region, name string, topics ...string) cop {
	e.t.Helper()
	var c cop
	e.must(http.StatusCreated, &c, e.national(), "POST", "/v1/cops", proposalBody(region, name, topics...))
	return c
}

// decide approves or declines a proposed CoP as national.
func (e *env) decide(id, decision string) cop {
	e.t.Helper()
	var c cop
	e.must(http.StatusOK, &c, e.national(), "POST", "/v1/cops/"+id+"/decision",
		fmt.Sprintf(`{"decision":%q,"reason":"test decision"}`, decision))
	return c
}

// charterBody is a complete charter; %d tells versions apart by their aims.
const charterBody = `{"aims":"Aims %d","terms_of_reference":"We meet monthly.","code_of_practice":"Be kind."}`

// event is one message of the node's stream.
type event struct {
	seq     uint64
	subject string
	header  map[string]string
	data    []byte
}

// streamEvents reads every message of the node's event stream, oldest first.
func (e *env) streamEvents() ([]event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := e.js.Stream(ctx, bus.DefaultStream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	var out []event
	for seq := info.State.FirstSeq; seq > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", seq, err)
		}
		h := map[string]string{}
		for k, v := range m.Header {
			h[k] = v[0]
		}
		out = append(out, event{seq: seq, subject: m.Subject, header: h, data: m.Data})
	}
	return out, nil
}

// pgConn opens a connection of the test's own to the node's database; registry tables
// are in schema registry.
func (e *env) pgConn() *pgx.Conn {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.dbURL)
	if err != nil {
		e.t.Fatalf("connect to the test database: %v", err)
	}
	e.t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// lockCoP holds the CoP's row lock, in a transaction of the test's own, until release is
// called: requests that need the row then queue behind it, which lets a test make two of
// them overlap for certain instead of hoping they race.
func (e *env) lockCoP(id string) (release func()) {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.pgConn().Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM registry.cops WHERE id = $1 FOR UPDATE", id); err != nil {
		_ = tx.Rollback(ctx)
		e.t.Fatalf("lock CoP %s: %v", id, err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			if err := tx.Commit(ctx); err != nil {
				e.t.Errorf("release CoP %s: %v", id, err)
			}
		})
	}
	e.t.Cleanup(release)
	return release
}

// awaitLockWaiters waits until n statements on the cops table are blocked on a lock.
// Only statements naming cops count, so that the outbox forwarder's own queries cannot
// make up the number.
func (e *env) awaitLockWaiters(n int) {
	e.t.Helper()
	watch := e.pgConn()
	testkit.Eventually(e.t, waitFor, func() error {
		var waiting int
		err := watch.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%cops%'`).Scan(&waiting)
		if err != nil {
			return err
		}
		if waiting != n {
			return fmt.Errorf("%d sessions wait for a lock, want %d", waiting, n)
		}
		return nil
	})
}

// outboxTypes counts the events committed to the registry's outbox, by ce-type. The outbox
// is the source of truth: what is there reaches the stream, and nothing else does.
func (e *env) outboxTypes() map[string]int {
	e.t.Helper()
	rows, err := e.node.Pool("registry").Query(context.Background(),
		`SELECT payload->'metadata'->>'ce-type', count(*) FROM registry.watermill_outbox GROUP BY 1`)
	if err != nil {
		e.t.Fatalf("read outbox: %v", err)
	}
	counts := map[string]int{}
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			e.t.Fatalf("read outbox: %v", err)
		}
		counts[typ] = n
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("read outbox: %v", err)
	}
	return counts
}

// The OpenAPI documents, each compiled once for every test: each response's status must
// be documented for its route and its body must match the documented schema, so the
// documents cannot drift from what the node answers.

type openAPI struct {
	file     string
	url      string
	tree     map[string]any
	compiler *jsonschema.Compiler
	routes   *http.ServeMux

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema
}

// registryDoc matches requests to documented paths with the registry's own routing.
var registryDoc = sync.OnceValue(func() *openAPI {
	var patterns []string
	for _, rt := range ports.NewHTTP(nil).Routes() {
		patterns = append(patterns, rt.Method+" "+rt.Path)
	}
	return loadAPI("registry", patterns)
})

// opsDoc covers the routes every node serves; pkg/node does not list them, so the
// document's own paths route the requests.
var opsDoc = sync.OnceValue(func() *openAPI { return loadAPI("ops", nil) })

// docFor picks the document that describes path.
func docFor(path string) *openAPI {
	if path == "/healthz" || path == "/readyz" || path == "/metrics" || strings.HasPrefix(path, "/v1/ops/") {
		return opsDoc()
	}
	return registryDoc()
}

func loadAPI(name string, patterns []string) *openAPI {
	file := "openapi/" + name + ".yaml"
	raw, err := schemas.FS.ReadFile(file)
	if err != nil {
		panic(err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		panic(fmt.Sprintf("%s: %v", file, err))
	}
	// An OpenAPI 3.1 document's schemas are JSON Schema 2020-12, so the whole document can
	// be a JSON Schema resource whose subschemas we compile by pointer.
	js, err := json.Marshal(tree)
	if err != nil {
		panic(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		panic(err)
	}
	docURL := "https://copnet.dev/openapi/" + name + ".json"
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		panic(err)
	}
	if patterns == nil {
		paths, _ := tree["paths"].(map[string]any)
		for path, item := range paths {
			ops, _ := item.(map[string]any)
			for method := range ops {
				if slices.Contains([]string{"get", "put", "post", "delete", "patch"}, method) {
					patterns = append(patterns, strings.ToUpper(method)+" "+path)
				}
			}
		}
	}
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	return &openAPI{file: "schemas/" + file, url: docURL, tree: tree, compiler: c, routes: mux, schemas: map[string]*jsonschema.Schema{}}
}

func (d *openAPI) check(req *http.Request, r *response) error {
	_, pattern := d.routes.Handler(req)
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return fmt.Errorf("no documented route serves %s %s", req.Method, req.URL.Path)
	}
	ptr := "#/paths/" + escapePointer(path) + "/" + strings.ToLower(method) + "/responses/" + strconv.Itoa(r.status)
	res, ptr, err := d.follow(ptr)
	if err != nil {
		return fmt.Errorf("status %d is not documented for %s: %w", r.status, pattern, err)
	}
	content, _ := res["content"].(map[string]any)
	mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	if _, ok := content[mt]; !ok {
		return fmt.Errorf("Content-Type %q is not documented for %d (documented: %v)", mt, r.status, keys(content))
	}
	sch, err := d.schema(ptr + "/content/" + escapePointer(mt) + "/schema")
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
	if err != nil {
		return fmt.Errorf("body is not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// follow resolves a local JSON pointer, following $ref, and returns the object and the
// pointer it finally sits at.
func (d *openAPI) follow(ptr string) (map[string]any, string, error) {
	for range 10 {
		var cur any = d.tree
		for _, tok := range strings.Split(strings.TrimPrefix(ptr, "#/"), "/") {
			m, _ := cur.(map[string]any)
			v, ok := m[strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)]
			if !ok {
				return nil, "", fmt.Errorf("%s does not exist", ptr)
			}
			cur = v
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("%s is not an object", ptr)
		}
		ref, isRef := m["$ref"].(string)
		if !isRef {
			return m, ptr, nil
		}
		ptr = ref
	}
	return nil, "", fmt.Errorf("%s: $ref chain too long", ptr)
}

func (d *openAPI) schema(ptr string) (*jsonschema.Schema, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.schemas[ptr]; ok {
		return s, nil
	}
	// The fragment is percent-encoded because pointers into paths hold braces.
	s, err := d.compiler.Compile(d.url + "#" + (&url.URL{Fragment: ptr[1:]}).EscapedFragment())
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", ptr, err)
	}
	d.schemas[ptr] = s
	return s, nil
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
