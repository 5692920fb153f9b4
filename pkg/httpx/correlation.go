package httpx

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/copnet/copnet/pkg/correlation"
)

// CorrelationHeader carries the correlation id on HTTP requests and
// responses; the event bus uses the same name in event headers.
const CorrelationHeader = correlation.Header

// maxCorrelationIDLen bounds a client-supplied id, which ends up in logs,
// spans and every event the request causes.
const maxCorrelationIDLen = 128

// WithCorrelationID returns a context carrying id (see package correlation,
// which the event bus shares).
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return correlation.With(ctx, id)
}

// CorrelationID returns the correlation id in ctx, or "" if there is none.
func CorrelationID(ctx context.Context) string { return correlation.ID(ctx) }

// NewCorrelationID returns a random 128-bit id in hex.
func NewCorrelationID() string { return correlation.New() }

// validCorrelationID accepts only short ids of token characters, so a
// client cannot inject newlines or huge values into logs and event headers.
func validCorrelationID(id string) bool {
	if id == "" || len(id) > maxCorrelationIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}

// correlate propagates the caller's correlation id, or starts a new one, so
// that one user action can be followed across services and events.
func correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(CorrelationHeader)
		if !validCorrelationID(id) {
			id = NewCorrelationID()
		}
		w.Header().Set(CorrelationHeader, id)
		ctx := r.Context()
		trace.SpanFromContext(ctx).SetAttributes(attribute.String("copnet.correlation_id", id))
		serveWithContext(WithCorrelationID(ctx, id), next, w, r)
	})
}

// serveWithContext serves a copy of r carrying ctx and copies the matched
// route pattern back. Routers record the pattern on the request they are
// given, and otelhttp reads it from its own copy to name the span.
func serveWithContext(ctx context.Context, next http.Handler, w http.ResponseWriter, r *http.Request) {
	r2 := r.WithContext(ctx)
	next.ServeHTTP(w, r2)
	r.Pattern = r2.Pattern
}
