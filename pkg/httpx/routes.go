package httpx

import (
	"context"
	"net/http"

	"github.com/copnet/copnet/pkg/apperr"
)

// Handler is one JSON route of a service: it answers a status and a body, or an error that
// is written as a problem. The caller's claims come with it so every handler checks them.
type Handler func(ctx context.Context, c Claims, r *http.Request) (int, any, error)

// Route is one row of a service's route table. The tables are what the OpenAPI documents
// and the route × role tests are checked against, so they list every route exactly once.
type Route struct {
	Method, Path string
	Handle       Handler
}

// Raw is a body that is not JSON (a calendar feed): written as is with its headers.
type Raw struct {
	Header http.Header
	Data   []byte
}

// Mount registers every route of a table on mux.
func Mount(mux *http.ServeMux, routes []Route) {
	for _, rt := range routes {
		mux.HandleFunc(rt.Method+" "+rt.Path, JSONHandler(rt.Handle))
	}
}

// JSONHandler adapts a Handler: errors become problems, 204 has no body, Raw is written as is,
// anything else is JSON.
func JSONHandler(h Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, _ := ClaimsFrom(r.Context())
		status, body, err := h(r.Context(), c, r)
		switch b := body.(type) {
		case nil:
			if err == nil && status == http.StatusNoContent {
				w.WriteHeader(status)
				return
			}
		case Raw:
			if err == nil {
				for k, v := range b.Header {
					w.Header()[k] = v
				}
				w.WriteHeader(status)
				_, _ = w.Write(b.Data) // the client went away; nothing to tell it
				return
			}
		}
		if err != nil {
			WriteProblem(w, r, err)
			return
		}
		WriteJSON(w, status, body)
	}
}

// DecodeSigned reads a JSON body once the caller is known: an anonymous caller learns
// nothing about a body's shape before signing in.
func DecodeSigned(c Claims, r *http.Request, dst any) error {
	if err := Authorize(c, c.Signed(), "call this route"); err != nil {
		return err
	}
	return DecodeJSON(r, dst)
}

// Routed serves mux, answering requests that match none of its routes the way every other
// error is answered: a 404, or a 405 keeping the Allow header the mux computes, as
// application/problem+json instead of ServeMux's text/plain.
func Routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// Only the unmatched cases come here; the mux's own handler for them
		// (NotFound, or MethodNotAllowed with Allow) runs against a recorder so
		// its status and Allow are kept and its text body dropped.
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusMethodNotAllowed:
			// apperr has no kind for this: it is a fact of the route table, never
			// of a handler's decision.
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeProblem(w, Problem{
				Type:     ProblemTypeBase + "method-not-allowed",
				Title:    http.StatusText(http.StatusMethodNotAllowed),
				Status:   http.StatusMethodNotAllowed,
				Detail:   r.Method + " is not allowed here; Allow lists the methods that are",
				Instance: r.URL.Path,
			})
		default:
			WriteProblem(w, r, apperr.NotFound("no route serves %s %s", r.Method, r.URL.Path))
		}
	})
}

// headerRecorder keeps a response's status and headers and discards its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return len(b), nil
}
