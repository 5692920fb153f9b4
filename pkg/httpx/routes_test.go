package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

func TestMountServesEachKindOfAnswer(t *testing.T) {
	mux := http.NewServeMux()
	httpx.Mount(mux, []httpx.Route{
		{Method: "GET", Path: "/json", Handle: func(context.Context, httpx.Claims, *http.Request) (int, any, error) {
			return http.StatusOK, map[string]int{"n": 1}, nil
		}},
		{Method: "DELETE", Path: "/gone", Handle: func(context.Context, httpx.Claims, *http.Request) (int, any, error) {
			return http.StatusNoContent, nil, nil
		}},
		{Method: "GET", Path: "/feed.ics", Handle: func(context.Context, httpx.Claims, *http.Request) (int, any, error) {
			return http.StatusOK, httpx.Raw{Header: http.Header{"Content-Type": {"text/calendar"}}, Data: []byte("BEGIN:VCALENDAR")}, nil
		}},
		{Method: "POST", Path: "/signed", Handle: func(_ context.Context, c httpx.Claims, r *http.Request) (int, any, error) {
			var in struct{ Name string }
			if err := httpx.DecodeSigned(c, r, &in); err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, in, nil
		}},
		{Method: "GET", Path: "/conflict", Handle: func(context.Context, httpx.Claims, *http.Request) (int, any, error) {
			return 0, nil, apperr.Conflict("already decided")
		}},
	})
	for _, c := range []struct {
		method, path, body string
		status             int
		contentType, has   string
	}{
		{"GET", "/json", "", 200, "application/json", `"n":1`},
		{"DELETE", "/gone", "", 204, "", ""},
		{"GET", "/feed.ics", "", 200, "text/calendar", "BEGIN:VCALENDAR"},
		{"POST", "/signed", `{"Name":"x"}`, 401, "application/problem+json", "authentication"},
		{"GET", "/conflict", "", 409, "application/problem+json", "already decided"},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(c.body)))
		if rec.Code != c.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.contentType) || !strings.Contains(rec.Body.String(), c.has) {
			t.Errorf("%s %s: %d %q %q", c.method, c.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
		}
		if c.status == 204 && rec.Body.Len() != 0 {
			t.Errorf("204 with a body %q", rec.Body.String())
		}
	}
}
