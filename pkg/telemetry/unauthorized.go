package telemetry

import (
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Router names the route a request would take without serving it (*http.ServeMux does).
type Router interface {
	Handler(r *http.Request) (h http.Handler, pattern string)
}

// CountUnauthorized counts the 401s next answers, labelled with the route the request was
// for ("GET /v1/cops/{id}", or "unmatched"), so that an operator sees which routes are
// probed without a valid token and which client lost its credentials. The route comes from
// routes, because a broken token is refused before routing. The counter is
// copnet_http_unauthorized_total on /metrics.
func CountUnauthorized(routes Router, next http.Handler) http.Handler {
	counter, err := otel.GetMeterProvider().Meter(instrumentationName).Int64Counter("copnet.http.unauthorized",
		metric.WithDescription("Requests answered 401 Unauthorized, by route."))
	if err != nil {
		otel.Handle(err)
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status != http.StatusUnauthorized {
			return
		}
		route := "unmatched"
		if _, pattern := routes.Handler(r); pattern != "" {
			route = pattern
		}
		counter.Add(r.Context(), 1, metric.WithAttributes(attribute.String("route", route)))
	})
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes through (event streams).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
