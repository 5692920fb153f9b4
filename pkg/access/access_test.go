package access_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/events"
	"github.com/copnet/copnet/pkg/httpx"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func signer(t testing.TB) *access.Signer {
	t.Helper()
	s, err := access.NewSigner(secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTripCarriesPersonAndGrants(t *testing.T) {
	s := signer(t)
	v := access.Verifier{Keys: s.Public()}
	want := httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "vic"}, {Role: httpx.RoleMember, CoP: "wa-1"}}}
	tok, err := s.Sign(want, access.TokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "p1" || len(got.Grants) != 2 || got.Grants[0] != want.Grants[0] || got.Grants[1] != want.Grants[1] || got.TokenID == "" || got.IssuedAt.IsZero() {
		t.Errorf("claims = %+v", got)
	}
	// The same secret gives the same key: `copnet token` and the node agree.
	if _, err := (access.Verifier{Keys: signer(t).Public()}).Verify(tok); err != nil {
		t.Errorf("a signer made again from the same secret does not verify: %v", err)
	}
}

func hs256(t *testing.T, key []byte, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// An attacker who knows the published key, or the node secret's old HS256 use, or holds a
// key of their own, still cannot make a token the node accepts.
func TestRefusesTokensNotSignedByTheIssuersKey(t *testing.T) {
	s := signer(t)
	v := access.Verifier{Keys: s.Public()}
	var kid string
	for k := range s.Public() {
		kid = k
	}
	pub := s.Public()[kid]
	future := time.Now().Add(time.Hour).Unix()
	good := jwt.MapClaims{"sub": "p1", "iss": "copnet", "jti": "j1", "iat": time.Now().Unix(), "exp": future,
		"grants": []map[string]string{{"role": "national"}}}

	withKid := func(m jwt.SigningMethod, key any) string {
		tok := jwt.NewWithClaims(m, good)
		tok.Header["kid"] = kid
		out, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := access.NewSigner([]byte("another node, another secret!!"), nil)
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := other.Sign(httpx.One("p1", httpx.Grant{Role: httpx.RoleNational}), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, good)
	none.Header["kid"] = kid
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	expired, err := s.Sign(httpx.One("p1", httpx.Grant{Role: httpx.RoleNational}), time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"HS256 with the node secret":            withKid(jwt.SigningMethodHS256, secret),
		"HS256 with the public key (confusion)": withKid(jwt.SigningMethodHS256, []byte(pub)),
		"HS256 without kid":                     hs256(t, secret, good),
		"RS256":                                 withKid(jwt.SigningMethodRS256, rsaKey),
		"EdDSA with another key, same kid":      withKid(jwt.SigningMethodEdDSA, otherKey),
		"another node's token":                  otherTok,
		"alg none":                              noneTok,
		"garbage":                               "not.a.token",
	}

	for name, tok := range cases {
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
	// Expiry, judged by a verifier whose clock is past the token's expiry and leeway.
	late := access.Verifier{Keys: s.Public(), Now: func() time.Time { return time.Now().Add(2 * time.Minute) }}
	if _, err := late.Verify(expired); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
}

func TestRefusesInconsistentGrants(t *testing.T) {
	s := signer(t)
	for _, c := range []httpx.Claims{
		{Grants: []httpx.Grant{{Role: httpx.RoleNational}}},                  // no subject
		httpx.One("p", httpx.Grant{Role: httpx.RoleHub}),                     // hub without region
		httpx.One("p", httpx.Grant{Role: httpx.RoleCoordinator}),             // coordinator without cop
		httpx.One("p", httpx.Grant{Role: httpx.RoleMember, Region: "vic"}),   // member of a region
		httpx.One("p", httpx.Grant{Role: "admin"}),                           // unknown role
		httpx.One("p", httpx.Grant{Role: httpx.RoleNational, Region: "vic"}), // national with a scope
	} {
		if _, err := s.Sign(c, time.Hour); err == nil {
			t.Errorf("signed %+v", c)
		}
	}
}

func TestJWKSPublishesOnlyTheEd25519PublicKey(t *testing.T) {
	s := signer(t)
	rec := httptest.NewRecorder()
	access.JWKSHandler(s.Public()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, access.JWKSPath, nil))
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("keys = %v", set.Keys)
	}
	k := set.Keys[0]
	if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" {
		t.Errorf("key = %v", k)
	}
	for _, private := range []string{"k", "d"} {
		if _, ok := k[private]; ok {
			t.Errorf("the key set publishes %q: %v", private, k)
		}
	}
	keys, err := access.ParseJWKS(rec.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(httpx.One("p1", httpx.Grant{Role: httpx.RoleNational}), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (access.Verifier{Keys: keys}).Verify(tok); err != nil {
		t.Errorf("the published set does not verify the issuer's token: %v", err)
	}
	// And a verifier fetching it from the issuer over HTTP does too.
	srv := httptest.NewServer(access.JWKSHandler(s.Public()))
	defer srv.Close()
	if _, err := (access.Verifier{Keys: &access.RemoteKeys{URL: srv.URL}}).Verify(tok); err != nil {
		t.Errorf("remote keys: %v", err)
	}
}

func TestParseJWKSRefusesSymmetricAndForeignKeys(t *testing.T) {
	for name, doc := range map[string]string{
		"symmetric":         `{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"a"}]}`,
		"oct with okp type": `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","k":"c2VjcmV0","kid":"a"}]}`,
		"rsa":               `{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"a"}]}`,
		"short x":           `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"a"}]}`,
		"no kid":            `{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		"HS alg":            `{"keys":[{"kty":"OKP","crv":"Ed25519","alg":"HS256","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a"}]}`,
		"empty":             `{"keys":[]}`,
		"not json":          `keys`,
	} {
		if ks, err := access.ParseJWKS([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %v", name, ks)
		}
	}
}

func TestRevokedTokensAreRefused(t *testing.T) {
	s := signer(t)
	set := access.NewRevocations()
	v := access.Verifier{Keys: s.Public(), Revoked: set}
	one, _ := s.Sign(httpx.Claims{Subject: "p1", TokenID: "api-1"}, time.Hour)
	two, _ := s.Sign(httpx.Claims{Subject: "p2"}, time.Hour)
	for _, tok := range []string{one, two} {
		if _, err := v.Verify(tok); err != nil {
			t.Fatal(err)
		}
	}
	access.ApplyForTest(set, events.AccessRevoked{PersonID: "p1", TokenID: "api-1", ExpiresAt: time.Now().Add(time.Hour), Reason: "token_revoked"})
	access.ApplyForTest(set, events.AccessRevoked{PersonID: "p2", NotBefore: time.Now(), ExpiresAt: time.Now().Add(time.Hour), Reason: "signed_out_everywhere"})
	for _, tok := range []string{one, two} {
		if _, err := v.Verify(tok); err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("revoked token: %v", err)
		}
	}
}
