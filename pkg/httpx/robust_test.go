package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/pkg/postgres"
)

// proposal resembles a real body (registry's POST /v1/cops): nested objects, arrays of
// strings, and free text.
type proposal struct {
	Name    string   `json:"name"`
	Topics  []string `json:"topics"`
	Meeting struct {
		Frequency string   `json:"frequency"`
		Format    []string `json:"format"`
	} `json:"meeting"`
	Extra   map[string]any `json:"extra"`
	Answers []struct {
		Text string `json:"text"`
	} `json:"answers"`
}

// PostgreSQL rejects NUL in text and jsonb, so a NUL anywhere in a body is a 400 naming
// where it is, by the one rule in DecodeJSON.
func TestDecodeJSONRejectsNULWithItsPath(t *testing.T) {
	for body, want := range map[string]string{
		`{"name":"a\u0000b"}`: "name",
		`{"name":"ok","meeting":{"format":["share","\u0000"]}}`:        "meeting.format[1]",
		`{"topics":["x","y","z\u0000"]}`:                               "topics[2]",
		`{"extra":{"k":[1,{"deep":"\u0000"}]}}`:                        "extra.k[1].deep",
		`{"extra":{"a\u0000":1}}`:                                      `extra.a\u0000`,
		`{"answers":[{"text":"fine"},{"text":"\u0000"}]}`:              "answers[1].text",
		`{"meeting":{"frequency":"monthly"},"name":"x\u0000"}`:         "name",
		`{"extra":{"list":[[],{},"",null,true,1.5,"\u0000"]}}`:         "extra.list[6]",
		`{"extra":{"a":{"b":{}},"c":[["x"],["y","\u0000"]]}}`:          "extra.c[1][1]",
		`{"name":"\\u0000 is written escaped, which is no NUL\u0000"}`: "name",
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		var in proposal
		err := httpx.DecodeJSON(r, &in)
		if err == nil {
			t.Errorf("%s: accepted", body)
			continue
		}
		if f := fieldOf(t, err); f.Field != want || !strings.Contains(f.Message, "NUL") {
			t.Errorf("%s: field %q %q, want %q", body, f.Field, f.Message, want)
		}
	}
	// A top-level string names the body.
	var s string
	if err := httpx.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`"\u0000"`)), &s); err == nil || fieldOf(t, err).Field != "body" {
		t.Errorf("top-level NUL string: %v", err)
	}
	// The escaped text \u0000 (a backslash and five characters) is not a NUL.
	var ok proposal
	if err := httpx.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"\\u0000","extra":{"n":null}}`)), &ok); err != nil {
		t.Errorf("escaped backslash rejected: %v", err)
	}
}

// Unknown routes and wrong methods answer problem+json like every other error; a 405 keeps
// the Allow header.
func TestRoutedAnswersUnmatchedAsProblems(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cops/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})
	mux.HandleFunc("PUT /v1/cops/{id}", func(w http.ResponseWriter, r *http.Request) {})
	h := httpx.Routed(mux)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/nothing", nil))
	p := decodeProblem(t, rec, http.StatusNotFound)
	if p.Instance != "/v1/nothing" {
		t.Errorf("404 problem %+v", p)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("DELETE", "/v1/cops/c1", nil))
	decodeProblem(t, rec, http.StatusMethodNotAllowed)
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "PUT") {
		t.Errorf("Allow = %q, want GET and PUT", allow)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/cops/c1", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "c1") {
		t.Errorf("matched route: %d %s", rec.Code, rec.Body)
	}
}

func TestPaging(t *testing.T) {
	for query, want := range map[string]httpx.Page{
		"":                       {Limit: 50},
		"limit=1":                {Limit: 1},
		"limit=500&cursor=abc_-": {Limit: 500, Cursor: "abc_-"},
	} {
		q, _ := url.ParseQuery(query)
		got, err := httpx.Paging(q, 50, 500)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", query, got, err, want)
		}
	}
	for query, field := range map[string]string{
		"limit=0":     "limit",
		"limit=-1":    "limit",
		"limit=501":   "limit",
		"limit=":      "limit",
		"limit=1.5":   "limit",
		"limit=ten":   "limit",
		"cursor=a%00": "cursor",
		"cursor=" + strings.Repeat("a", httpx.MaxCursorLength+1): "cursor",
	} {
		q, _ := url.ParseQuery(query)
		_, err := httpx.Paging(q, 50, 500)
		if err == nil {
			t.Errorf("%q accepted", query)
			continue
		}
		if f := fieldOf(t, err); f.Field != field {
			t.Errorf("%q: names %q, want %q", query, f.Field, field)
		}
	}
}

// A database that cannot serve now is a 503 with Retry-After, from the one mapping in
// WriteProblem, whichever way the outage shows; other database errors stay 500.
func TestWriteProblemDatabaseUnavailableIs503(t *testing.T) {
	for name, err := range map[string]error{
		"pool exhausted":                fmt.Errorf("list cops: %w", postgres.ErrAcquireTimeout),
		"too many clients":              &pgconn.PgError{Code: "53300", Message: "sorry, too many clients already"},
		"terminated":                    fmt.Errorf("tx: %w", &pgconn.PgError{Code: "57P01"}),
		"crash shutdown":                &pgconn.PgError{Code: "57P02"},
		"starting up":                   &pgconn.PgError{Code: "57P03"},
		"wrapped in an internal apperr": (&apperr.Error{Detail: "repo"}).Wrap(&pgconn.PgError{Code: "53300"}),
	} {
		rec := httptest.NewRecorder()
		httpx.WriteProblem(rec, httptest.NewRequest("GET", "/v1/cops", nil), err)
		decodeProblem(t, rec, http.StatusServiceUnavailable)
		if rec.Header().Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", name)
		}
	}
	for name, err := range map[string]error{
		"syntax error":     &pgconn.PgError{Code: "42601"},
		"caller went away": context.Canceled,
		"some other thing": errors.New("boom"),
		"request deadline": context.DeadlineExceeded,
	} {
		rec := httptest.NewRecorder()
		httpx.WriteProblem(rec, httptest.NewRequest("GET", "/v1/cops", nil), err)
		decodeProblem(t, rec, http.StatusInternalServerError)
		if rec.Header().Get("Retry-After") != "" {
			t.Errorf("%s: 500 with Retry-After", name)
		}
	}
}
