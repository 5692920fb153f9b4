package httpx_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

func TestWriteProblemMapsKinds(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		typ    string
		detail string
		fields []apperr.FieldError
	}{
		{"invalid", apperr.Invalid("name", "is required"), 400, "https://copnet.dev/problems/invalid",
			"name is required", []apperr.FieldError{{Field: "name", Message: "is required"}}},
		{"invalid fields", apperr.InvalidFields(
			apperr.FieldError{Field: "name", Message: "is required"},
			apperr.FieldError{Field: "region", Message: "is unknown"}), 400, "https://copnet.dev/problems/invalid",
			"invalid input: name is required; region is unknown",
			[]apperr.FieldError{{Field: "name", Message: "is required"}, {Field: "region", Message: "is unknown"}}},
		{"unauthenticated", apperr.Unauthenticated("login first"), 401, "https://copnet.dev/problems/unauthenticated",
			"login first", nil},
		{"forbidden", apperr.Forbidden("hub may not %s", "delete"), 403, "https://copnet.dev/problems/forbidden",
			"hub may not delete", nil},
		{"not found", fmt.Errorf("load: %w", apperr.NotFound("cop %s not found", "c1")), 404,
			"https://copnet.dev/problems/not-found", "cop c1 not found", nil},
		{"conflict", apperr.Conflict("cop exists"), 409, "https://copnet.dev/problems/conflict", "cop exists", nil},
		{"unprocessable", apperr.Unprocessable("ends_at", "must be after starts_at"), 422,
			"https://copnet.dev/problems/unprocessable", "ends_at must be after starts_at",
			[]apperr.FieldError{{Field: "ends_at", Message: "must be after starts_at"}}},
		{"too many", apperr.TooMany("slow down"), 429, "https://copnet.dev/problems/too-many-requests", "slow down", nil},
		{"too large", apperr.TooLarge("body", "is larger than 10 bytes"), 413, "https://copnet.dev/problems/too-large",
			"body is larger than 10 bytes", []apperr.FieldError{{Field: "body", Message: "is larger than 10 bytes"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpx.WriteProblem(rec, httptest.NewRequest("GET", "/cops/c1", nil), tt.err)
			p := decodeProblem(t, rec, tt.status)
			if p.Type != tt.typ {
				t.Errorf("type = %q, want %q", p.Type, tt.typ)
			}
			if p.Title != http.StatusText(tt.status) {
				t.Errorf("title = %q, want %q", p.Title, http.StatusText(tt.status))
			}
			if p.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", p.Detail, tt.detail)
			}
			if p.Instance != "/cops/c1" {
				t.Errorf("instance = %q, want /cops/c1", p.Instance)
			}
			if !reflect.DeepEqual(p.Errors, tt.fields) {
				t.Errorf("errors = %+v, want %+v", p.Errors, tt.fields)
			}
		})
	}
}

func TestWriteProblemOmitsErrorsWithoutFields(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.WriteProblem(rec, httptest.NewRequest("GET", "/", nil), apperr.NotFound("gone"))
	if strings.Contains(rec.Body.String(), `"errors"`) {
		t.Errorf("body has an errors member: %s", rec.Body)
	}
}

func TestWriteProblemChallengesOn401(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.WriteProblem(rec, httptest.NewRequest("GET", "/", nil), apperr.Unauthenticated("login first"))
	if got := rec.Header().Get("WWW-Authenticate"); got != "Bearer" {
		t.Errorf("WWW-Authenticate = %q, want Bearer", got)
	}
}

func TestWriteProblemHidesUnknownErrors(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	for _, err := range []error{
		errors.New("pq: password authentication failed for host db-7.internal"),
		&apperr.Error{Detail: "secret internal detail"}, // zero kind is internal
	} {
		logs.Reset()
		rec := httptest.NewRecorder()
		httpx.WriteProblem(rec, httptest.NewRequest("POST", "/cops", nil), err)
		p := decodeProblem(t, rec, 500)
		if p.Type != "about:blank" {
			t.Errorf("type = %q, want about:blank", p.Type)
		}
		for _, leak := range []string{"db-7", "password", "secret"} {
			if strings.Contains(rec.Body.String(), leak) {
				t.Errorf("body leaks %q: %s", leak, rec.Body)
			}
		}
		if p.Detail == "" {
			t.Error("detail is empty")
		}
		if !strings.Contains(logs.String(), err.Error()) {
			t.Errorf("log %q does not contain the error %q", logs.String(), err)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	httpx.WriteJSON(rec, http.StatusCreated, map[string]string{"id": "c1"})
	if rec.Code != http.StatusCreated {
		t.Errorf("status = %d, want 201", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if got := strings.TrimSpace(rec.Body.String()); got != `{"id":"c1"}` {
		t.Errorf("body = %s", got)
	}
}

func TestWriteJSONUnencodableValueIs500(t *testing.T) {
	rec := httptest.NewRecorder()
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { slog.SetDefault(prev) })
	httpx.WriteJSON(rec, http.StatusOK, map[string]any{"f": func() {}})
	decodeProblem(t, rec, 500)
}
