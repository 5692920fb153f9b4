package httpx_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// testSecret returns a fresh key so no test can alter another's.
func testSecret() []byte { return []byte("0123456789abcdef0123456789abcdef") }

func sign(t *testing.T, c httpx.Claims) string {
	t.Helper()
	tok, err := httpx.HS256{Secret: testSecret()}.Sign(c, time.Hour)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return tok
}

// rawToken signs arbitrary claims with testSecret, bypassing Sign's checks.
func rawToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(testSecret())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestHS256RoundTrip(t *testing.T) {
	want := []httpx.Claims{
		{Subject: "p1", Role: httpx.RoleNational},
		{Subject: "p2", Role: httpx.RoleHub, Region: "north"},
		{Subject: "p3", Role: httpx.RoleCoordinator, CoP: "cop-7"},
		{Subject: "p4", Role: httpx.RoleMember},
	}
	v := httpx.HS256{Secret: testSecret()}
	for _, c := range want {
		got, err := v.Verify(sign(t, c))
		if err != nil {
			t.Fatalf("verify %+v: %v", c, err)
		}
		if got != c {
			t.Errorf("claims = %+v, want %+v", got, c)
		}
	}
}

func TestHS256Rejects(t *testing.T) {
	future := time.Now().Add(time.Hour).Unix()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := jwt.NewWithClaims(jwt.SigningMethodRS256,
		jwt.MapClaims{"sub": "p1", "role": "national", "exp": future}).SignedString(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone,
		jwt.MapClaims{"sub": "p1", "role": "national", "exp": future}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret, err := httpx.HS256{Secret: []byte("another secret, another issuer")}.Sign(
		httpx.Claims{Subject: "p1", Role: httpx.RoleNational}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tests := map[string]string{
		"wrong secret":           otherSecret,
		"expired":                rawToken(t, jwt.MapClaims{"sub": "p1", "role": "national", "exp": time.Now().Add(-time.Hour).Unix()}),
		"no expiry":              rawToken(t, jwt.MapClaims{"sub": "p1", "role": "national"}),
		"alg none":               none,
		"RS256":                  rs256,
		"unknown role":           rawToken(t, jwt.MapClaims{"sub": "p1", "role": "admin", "exp": future}),
		"no role":                rawToken(t, jwt.MapClaims{"sub": "p1", "exp": future}),
		"hub without region":     rawToken(t, jwt.MapClaims{"sub": "p1", "role": "hub", "exp": future}),
		"coordinator no cop":     rawToken(t, jwt.MapClaims{"sub": "p1", "role": "coordinator", "exp": future}),
		"member without sub":     rawToken(t, jwt.MapClaims{"role": "member", "exp": future}),
		"role of the wrong type": rawToken(t, jwt.MapClaims{"sub": "p1", "role": 7, "exp": future}),
		"garbage":                "not.a.token",
	}
	v := httpx.HS256{Secret: testSecret()}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := v.Verify(tok)
			if err == nil {
				t.Fatalf("accepted, claims %+v", c)
			}
			if k, _ := apperr.KindOf(err); k != apperr.KindUnauthenticated {
				t.Errorf("kind = %v, want unauthenticated (%v)", k, err)
			}
		})
	}
}

func TestHS256EmptySecretRefuses(t *testing.T) {
	tok := sign(t, httpx.Claims{Subject: "p1", Role: httpx.RoleNational})
	if _, err := (httpx.HS256{}).Verify(tok); err == nil {
		t.Error("empty secret verified a token")
	}
	if _, err := (httpx.HS256{}).Sign(httpx.Claims{Subject: "p1", Role: httpx.RoleNational}, time.Hour); err == nil {
		t.Error("empty secret signed a token")
	}
}

func TestSignRejectsInconsistentClaims(t *testing.T) {
	if _, err := (httpx.HS256{Secret: testSecret()}).Sign(httpx.Claims{Role: httpx.RoleHub}, time.Hour); err == nil {
		t.Error("signed a hub token without region")
	}
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
	h := httpx.Authenticate(httpx.HS256{Secret: testSecret()})(http.HandlerFunc(whoami))

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
		r.Header.Set("Authorization", "bearer "+sign(t, httpx.Claims{Subject: "p9", Role: httpx.RoleMember}))
		h.ServeHTTP(rec, r)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"p9"`) {
			t.Errorf("status %d body %s", rec.Code, rec.Body)
		}
	})
	for name, header := range map[string]string{
		"garbage token": "Bearer garbage",
		"empty bearer":  "Bearer ",
		"basic scheme":  "Basic dXNlcjpwYXNz",
		"no scheme":     sign(t, httpx.Claims{Subject: "p9", Role: httpx.RoleMember}),
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
	h := httpx.Authenticate(httpx.HS256{Secret: testSecret()})(
		httpx.RequireRole(httpx.RoleNational, httpx.RoleHub)(http.HandlerFunc(whoami)))
	tests := []struct {
		name   string
		claims *httpx.Claims
		status int
	}{
		{"anonymous", nil, http.StatusUnauthorized},
		{"member", &httpx.Claims{Subject: "p1", Role: httpx.RoleMember}, http.StatusForbidden},
		{"coordinator", &httpx.Claims{Subject: "p1", Role: httpx.RoleCoordinator, CoP: "c"}, http.StatusForbidden},
		{"hub", &httpx.Claims{Subject: "p1", Role: httpx.RoleHub, Region: "north"}, http.StatusOK},
		{"national", &httpx.Claims{Subject: "p1", Role: httpx.RoleNational}, http.StatusOK},
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
	hub := httpx.Claims{Subject: "p1", Role: httpx.RoleHub, Region: "north"}
	coord := httpx.Claims{Subject: "p2", Role: httpx.RoleCoordinator, CoP: "cop-1"}
	national := httpx.Claims{Subject: "p3", Role: httpx.RoleNational}
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
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	hub := httpx.Claims{Subject: "p1", Role: httpx.RoleHub, Region: "north"}
	if err := httpx.Authorize(hub, hub.IsHubOf("north"), "edit this CoP"); err != nil {
		t.Errorf("allowed check returned %v", err)
	}
	err := httpx.Authorize(hub, hub.IsHubOf("south"), "edit this CoP")
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.KindForbidden || ae.Detail != "hub may not edit this CoP" {
		t.Errorf("err = %#v, want forbidden \"hub may not edit this CoP\"", err)
	}
	if k, _ := apperr.KindOf(httpx.Authorize(httpx.Claims{}, false, "edit this CoP")); k != apperr.KindUnauthenticated {
		t.Errorf("anonymous kind = %v, want unauthenticated", k)
	}
}
