// Package telemetry wires OpenTelemetry tracing, Prometheus-backed metrics and
// trace-correlated structured logging for a copnet service.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName identifies this package as the instrumentation scope of
// the tracer and meter handed out to services.
const instrumentationName = "github.com/copnet/copnet/pkg/telemetry"

// Config holds the telemetry settings a service reads from its environment.
type Config struct {
	// OTLPEndpoint is the OTLP gRPC collector ("host:4317" or
	// "http://host:4317"); empty disables span export.
	OTLPEndpoint string `envconfig:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	// LogLevel is one of debug, info, warn, error.
	LogLevel string `envconfig:"COPNET_LOG_LEVEL" default:"info"`
}

// Validate reports configuration values that Setup could not honour.
func (c Config) Validate() error {
	if _, err := parseLevel(c.LogLevel); err != nil {
		return fmt.Errorf("COPNET_LOG_LEVEL: %w", err)
	}
	return nil
}

// parseLevel is stricter than slog.Level.UnmarshalText on purpose: offsets
// like "info+2" are almost always typos in an environment variable.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	// An unset variable (zero Config, no envconfig defaults applied) means
	// the documented default rather than an error.
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	default:
		return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
	}
}

// Telemetry bundles the providers and logger created by Setup.
type Telemetry struct {
	// Logger writes JSON lines annotated with the service name and, when the
	// context carries a valid span, its trace_id and span_id.
	Logger *slog.Logger

	tp       *sdktrace.TracerProvider
	mp       *sdkmetric.MeterProvider
	registry *prometheus.Registry
}

// Setup builds tracing, metrics and logging for serviceName and installs the
// tracer provider, meter provider and W3C propagators as otel globals.
// Each call uses its own Prometheus registry, so calling Setup more than once
// in a process is safe; the most recent call wins the otel globals.
func Setup(ctx context.Context, serviceName string, cfg Config, logOut io.Writer) (*Telemetry, error) {
	level, err := parseLevel(cfg.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("COPNET_LOG_LEVEL: %w", err)
	}

	// Merging with the default resource keeps the telemetry.sdk.* attributes
	// while guaranteeing our service name overrides "unknown_service".
	res, err := resource.Merge(resource.Default(),
		resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(serviceName)))
	if err != nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}

	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.OTLPEndpoint != "" {
		exp, err := otlptracegrpc.New(ctx, otlpOptions(cfg.OTLPEndpoint)...)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: otlp trace exporter: %w", err)
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
	}
	// Without an exporter the SDK provider is still used so that spans get
	// real trace ids for log correlation and propagation.
	tp := sdktrace.NewTracerProvider(tpOpts...)

	// A private registry avoids duplicate-registration panics when several
	// services (or repeated Setup calls) share one process.
	reg := prometheus.NewRegistry()
	// The Go runtime (goroutines, GC, memory) and the process (CPU, resident memory, open
	// files) are what an operator checks first when a node misbehaves. The runtime/metrics
	// families replace the legacy go_memstats_* ones, whose gauge and counter pairs
	// (go_memstats_alloc_bytes and ..._total) collide in OpenMetrics, where a counter's
	// family name drops _total.
	goCollector := collectors.NewGoCollector(
		collectors.WithGoCollectorMemStatsMetricsDisabled(),
		collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsGC, collectors.MetricsMemory, collectors.MetricsScheduler),
	)
	if err := reg.Register(goCollector); err != nil {
		return nil, errors.Join(err, tp.Shutdown(ctx))
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, errors.Join(err, tp.Shutdown(ctx))
	}
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("prometheus exporter: %w", err), tp.Shutdown(ctx))
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(promExp))

	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)

	var h slog.Handler = slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level})
	h = &traceHandler{next: h.WithAttrs([]slog.Attr{slog.String("service", serviceName)})}

	return &Telemetry{
		Logger:   slog.New(h),
		tp:       tp,
		mp:       mp,
		registry: reg,
	}, nil
}

// otlpOptions accepts both the bare "host:port" form and URL forms, because
// the OTel spec documents URLs for OTEL_EXPORTER_OTLP_ENDPOINT while many
// deployments set only host:port; a plain-http or bare endpoint is assumed to
// be an in-cluster collector without TLS.
func otlpOptions(endpoint string) []otlptracegrpc.Option {
	switch {
	case strings.HasPrefix(endpoint, "https://"):
		return []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(strings.TrimPrefix(endpoint, "https://"))}
	case strings.HasPrefix(endpoint, "http://"):
		return []otlptracegrpc.Option{
			otlptracegrpc.WithEndpoint(strings.TrimPrefix(endpoint, "http://")),
			otlptracegrpc.WithInsecure(),
		}
	default:
		return []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure()}
	}
}

// MetricsHandler serves this service's metrics from its private registry, in the
// OpenMetrics format to a scraper that asks for it (Accept: application/openmetrics-text)
// and in the Prometheus text format otherwise.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{Registry: t.registry, EnableOpenMetrics: true})
}

// Tracer returns a tracer from this Setup's provider rather than the global,
// so it stays correct even if another Setup later replaces the globals.
func (t *Telemetry) Tracer() trace.Tracer {
	return t.tp.Tracer(instrumentationName)
}

// Meter returns a meter whose instruments appear on MetricsHandler.
func (t *Telemetry) Meter() metric.Meter {
	return t.mp.Meter(instrumentationName)
}

// Shutdown flushes pending spans and metrics and releases exporters. It
// honours ctx's deadline, so an unreachable collector cannot block exit.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	return errors.Join(t.tp.Shutdown(ctx), t.mp.Shutdown(ctx))
}

// traceHandler injects span identifiers so log lines can be joined with
// traces in the backend.
type traceHandler struct {
	next slog.Handler
}

func (h *traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		// Clone because the record may be shared with other handlers.
		r = r.Clone()
		r.AddAttrs(
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()),
		)
	}
	return h.next.Handle(ctx, r)
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &traceHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup means trace_id/span_id of later records land inside the group;
// that is accepted to keep the handler a thin wrapper over slog's own.
func (h *traceHandler) WithGroup(name string) slog.Handler {
	return &traceHandler{next: h.next.WithGroup(name)}
}
