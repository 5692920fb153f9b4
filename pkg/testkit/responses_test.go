package testkit_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/copnet/copnet/pkg/testkit"
)

// failures is a testing.TB that keeps what would have failed the test.
type failures struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

func (f *failures) Helper() {}

// TestValidatingHandlerChecksAnswersAgainstTheirDocument: an answer that breaks the
// document of its route fails the test; a documented answer and a route no document
// describes pass.
func TestValidatingHandlerChecksAnswersAgainstTheirDocument(t *testing.T) {
	answers := map[string]func(w http.ResponseWriter){
		"good page": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"cops":[],"next_cursor":""}`)
		},
		"wrong body": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"cops":"none"}`)
		},
		"undocumented status": func(w http.ResponseWriter) { w.WriteHeader(http.StatusTeapot) },
		"error as text": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "bad")
		},
		"problem": func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"type":"about:blank","title":"Bad Request","status":400,"detail":"limit: must be at least 1","errors":[{"field":"limit","message":"must be at least 1"}]}`)
		},
	}
	for name, answer := range answers {
		t.Run(name, func(t *testing.T) {
			f := &failures{TB: t}
			srv := httptest.NewServer(testkit.ValidatingHandler(f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w) })))
			defer srv.Close()
			for _, path := range []string{"/v1/cops", "/not/a/documented/route"} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			wantFail := name != "good page" && name != "problem"
			if got := len(f.errs); (got > 0) != wantFail || got > 1 {
				t.Errorf("failures %d (want %v for /v1/cops only): %s", got, wantFail, strings.Join(f.errs, "\n"))
			}
		})
	}
}
