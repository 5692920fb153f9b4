package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/postgres"
)

// ProblemTypeBase prefixes the type URI of problems that come from an
// apperr kind; the kind name completes it.
const ProblemTypeBase = "https://copnet.dev/problems/"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []apperr.FieldError `json:"errors,omitempty"`
}

// StatusOf returns the HTTP status for an apperr kind, and false for kinds
// that must be treated as internal errors.
func StatusOf(k apperr.Kind) (int, bool) {
	switch k {
	case apperr.KindInvalid:
		return http.StatusBadRequest, true
	case apperr.KindUnauthenticated:
		return http.StatusUnauthorized, true
	case apperr.KindForbidden:
		return http.StatusForbidden, true
	case apperr.KindNotFound:
		return http.StatusNotFound, true
	case apperr.KindConflict:
		return http.StatusConflict, true
	case apperr.KindUnprocessable:
		return http.StatusUnprocessableEntity, true
	case apperr.KindTooMany:
		return http.StatusTooManyRequests, true
	case apperr.KindTooLarge:
		return http.StatusRequestEntityTooLarge, true
	default:
		return http.StatusInternalServerError, false
	}
}

// Retry-After values of a 503: a busy pool frees up within moments; a database that refuses
// connections or is restarting needs longer.
const (
	retryAfterBusy = "1"
	retryAfterDown = "5"
)

// WriteProblem writes err as an application/problem+json response. It is the one place
// where errors become statuses.
//
// An *apperr.Error of a known kind is shown with its detail and field list. A database that
// cannot serve now (postgres.Unavailable: pool exhausted, connections refused, shutting
// down) is a 503 with Retry-After, logged as a warning. Anything else is a server fault: it
// is logged with the request context and answered with a generic 500, because its message
// may hold internals such as SQL or hostnames.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		if status, ok := StatusOf(ae.Kind); ok {
			p := Problem{
				Type:     ProblemTypeBase + ae.Kind.String(),
				Title:    http.StatusText(status),
				Status:   status,
				Detail:   ae.Detail,
				Instance: r.URL.Path,
				Errors:   ae.Fields,
			}
			if status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				// RFC 9110 requires a challenge on every 401.
				w.Header().Set("WWW-Authenticate", "Bearer")
			}
			writeProblem(w, p)
			return
		}
	}
	var bodyErr *bodyReadError
	if errors.As(err, &bodyErr) && bodyErr.timeout {
		// The connection is closed after this answer, since the body was not read whole.
		writeProblem(w, Problem{
			Type:     ProblemTypeBase + "request-timeout",
			Title:    http.StatusText(http.StatusRequestTimeout),
			Status:   http.StatusRequestTimeout,
			Detail:   "the request body was not received within the server's read timeout",
			Instance: r.URL.Path,
			Errors:   []apperr.FieldError{{Field: "body", Message: "was not received in time"}},
		})
		return
	}
	if postgres.Unavailable(err) && bodyErr == nil {
		retry := retryAfterDown
		if postgres.IsAcquireTimeout(err) {
			retry = retryAfterBusy
		}
		// The cause stays in the log: it may name hosts or roles.
		slog.WarnContext(r.Context(), "database unavailable",
			"error", err,
			"method", r.Method,
			"path", r.URL.Path,
			"correlation_id", CorrelationID(r.Context()))
		w.Header().Set("Retry-After", retry)
		writeProblem(w, Problem{
			Type:     ProblemTypeBase + "unavailable",
			Title:    http.StatusText(http.StatusServiceUnavailable),
			Status:   http.StatusServiceUnavailable,
			Detail:   "the database is busy or unavailable; retry after the seconds in Retry-After",
			Instance: r.URL.Path,
		})
		return
	}
	slog.ErrorContext(r.Context(), "request failed",
		"error", err,
		"method", r.Method,
		"path", r.URL.Path,
		"correlation_id", CorrelationID(r.Context()))
	writeInternal(w, r)
}

// writeInternal answers with a generic 500 without logging, for callers that
// have already logged the cause.
func writeInternal(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, Problem{
		Type:     "about:blank",
		Title:    http.StatusText(http.StatusInternalServerError),
		Status:   http.StatusInternalServerError,
		Detail:   "an internal error occurred; quote the correlation id when reporting it",
		Instance: r.URL.Path,
	})
}

func writeProblem(w http.ResponseWriter, p Problem) {
	writeBody(w, p.Status, "application/problem+json", p)
}

// WriteJSON writes v as an application/json response with the given status.
// v is encoded before anything is sent, so an unencodable value still yields
// a clean 500 instead of a truncated body.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, "application/json", v)
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response body", "error", err, "type", contentType)
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		body = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// A failed write means the client has gone; there is no one to tell.
	_, _ = w.Write(append(body, '\n'))
}
