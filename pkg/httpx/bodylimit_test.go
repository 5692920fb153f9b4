package httpx

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRaiseBodyLimit: a route that raises its limit before reading takes a body over the
// server's limit; every other route, and one that raises too late, keeps the limit.
func TestRaiseBodyLimit(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 2000)
	for _, tc := range []struct {
		name   string
		raise  func(r *http.Request) bool
		wantOK bool
	}{
		{"kept", func(*http.Request) bool { return false }, false},
		{"raised", func(r *http.Request) bool { return RaiseBodyLimit(r, 4000) }, true},
		{"raised too late", func(r *http.Request) bool {
			_, _ = r.Body.Read(make([]byte, 1))
			return RaiseBodyLimit(r, 4000)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var raised bool
			var err error
			h := limitBody(1000, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raised = tc.raise(r)
				_, err = io.ReadAll(r.Body)
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", bytes.NewReader(body)))
			var mbe *http.MaxBytesError
			if tc.wantOK != (err == nil) || raised != tc.wantOK || (err != nil && !errors.As(err, &mbe)) {
				t.Errorf("raised %v, read error %v", raised, err)
			}
		})
	}
	if RaiseBodyLimit(httptest.NewRequest("POST", "/", nil), 10) {
		t.Error("raised the limit of a request no server limited")
	}
}
