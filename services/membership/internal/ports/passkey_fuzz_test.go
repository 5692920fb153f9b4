package ports_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/services/membership/internal/passkeytest"
	"github.com/copnet/copnet/services/membership/internal/ports"
)

// FuzzPasskeyFinishBodies feeds the passkey finish routes' request parsing (the handlers'
// first step, before any ceremony is touched) arbitrary bodies: it must never panic, must
// refuse with a 400 or 413 naming the body (never an internal error), and what it accepts
// must be a public-key credential whose id is its raw id. Seeds are what a browser sends.
func FuzzPasskeyFinishBodies(f *testing.F) {
	key := passkeytest.New("http://localhost:4567")
	creation, err := key.Create([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","rp":{"id":"localhost","name":"copnet"},"user":{"id":"cGVyc29u"}}`))
	if err != nil {
		f.Fatal(err)
	}
	assertion, err := key.Get([]byte(`{"challenge":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","rpId":"localhost"}`))
	if err != nil {
		f.Fatal(err)
	}
	// The seeds a browser would send get through parsing, so the fuzzer starts deep.
	for _, ok := range []func() error{
		func() error {
			_, _, err := ports.ParseRegistrationRequest(seedRequest("/auth/passkey/register/finish", creation))
			return err
		},
		func() error {
			_, _, err := ports.ParseLoginRequest(seedRequest("/auth/passkey/login/finish", assertion))
			return err
		},
	} {
		if err := ok(); err != nil {
			f.Fatalf("a browser's answer is refused: %v", err)
		}
	}
	for _, seed := range [][]byte{creation, assertion, []byte(`{}`), []byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{}}`),
		[]byte(`{"id":"\u0000"}`), []byte(`[]`), nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := func(path string) *http.Request { return seedRequest(path, body) }
		_, created, err := ports.ParseRegistrationRequest(req("/auth/passkey/register/finish"))
		if checkRefusal(t, "registration", err) {
			if created.Type != "public-key" || created.ID != base64.RawURLEncoding.EncodeToString(created.RawID) ||
				len(created.Response.AttestationObject.AuthData.RPIDHash) != 32 {
				t.Fatalf("accepted a registration that is not a public-key credential with its id: %+v", created)
			}
		}
		_, asserted, err := ports.ParseLoginRequest(req("/auth/passkey/login/finish"))
		if checkRefusal(t, "sign-in", err) {
			if asserted.Type != "public-key" || asserted.ID != base64.RawURLEncoding.EncodeToString(asserted.RawID) {
				t.Fatalf("accepted an assertion that is not a public-key credential with its id: %+v", asserted)
			}
		}
	})
}

func seedRequest(path string, body []byte) *http.Request {
	r := httptest.NewRequest("POST", path+"?ceremony=c", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// checkRefusal fails unless err is nil (reporting true) or a 400/413 about the body.
func checkRefusal(t *testing.T, what string, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) || (ae.Kind != apperr.KindInvalid && ae.Kind != apperr.KindTooLarge) || len(ae.Fields) == 0 || ae.Fields[0].Field != "body" {
		t.Fatalf("%s: refused with %v, want a 400 or 413 naming the body", what, err)
	}
	return false
}
