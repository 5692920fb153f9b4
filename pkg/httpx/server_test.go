package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/copnet/copnet/pkg/httpx"
)

func TestServerConfigDefaultsAndValidate(t *testing.T) {
	var cfg httpx.ServerConfig
	cfg.SetDefaults()
	if cfg.MaxBodyBytes != 1<<20 || cfg.ReadHeaderTimeout != 10*time.Second || cfg.ShutdownTimeout != 20*time.Second {
		t.Errorf("defaults = %+v", cfg)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "addr") {
		t.Errorf("Validate without addr = %v, want addr error", err)
	}
	cfg.Addr = ":8080"
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}

	bad := httpx.ServerConfig{MaxBodyBytes: -1, ReadHeaderTimeout: -1, ShutdownTimeout: -1}
	err := bad.Validate()
	for _, want := range []string{"addr", "max body", "read header", "shutdown"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %q", err, want)
		}
	}
}

func TestHealthz(t *testing.T) {
	failing := []httpx.Check{{Name: "db", Probe: func(context.Context) error { return errors.New("down") }}}
	h := httpx.NewHandler(httpx.ServerConfig{}, http.NotFoundHandler(), nil, failing)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != `{"status":"ok"}` {
		t.Errorf("healthz = %d %s; liveness must not depend on checks", rec.Code, rec.Body)
	}
}

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func getReady(t *testing.T, checks []httpx.Check) (int, readyBody) {
	t.Helper()
	h := httpx.NewHandler(httpx.ServerConfig{}, http.NotFoundHandler(), nil, checks)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	var b readyBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return rec.Code, b
}

func TestReadyzPassing(t *testing.T) {
	ok := func(context.Context) error { return nil }
	code, b := getReady(t, []httpx.Check{{Name: "db", Probe: ok}, {Name: "nats", Probe: ok}})
	if code != 200 || b.Status != "ready" || b.Checks["db"] != "ok" || b.Checks["nats"] != "ok" {
		t.Errorf("readyz = %d %+v", code, b)
	}
}

func TestReadyzFailing(t *testing.T) {
	code, b := getReady(t, []httpx.Check{
		{Name: "db", Probe: func(context.Context) error { return nil }},
		{Name: "nats", Probe: func(context.Context) error { return errors.New("no servers available") }},
	})
	if code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", code)
	}
	if b.Checks["db"] != "ok" || !strings.Contains(b.Checks["nats"], "no servers available") {
		t.Errorf("checks = %+v, want nats failing with its error", b.Checks)
	}
}

func TestReadyzTimesOutHungProbe(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	start := time.Now()
	code, b := getReady(t, []httpx.Check{{Name: "stuck", Probe: func(context.Context) error {
		<-release // ignores ctx on purpose
		return nil
	}}})
	if code != http.StatusServiceUnavailable || b.Checks["stuck"] == "ok" {
		t.Errorf("readyz = %d %+v, want 503 for stuck", code, b)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("readyz took %v, want about 2s", d)
	}
}

func TestMetricsRoute(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "up 1\n") })
	h := httpx.NewHandler(httpx.ServerConfig{}, http.NotFoundHandler(), metrics, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || rec.Body.String() != "up 1\n" {
		t.Errorf("metrics = %d %q", rec.Code, rec.Body)
	}

	h = httpx.NewHandler(httpx.ServerConfig{}, http.NotFoundHandler(), nil, nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("without metrics handler: status %d, want app's 404", rec.Code)
	}
}

