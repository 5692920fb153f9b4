package access_test

import (
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/httpx"
)

// FuzzParseJWKS: whatever an issuer URL answers, the parser returns Ed25519 keys or an
// error, never a panic, and never a key that is not 32 bytes.
func FuzzParseJWKS(f *testing.F) {
	s, err := access.NewSigner(secret, nil)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := s.Public().MarshalJSON()
	for _, seed := range []string{string(good), `{"keys":[{"kty":"oct","k":"AA"}]}`, `{}`, `[]`, `{"keys":null}`, "\x00"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := access.ParseJWKS(data)
		if err != nil {
			return
		}
		for kid, k := range ks {
			if kid == "" || len(k) != 32 {
				t.Fatalf("key %q of %d bytes", kid, len(k))
			}
		}
	})
}

// FuzzVerify: any string is a valid token of the issuer or an error, never a panic.
func FuzzVerify(f *testing.F) {
	s, err := access.NewSigner(secret, nil)
	if err != nil {
		f.Fatal(err)
	}
	tok, _ := s.Sign(httpx.One("p1", httpx.Grant{Role: httpx.RoleNational}), time.Hour)
	for _, seed := range []string{tok, tok[:len(tok)-3], "a.b.c", "eyJhbGciOiJub25lIn0.e30.", ""} {
		f.Add(seed)
	}
	v := access.Verifier{Keys: s.Public()}
	f.Fuzz(func(t *testing.T, token string) {
		if c, err := v.Verify(token); err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("verified invalid claims: %v", err)
			}
		}
	})
}
