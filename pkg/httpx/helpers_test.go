package httpx_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/copnet/copnet/pkg/httpx"
)

// decodeProblem checks the problem+json framing of rec and returns its body.
func decodeProblem(t *testing.T, rec *httptest.ResponseRecorder, wantStatus int) httpx.Problem {
	t.Helper()
	if rec.Code != wantStatus {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, wantStatus, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json", ct)
	}
	var p httpx.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem %q: %v", rec.Body, err)
	}
	if p.Status != wantStatus {
		t.Errorf("problem status = %d, want %d", p.Status, wantStatus)
	}
	return p
}
