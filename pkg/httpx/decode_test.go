package httpx_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

type meetingInput struct {
	Title   string `json:"title"`
	Meeting struct {
		DurationMinutes int       `json:"duration_minutes"`
		StartsAt        time.Time `json:"starts_at"`
	} `json:"meeting"`
}

func decodeBody(t *testing.T, body, contentType string) (meetingInput, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/meetings", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	var in meetingInput
	err := httpx.DecodeJSON(r, &in)
	return in, err
}

// fieldOf returns the single field problem of an Invalid error.
func fieldOf(t *testing.T, err error) apperr.FieldError {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v (%T), want *apperr.Error", err, err)
	}
	if ae.Kind != apperr.KindInvalid {
		t.Fatalf("kind = %v, want invalid", ae.Kind)
	}
	if len(ae.Fields) != 1 {
		t.Fatalf("fields = %+v, want one", ae.Fields)
	}
	return ae.Fields[0]
}

func TestDecodeJSONAcceptsValidBody(t *testing.T) {
	in, err := decodeBody(t, `{"title":"Kick-off","meeting":{"duration_minutes":90}}`, "application/json; charset=utf-8")
	if err != nil {
		t.Fatal(err)
	}
	if in.Title != "Kick-off" || in.Meeting.DurationMinutes != 90 {
		t.Errorf("decoded %+v", in)
	}
}

func TestDecodeJSONRejects(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		field                   string
		msgContains             string
	}{
		{"malformed", `{"title" "x"}`, "", "body", "byte offset 10"},
		{"truncated", `{"title":`, "", "body", "truncated"},
		{"nested type error", `{"meeting":{"duration_minutes":"ninety"}}`, "", "meeting.duration_minutes", "must be an integer"},
		{"top-level type error", `[1,2]`, "", "body", "must be an object"},
		{"unknown field", `{"title":"x","colour":"red"}`, "", "colour", "not a known field"},
		{"empty body", ``, "", "body", "is required"},
		{"trailing data", `{"title":"x"} {"title":"y"}`, "", "body", "single JSON value"},
		{"trailing garbage", `{"title":"x"}]`, "", "body", "single JSON value"},
		{"wrong content type", `{"title":"x"}`, "text/plain", "Content-Type", "application/json"},
		{"custom unmarshaler", `{"meeting":{"starts_at":"tomorrow"}}`, "", "body", "tomorrow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBody(t, tt.body, tt.contentType)
			f := fieldOf(t, err)
			if f.Field != tt.field {
				t.Errorf("field = %q, want %q", f.Field, tt.field)
			}
			if !strings.Contains(f.Message, tt.msgContains) {
				t.Errorf("message = %q, want it to contain %q", f.Message, tt.msgContains)
			}
		})
	}
}

func TestDecodeJSONMalformedIs400Problem(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in meetingInput
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/meetings", strings.NewReader(`{nope`)))
	p := decodeProblem(t, rec, http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].Field != "body" {
		t.Errorf("errors = %+v, want one naming body", p.Errors)
	}
}

func TestDecodeJSONReadFailureIsInternal(t *testing.T) {
	r := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(`{"title":`), errReader{}))
	var in meetingInput
	err := httpx.DecodeJSON(r, &in)
	if err == nil {
		t.Fatal("no error")
	}
	if _, ok := apperr.KindOf(err); ok {
		t.Errorf("read failure classified as client error: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

func TestDecodeJSONBodyLimitThroughNewHandler(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in meetingInput
		if err := httpx.DecodeJSON(r, &in); err != nil {
			httpx.WriteProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	h := httpx.NewHandler(httpx.ServerConfig{MaxBodyBytes: 32}, app, nil, nil)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/meetings", strings.NewReader(`{"title":"short"}`)))
	if rec.Code != http.StatusNoContent {
		t.Fatalf("small body: status = %d, body %s", rec.Code, rec.Body)
	}

	rec = httptest.NewRecorder()
	big := `{"title":"` + strings.Repeat("x", 100) + `"}`
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/meetings", strings.NewReader(big)))
	p := decodeProblem(t, rec, http.StatusRequestEntityTooLarge)
	if len(p.Errors) != 1 || p.Errors[0].Field != "body" || !strings.Contains(p.Errors[0].Message, "32 bytes") {
		t.Errorf("errors = %+v, want body larger than 32 bytes", p.Errors)
	}

	// The value fits but trailing whitespace pushes the body over the limit.
	rec = httptest.NewRecorder()
	padded := `{"title":"x"}` + strings.Repeat(" ", 64)
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/meetings", strings.NewReader(padded)))
	decodeProblem(t, rec, http.StatusRequestEntityTooLarge)
}