func TestCorrelationID(t *testing.T) {
	var seen string
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = httpx.CorrelationID(r.Context())
	})
	h := httpx.NewHandler(httpx.ServerConfig{}, app, nil, nil)

	t.Run("echoed", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/cops", nil)
		r.Header.Set("X-Correlation-ID", "req-42")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if got := rec.Header().Get("X-Correlation-ID"); got != "req-42" || seen != "req-42" {
			t.Errorf("header %q, context %q; want req-42", got, seen)
		}
	})
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	for name, incoming := range map[string]string{
		"generated":         "",
		"replaces unsafe":   "evil\tvalue",
		"replaces oversize": strings.Repeat("a", 200),
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/cops", nil)
			if incoming != "" {
				r.Header.Set("X-Correlation-ID", incoming)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			got := rec.Header().Get("X-Correlation-ID")
			if !hex32.MatchString(got) || seen != got {
				t.Errorf("header %q, context %q; want the same 32 hex chars", got, seen)
			}
		})
	}
}

func TestCorrelationIDContext(t *testing.T) {
	ctx := httpx.WithCorrelationID(context.Background(), "abc")
	if got := httpx.CorrelationID(ctx); got != "abc" {
		t.Errorf("CorrelationID = %q", got)
	}
	if got := httpx.CorrelationID(context.Background()); got != "" {
		t.Errorf("empty context gave %q", got)
	}
	if a, b := httpx.NewCorrelationID(), httpx.NewCorrelationID(); a == b {
		t.Errorf("two ids are equal: %s", a)
	}
}

func TestPanicBecomes500Problem(t *testing.T) {
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { slog.SetDefault(prev) })

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "3")
		panic("nil map somewhere")
	})
	h := httpx.NewHandler(httpx.ServerConfig{}, app, nil, nil)
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/boom", nil)
	r.Header.Set("X-Correlation-ID", "trace-me")
	h.ServeHTTP(rec, r)
	p := decodeProblem(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "nil map") {
		t.Errorf("panic value leaked: %s", rec.Body)
	}
	if p.Instance != "/boom" {
		t.Errorf("instance = %q", p.Instance)
	}
	if rec.Header().Get("X-Correlation-ID") != "trace-me" {
		t.Error("correlation id lost on panic")
	}
	if rec.Header().Get("Content-Length") == "3" {
		t.Error("stale Content-Length kept")
	}
}

func TestSpanNamedAfterRoute(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	app := http.NewServeMux()
	app.HandleFunc("GET /cops/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	authed := httpx.Authenticate(verifier(t))(app)
	h := httpx.NewHandler(httpx.ServerConfig{TracerProvider: tp}, authed, nil, nil)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/cops/c1", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/healthz", nil))

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("got %d spans, want 1 (probes are not traced)", len(spans))
	}
	if got := spans[0].Name(); got != "GET /cops/{id}" {
		t.Errorf("span name = %q, want GET /cops/{id}", got)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	started := make(chan struct{})
	app := http.NewServeMux()
	app.HandleFunc("GET /fast", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "fast") })
	app.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		_, _ = io.WriteString(w, "slow done")
	})
	cfg := httpx.ServerConfig{Addr: "127.0.0.1:0"}
	cfg.SetDefaults()
	ln, err := httpx.Listen(cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	srv := httpx.NewServer(cfg, httpx.NewHandler(cfg, app, nil, nil))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- httpx.Serve(ctx, srv, ln, 5*time.Second) }()

	if body, err := get(base + "/fast"); err != nil || body != "fast" {
		t.Fatalf("GET /fast = %q, %v", body, err)
	}

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		body, err := get(base + "/slow")
		slow <- result{body, err}
	}()
	<-started
	cancel()

	r := <-slow
	if r.err != nil || r.body != "slow done" {
		t.Errorf("in-flight request = %q, %v; want it to complete", r.body, r.err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := get(base + "/fast"); err == nil {
		t.Error("server still accepts requests after shutdown")
	}
}

func TestServeReportsListenerFailure(t *testing.T) {
	ln, err := httpx.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close()
	err = httpx.Serve(context.Background(), &http.Server{ReadHeaderTimeout: time.Second}, ln, time.Second)
	if err == nil {
		t.Error("Serve on a closed listener returned nil")
	}
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), nil
}
