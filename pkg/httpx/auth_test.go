package httpx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// testSigner issues tokens as the node's issuer does.
func testSigner(t testing.TB) *access.Signer {
	t.Helper()
	s, err := access.NewSigner([]byte("0123456789abcdef0123456789abcdef"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t testing.TB) httpx.Verifier { return access.Verifier{Keys: testSigner(t).Public()} }

func sign(t *testing.T, c httpx.Claims) string {
	t.Helper()
	tok, err := testSigner(t).Sign(c, time.Hour)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// whoami echoes the caller's subject, or "anonymous".
func whoami(w http.ResponseWriter, r *http.Request) {
	c, ok := httpx.ClaimsFrom(r.Context())
	if !ok {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"sub": "anonymous"})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"sub": c.Subject})
}

func TestAuthenticate(t *testing.T) {
	h := httpx.Authenticate(verifier(t))(http.HandlerFunc(whoami))

	t.Run("anonymous passes through", func(t *testing.T) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"anonymous"`) {
			t.Errorf("status %d body %s", rec.Code, rec.Body)
		}
	})
	t.Run("valid token sets claims", func(t *testing.T) {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "bearer "+sign(t, httpx.Claims{Subject: "p9"}))
		h.ServeHTTP(rec, r)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"p9"`) {
			t.Errorf("status %d body %s", rec.Code, rec.Body)
		}
	})
	for name, header := range map[string]string{
		"garbage token": "Bearer garbage",
		"empty bearer":  "Bearer ",
		"basic scheme":  "Basic dXNlcjpwYXNz",
		"no scheme":     sign(t, httpx.Claims{Subject: "p9"}),
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", header)
			h.ServeHTTP(rec, r)
			decodeProblem(t, rec, http.StatusUnauthorized)
			if got := rec.Header().Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
	}
}

type failingVerifier struct{}

func (failingVerifier) Verify(string) (httpx.Claims, error) {
	return httpx.Claims{}, errors.New("jwks fetch failed")
}

func TestAuthenticatePlainVerifierErrorIs401(t *testing.T) {
	h := httpx.Authenticate(failingVerifier{})(http.HandlerFunc(whoami))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer x")
	h.ServeHTTP(rec, r)
	decodeProblem(t, rec, http.StatusUnauthorized)
}

func TestRequireRole(t *testing.T) {
	h := httpx.Authenticate(verifier(t))(
		httpx.RequireRole(httpx.RoleNational, httpx.RoleHub)(http.HandlerFunc(whoami)))
	tests := []struct {
		name   string
		claims *httpx.Claims
		status int
	}{
		{"anonymous", nil, http.StatusUnauthorized},
		{"member", &httpx.Claims{Subject: "p1"}, http.StatusForbidden},
		{"coordinator", &httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: "c"}}}, http.StatusForbidden},
		{"hub", &httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "north"}}}, http.StatusOK},
		{"national", &httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.claims != nil {
				r.Header.Set("Authorization", "Bearer "+sign(t, *tt.claims))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if tt.status == http.StatusOK {
				if rec.Code != 200 {
					t.Fatalf("status = %d, body %s", rec.Code, rec.Body)
				}
				return
			}
			decodeProblem(t, rec, tt.status)
		})
	}
}

func TestClaimsScopes(t *testing.T) {
	hub := httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "north"}}}
	coord := httpx.Claims{Subject: "p2", Grants: []httpx.Grant{{Role: httpx.RoleCoordinator, CoP: "cop-1"}}}
	national := httpx.Claims{Subject: "p3", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}
	multi := httpx.Claims{Subject: "p4", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "vic"}, {Role: httpx.RoleMember, CoP: "wa-cop"}}}
	checks := []struct {
		name string
		got  bool
		want bool
	}{
		{"hub of own region", hub.IsHubOf("north"), true},
		{"hub of other region", hub.IsHubOf("south"), false},
		{"coordinator is no hub", coord.IsHubOf(""), false},
		{"coordinator of own cop", coord.IsCoordinatorOf("cop-1"), true},
		{"coordinator of other cop", coord.IsCoordinatorOf("cop-2"), false},
		{"hub is no coordinator", hub.IsCoordinatorOf(""), false},
		{"national", national.IsNational(), true},
		{"hub is not national", hub.IsNational(), false},
		{"same person", coord.IsPerson("p2"), true},
		{"other person", coord.IsPerson("p1"), false},
		{"anonymous is nobody", httpx.Claims{}.IsPerson(""), false},
		{"multi-grant: hub of vic", multi.IsHubOf("vic"), true},
		{"multi-grant: member of a wa cop", multi.IsMemberOf("wa-cop"), true},
		{"multi-grant: no hub of wa", multi.IsHubOf("wa"), false},
		{"multi-grant: no coordinator of the wa cop", multi.IsCoordinatorOf("wa-cop"), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	hub := httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "north"}}}
	if err := httpx.Authorize(hub, hub.IsHubOf("north"), "edit this CoP"); err != nil {
		t.Errorf("allowed check returned %v", err)
	}
	err := httpx.Authorize(hub, hub.IsHubOf("south"), "edit this CoP")
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindForbidden || ae.Detail != "your grants do not let you edit this CoP" {
		t.Errorf("err = %#v, want forbidden \"your grants do not let you edit this CoP\"", err)
	}
	if k, _ := apperr.KindOf(httpx.Authorize(httpx.Claims{}, false, "edit this CoP")); k != apperr.KindUnauthenticated {
		t.Errorf("anonymous kind = %v, want unauthenticated", k)
	}
}
