package httpx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/copnet/copnet/pkg/postgres"
)

// Defaults applied by ServerConfig.SetDefaults.
const (
	DefaultMaxBodyBytes      int64 = 1 << 20
	DefaultReadHeaderTimeout       = 10 * time.Second
	DefaultReadTimeout             = 30 * time.Second
	DefaultWriteTimeout            = 60 * time.Second
	DefaultIdleTimeout             = 120 * time.Second
	DefaultDBAcquireTimeout        = 2 * time.Second
	DefaultShutdownTimeout         = 20 * time.Second
)

// readinessTimeout bounds each readiness check, so a hung dependency makes
// the service unready instead of hanging the orchestrator's probe.
const readinessTimeout = 2 * time.Second

// ServerConfig configures the HTTP server of a service.
type ServerConfig struct {
	// Addr is the listen address, such as ":8080".
	Addr string
	// MaxBodyBytes limits request bodies; larger ones are rejected.
	MaxBodyBytes int64
	// ReadHeaderTimeout limits how long a client may take to send headers,
	// which protects against slow-header (Slowloris) attacks.
	ReadHeaderTimeout time.Duration
	// ReadTimeout limits reading a whole request, body included, so a client trickling
	// a body cannot hold a connection and a handler open indefinitely.
	ReadTimeout time.Duration
	// WriteTimeout limits the time from the end of a request's headers to the end of its
	// response. A streaming route (Server-Sent Events) extends its own deadline with
	// ExtendWriteDeadline before each write.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that has waited this long for its next
	// request; idle connections would otherwise accumulate without bound.
	IdleTimeout time.Duration
	// DBAcquireTimeout bounds how long a request waits for a free database connection
	// before it is answered 503 with Retry-After (see postgres.WithAcquireTimeout).
	DBAcquireTimeout time.Duration
	// ShutdownTimeout bounds how long in-flight requests may run after
	// shutdown begins.
	ShutdownTimeout time.Duration
	// TracerProvider creates request spans; nil means the global provider.
	TracerProvider trace.TracerProvider
}

// SetDefaults fills zero fields with defaults.
func (c *ServerConfig) SetDefaults() {
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.DBAcquireTimeout == 0 {
		c.DBAcquireTimeout = DefaultDBAcquireTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
}

// Validate reports every problem with c at once. Call SetDefaults first:
// zero limits are rejected because they would mean "unlimited".
func (c ServerConfig) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("server: addr is required"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("server: max body bytes must be positive, got %d", c.MaxBodyBytes))
	}
	if c.ReadHeaderTimeout <= 0 {
		errs = append(errs, fmt.Errorf("server: read header timeout must be positive, got %v", c.ReadHeaderTimeout))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"read", c.ReadTimeout}, {"write", c.WriteTimeout}, {"idle", c.IdleTimeout}, {"database acquire", c.DBAcquireTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("server: %s timeout must be positive, got %v", d.name, d.v))
		}
	}
	if c.ReadHeaderTimeout > 0 && c.ReadTimeout > 0 && c.ReadHeaderTimeout > c.ReadTimeout {
		errs = append(errs, fmt.Errorf("server: read header timeout %v is longer than the read timeout %v, which also covers the headers", c.ReadHeaderTimeout, c.ReadTimeout))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("server: shutdown timeout must be positive, got %v", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}

// NewServer returns an *http.Server for h with the timeouts of cfg.
func NewServer(cfg ServerConfig, h http.Handler) *http.Server {
	cfg.SetDefaults()
	return &http.Server{
		Addr:              cfg.Addr,
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
	}
}

// ExtendWriteDeadline lets a long-lived response (a Server-Sent Events stream) outlive the
// server's write timeout: call it before each write with the time that write may take. It
// reaches the connection through the middleware's response writers.
func ExtendWriteDeadline(w http.ResponseWriter, d time.Duration) error {
	return http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d))
}

