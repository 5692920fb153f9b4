package membership_test

import (
	"net/http"
	"slices"
	"testing"
)

// PostgreSQL rejects NUL in text: a NUL in any string of a body is a 400 naming where it
// is (the rule lives in httpx.DecodeJSON, so every route keeps it).
func TestNULInBodyIs400NamingTheField(t *testing.T) {
	e := start(t)
	for body, field := range map[string]string{
		`{"name":"Aroha\u0000","email":"aroha@example.org"}`:                     "name",
		`{"name":"Aroha","email":"aroha@example.org","organisation":"Te\u0000"}`: "organisation",
	} {
		p := e.do(e.national(), "POST", "/v1/people", body).problem(t, http.StatusBadRequest)
		if !slices.Equal(p.fields(), []string{field}) {
			t.Errorf("%s: problem names %v, want [%s]", body, p.fields(), field)
		}
	}
}
