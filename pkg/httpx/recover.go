package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// recoverPanics turns a panicking handler into a logged 500 problem, so one
// bad request neither kills the connection silently nor the process.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if err, ok := rec.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				// ErrAbortHandler is the documented way to abort a response;
				// net/http must see it to drop the connection.
				panic(rec)
			}
			slog.ErrorContext(r.Context(), "panic serving request",
				"panic", rec,
				"method", r.Method,
				"path", r.URL.Path,
				"correlation_id", CorrelationID(r.Context()),
				"stack", string(debug.Stack()))
			if tw.wrote {
				// Part of a response is out; a problem body appended to it
				// would look like a complete reply. Aborting makes the client
				// see the failure.
				panic(http.ErrAbortHandler)
			}
			// Headers such as Content-Length set before the panic would
			// corrupt the problem response; only the correlation id stays.
			h := w.Header()
			for k := range h {
				if k != http.CanonicalHeaderKey(CorrelationHeader) {
					delete(h, k)
				}
			}
			writeInternal(w, r)
		}()
		next.ServeHTTP(tw, r)
	})
}

// trackingWriter records whether the response has started.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	// 1xx responses are informational; the real response is still to come.
	if code >= 200 {
		t.wrote = true
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Flush keeps streaming handlers working; they assert http.Flusher directly.
func (t *trackingWriter) Flush() {
	t.wrote = true
	// Flushing is best effort; a writer that cannot flush just buffers.
	_ = http.NewResponseController(t.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach Flush, Hijack and deadlines.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
