package testkit

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/copnet/copnet/schemas"
)

// apiDocument is one OpenAPI document with a router over its routes.
type apiDocument struct {
	path   string
	router routers.Router
}

// apiDocuments are every OpenAPI document of schemas.FS. A node serves the routes of all its
// services on one address, and each route is documented in exactly one of them, so the route
// a request matched names the document its answer must follow.
var apiDocuments = sync.OnceValues(func() ([]apiDocument, error) {
	for _, ct := range []string{"text/calendar", "text/html", "application/openmetrics-text"} {
		// Bodies we describe as text: validated for status and content type.
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	paths, err := fs.Glob(schemas.FS, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	var docs []apiDocument
	for _, p := range paths {
		raw, err := schemas.FS.ReadFile(p)
		if err != nil {
			return nil, err
		}
		doc, err := openapi3.NewLoader().LoadFromData(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		// The documents name the all-in-one's usual address; tests serve on a random port.
		doc.Servers = nil
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		docs = append(docs, apiDocument{path: p, router: r})
	}
	return docs, nil
})

// ValidateResponse checks an answer against the OpenAPI document that documents the route
// req matched: the status must be documented for the operation, and the content type and
// body must follow it. A request no document routes (a console page, an unknown path) is
// not checked here; the route-list tests keep every served API route documented.
func ValidateResponse(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	if err := CheckResponse(req, status, header, body); err != nil {
		t.Errorf("%s %s answered %d %s that its OpenAPI document does not allow: %v\nbody: %.600s",
			req.Method, req.URL.RequestURI(), status, header.Get("Content-Type"), err, body)
	}
}

// CheckResponse is ValidateResponse returning the problem instead of failing a test.
func CheckResponse(req *http.Request, status int, header http.Header, body []byte) error {
	docs, err := apiDocuments()
	if err != nil {
		return fmt.Errorf("testkit: OpenAPI documents: %w", err)
	}
	for _, d := range docs {
		route, params, err := d.router.FindRoute(req)
		if errors.Is(err, routers.ErrPathNotFound) {
			continue
		}
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			// Another document may serve this method on the same path (ops routes).
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", d.path, err)
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 status,
			Header:                 header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(req.Context(), in); err != nil {
			return fmt.Errorf("%s: %w", d.path, err)
		}
		return nil
	}
	return nil
}

// maxValidatedBody bounds what the checking handler keeps of one answer; larger answers
// are passed through unchecked.
const maxValidatedBody = 8 << 20

// ValidatingHandler serves h and checks each answer against the OpenAPI documents
// (ValidateResponse), failing t when one breaks its document. Event streams are passed
// through unchecked: they never end.
func ValidatingHandler(t testing.TB, h http.Handler) http.Handler {
	t = duringFuzzing(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recordingWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.streaming {
			return
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if rec.truncated {
			return // too large to keep; such answers (exports) are not JSON documents anyway
		}
		body := rec.body.Bytes()
		if w.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err == nil {
				body, err = io.ReadAll(zr)
			}
			if err != nil {
				t.Errorf("%s %s: gzip body: %v", r.Method, r.URL.RequestURI(), err)
				return
			}
		}
		ValidateResponse(t, r, rec.status, w.Header().Clone(), body)
	})
}

// recordingWriter keeps a copy of the status and body while writing them through.
type recordingWriter struct {
	http.ResponseWriter
	status    int
	body      bytes.Buffer
	truncated bool
	streaming bool
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if ct := w.Header().Get("Content-Type"); len(ct) >= 17 && ct[:17] == "text/event-stream" {
			w.streaming = true
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.streaming && !w.truncated {
		if w.body.Len()+len(b) > maxValidatedBody {
			w.truncated = true
		} else {
			w.body.Write(b)
		}
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes through (event streams, progressive pages).
func (w *recordingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection's own writer.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// duringFuzzing returns t, or for a fuzz test's *testing.F a reporter that keeps what it is
// told until the fuzzing ends: F panics when told of a failure from inside the fuzz target,
// which is where a node serving the target's requests would tell it.
func duringFuzzing(t testing.TB) testing.TB {
	f, ok := t.(*testing.F)
	if !ok {
		return t
	}
	d := &deferredReport{TB: f}
	f.Cleanup(func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, msg := range d.failures {
			f.Error(msg)
		}
	})
	return d
}

// deferredReport collects failures and reports them, through the fuzz test, at its end.
type deferredReport struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

func (d *deferredReport) Helper() {}

func (d *deferredReport) Errorf(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.failures) < 10 {
		d.failures = append(d.failures, fmt.Sprintf(format, args...))
	}
}
