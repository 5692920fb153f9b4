package adapters_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/copnet/copnet/services/membership/domain"
	"github.com/copnet/copnet/services/membership/internal/adapters"
)

// TestDecodeOIDCClaims: the person's e-mail, whether the provider verified it, and a name,
// as providers state them.
func TestDecodeOIDCClaims(t *testing.T) {
	cases := []struct {
		payload, email, name string
		verified             bool
	}{
		{`{"sub":"1","email":"ana@example.org","email_verified":true,"name":"Ana Moana"}`, "ana@example.org", "Ana Moana", true},
		{`{"email":"ana@example.org","email_verified":true,"given_name":"Ana","family_name":"Moana"}`, "ana@example.org", "Ana Moana", true},
		{`{"email":"ana@example.org","email_verified":"true","given_name":" Ana "}`, "ana@example.org", "Ana", true},
		{`{"email":"ana@example.org","email_verified":false,"name":"  "}`, "ana@example.org", "", false},
		{`{"email":"ana@example.org","email_verified":"yes"}`, "ana@example.org", "", false},
		{`{"email":"ana@example.org","email_verified":1}`, "ana@example.org", "", false},
		{`{"email":"ana@example.org"}`, "ana@example.org", "", false},
		{`{"email":5,"email_verified":true,"name":["Ana"]}`, "", "", true},
		{`{"email":"ana@example.org","email_verified":true,"name":"Ana\u0000Moana"}`, "ana@example.org", "", true},
		{`{"email":"ana@example.org","email_verified":true,"name":"` + strings.Repeat("a", domain.MaxName+1) + `"}`, "ana@example.org", "", true},
	}
	for _, c := range cases {
		got, err := adapters.DecodeOIDCClaims([]byte(c.payload))
		if err != nil {
			t.Errorf("%.60s: %v", c.payload, err)
			continue
		}
		if got.Email != c.email || got.EmailVerified != c.verified || got.Name != c.name {
			t.Errorf("%.60s: read %+v, want email %q verified %v name %q", c.payload, got, c.email, c.verified, c.name)
		}
	}
	for _, bad := range []string{``, `null`, `[]`, `"x"`, `{`} {
		if _, err := adapters.DecodeOIDCClaims([]byte(bad)); err == nil {
			t.Errorf("%q read as claims", bad)
		}
	}
}

// FuzzDecodeOIDCClaims: any ID token payload is read without panic; a verified address is
// claimed only by true or "true", and a name read is one an account can keep.
func FuzzDecodeOIDCClaims(f *testing.F) {
	for _, s := range []string{`{"email":"ana@example.org","email_verified":true,"name":"Ana"}`,
		`{"email_verified":"true","given_name":"A","family_name":"B"}`, `{"name":"\u0000"}`, `{"email":null}`, `[1]`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := adapters.DecodeOIDCClaims(payload)
		if err != nil {
			return
		}
		if c.EmailVerified && !strings.Contains(string(payload), "true") {
			t.Fatalf("verified without saying true: %q", payload)
		}
		if len(c.Name) > domain.MaxName || !utf8.ValidString(c.Name) || strings.ContainsFunc(c.Name, unicode.IsControl) ||
			c.Name != strings.TrimSpace(c.Name) {
			t.Fatalf("name %q cannot be kept", c.Name)
		}
		if c.Issuer != "" || c.Subject != "" || c.Nonce != "" {
			t.Fatalf("the payload decoder set what only the verified token may: %+v", c)
		}
	})
}