// Check is a readiness probe of one dependency, such as the database.
type Check struct {
	// Name identifies the check in /readyz output.
	Name string
	// Probe returns nil when the dependency is usable. It must honour ctx.
	Probe func(ctx context.Context) error
}

// NewHandler builds a service's root handler.
//
// GET /healthz is liveness and touches no dependency, so a database outage
// does not get the process restarted. GET /readyz runs checks. GET /metrics
// serves metrics when metrics is non-nil. Everything else goes to app,
// wrapped with the body size limit, tracing, correlation ids and panic
// recovery. The probes bypass that wrapping so they do not flood traces.
func NewHandler(cfg ServerConfig, app http.Handler, metrics http.Handler, checks []Check) http.Handler {
	cfg.SetDefaults()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	checks = append([]Check(nil), checks...)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		serveReady(w, r, checks)
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}

	var opts []otelhttp.Option
	if cfg.TracerProvider != nil {
		opts = append(opts, otelhttp.WithTracerProvider(cfg.TracerProvider))
	}
	h := recoverPanics(app)
	h = limitDBWait(cfg.DBAcquireTimeout, h)
	h = correlate(h)
	h = otelhttp.NewHandler(h, "http.server", opts...)
	h = limitBody(cfg.MaxBodyBytes, h)
	mux.Handle("/", forgetPattern(h))
	return mux
}

// forgetPattern clears the catch-all pattern set by the root mux, so that a
// span is named after app's own route, or just the method if app has none,
// rather than "/" for every request.
func forgetPattern(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.WithContext(r.Context())
		r2.Pattern = ""
		next.ServeHTTP(w, r2)
	})
}

func limitBody(n int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := &bodyLimit{w: w, body: r.Body, limit: n}
		r2 := r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, b))
		r2.Body = b
		next.ServeHTTP(w, r2)
	})
}

// limitDBWait bounds each request's wait for a database connection, so an exhausted pool
// answers 503 quickly instead of queueing requests for as long as clients wait.
func limitDBWait(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveWithContext(postgres.WithAcquireTimeout(r.Context(), d), next, w, r)
	})
}

type readiness struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func serveReady(w http.ResponseWriter, r *http.Request, checks []Check) {
	results := make(map[string]string, len(checks))
	ready := true
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			err := runCheck(r.Context(), c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ready = false
				results[c.Name] = err.Error()
				return
			}
			results[c.Name] = "ok"
		})
	}
	wg.Wait()
	if !ready {
		WriteJSON(w, http.StatusServiceUnavailable, readiness{Status: "unavailable", Checks: results})
		return
	}
	WriteJSON(w, http.StatusOK, readiness{Status: "ready", Checks: results})
}

// runCheck runs one probe with the readiness timeout. It returns when the
// timeout passes even if the probe ignores ctx; such a probe is left to
// finish in the background rather than blocking the endpoint.
func runCheck(ctx context.Context, c Check) error {
	if c.Probe == nil {
		return errors.New("check has no probe")
	}
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if rec := recover(); rec != nil {
				done <- fmt.Errorf("probe panicked: %v", rec)
			}
		}()
		done <- c.Probe(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("probe did not finish: %w", ctx.Err())
	}
}

// Listen opens a TCP listener on addr. Listening separately from serving
// lets callers learn the real port of ":0" and fail fast on a busy port.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve serves srv on ln until ctx is cancelled, then shuts down gracefully,
// letting in-flight requests finish for up to shutdownTimeout (the default
// when not positive). It returns nil after a clean shutdown.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, shutdownTimeout time.Duration) error {
	if shutdownTimeout <= 0 {
		shutdownTimeout = DefaultShutdownTimeout
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	// ctx is already cancelled; the shutdown needs its own deadline.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	serveErr := <-served
	if shutdownErr != nil {
		// Requests still running after the timeout are cut off so the
		// process can exit.
		return errors.Join(fmt.Errorf("graceful shutdown: %w", shutdownErr), srv.Close())
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}
