package ports

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCallAPIWithoutTokenSendsNoAuthorization: the console casts a member's ballot with no
// token (callAPI with ""), so the feedback service receives the answer with the ballot
// alone and no identity travels with it; calls made for a person carry theirs.
func TestCallAPIWithoutTokenSendsNoAuthorization(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, present := r.Header["Authorization"]
		got = append(got, map[bool]string{true: r.Header.Get("Authorization"), false: "(none)"}[present])
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	w := &Web{apiURL: srv.URL, client: srv.Client()}
	r := httptest.NewRequest(http.MethodPost, "/me/polls/p1", nil)
	if st, _, err := w.callAPI(r, "", http.MethodPost, "/v1/polls/p1/responses", []byte(`{}`), nil); err != nil || st != http.StatusCreated {
		t.Fatalf("callAPI: %d %v", st, err)
	}
	if st, _, err := w.callAPI(r, "tok", http.MethodPost, "/v1/polls/p1/ballots", nil, nil); err != nil || st != http.StatusCreated {
		t.Fatalf("callAPI: %d %v", st, err)
	}
	if len(got) != 2 || got[0] != "(none)" || got[1] != "Bearer tok" {
		t.Errorf("Authorization sent: %q, want none for the answer and the bearer token for the ballot", got)
	}
}
