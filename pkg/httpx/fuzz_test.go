package httpx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

// FuzzDecodeJSON: whatever the body, DecodeJSON blames the client (400 or 413) or succeeds,
// never fails as a server fault or panics; what it accepts holds no NUL anywhere, and what
// it rejects for a NUL really holds one.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Youth mental health","topics":["youth"],"meeting":{"frequency":"monthly","format":["share","discuss","apply"]}}`,
		`{"name":"a\u0000b"}`,
		`{"meeting":{"format":["share","\u0000"]}}`,
		`{"extra":{"k\u0000":[1,{"d":"\u0000"}]}}`,
		`{"answers":[{"text":"x"},{"text":"y"}],"extra":null}`,
		`{"name":"\\u0000"}`,
		`{"name":1}`,
		`{"unknown":true}`,
		`{"name":"x"} {"name":"y"}`,
		`[`,
		``,
		`"\u0000"`,
		`{"extra":{"a":[[[[[[]]]]]],"b":"\ud800"}}`,
		`{"extra":{"a":"\u0000","a":"kept"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in proposal
		checkClientError(t, httpx.DecodeJSON(httptest.NewRequest("POST", "/", bytes.NewReader(body)), &in))

		var anything any
		err := httpx.DecodeJSON(httptest.NewRequest("POST", "/", bytes.NewReader(body)), &anything)
		checkClientError(t, err)
		if err == nil {
			if hasNUL(anything) {
				t.Fatalf("accepted a NUL: %q", body)
			}
			return
		}
		var ae *apperr.Error
		if errors.As(err, &ae) && len(ae.Fields) == 1 && strings.Contains(ae.Fields[0].Message, "NUL") {
			// A NUL can only be written escaped (raw control characters are not JSON),
			// so a body reported for one spells it out. (Not the decoded value: with a
			// key given twice, the NUL may sit in the value the decoder dropped.)
			if !bytes.Contains(body, []byte(`\u0000`)) {
				t.Fatalf("NUL reported at %q where there is none: %q", ae.Fields[0].Field, body)
			}
		}
	})
}

// hasNUL reports whether a decoded JSON value holds a NUL in any string or key.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

func checkClientError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	k, ok := apperr.KindOf(err)
	if !ok || (k != apperr.KindInvalid && k != apperr.KindTooLarge) {
		t.Fatalf("not a client error: %v", err)
	}
}

// FuzzBearer: any Authorization header is either a valid token of the issuer, letting the
// request through with consistent claims, or a 401 problem with a challenge; never a 500.
func FuzzBearer(f *testing.F) {
	signer := testSigner(f)
	good, err := signer.Sign(httpx.Claims{Subject: "p1", Grants: []httpx.Grant{{Role: httpx.RoleHub, Region: "vic"}}}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "x", "role": "national", "exp": time.Now().Add(time.Hour).Unix()})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	for _, seed := range []string{
		"Bearer " + good, "bearer " + good, "Bearer  " + good + " ", "Basic " + good, "Bearer", "Bearer ",
		"Bearer " + noneTok, "Bearer a.b.c", "Bearer " + good[:len(good)-2], "Bearer " + strings.Repeat("e", 300),
		"Bearer eyJhbGciOiJIUzI1NiJ9.e30.", "Bearer ..", "\x00",
	} {
		f.Add(seed)
	}
	h := httpx.Authenticate(access.Verifier{Keys: signer.Public()})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := httpx.ClaimsFrom(r.Context())
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"sub": c.Subject, "grants": c.Grants})
	}))
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			if header != "" && !strings.HasPrefix(strings.ToLower(header), "bearer ") {
				t.Fatalf("let through a non-bearer header %q", header)
			}
		case http.StatusUnauthorized:
			if rec.Header().Get("WWW-Authenticate") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("401 without challenge or problem: %v", rec.Header())
			}
		default:
			t.Fatalf("header %q: status %d %s", header, rec.Code, rec.Body)
		}

		_, token, _ := strings.Cut(header, " ")
		c, err := (access.Verifier{Keys: signer.Public()}).Verify(token)
		if err != nil {
			if k, ok := apperr.KindOf(err); !ok || k != apperr.KindUnauthenticated {
				t.Fatalf("Verify error of kind %v: %v", k, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("verified claims that are not valid: %v", err)
		}
	})
}

// FuzzWriteProblem: any application error becomes a well-formed problem+json whose status
// matches its body; anything else is a 500 that does not echo its message.
func FuzzWriteProblem(f *testing.F) {
	f.Add(int(apperr.KindInvalid), "bad input", "meeting.format[1]", "must not be empty", "/v1/cops")
	f.Add(int(apperr.KindNotFound), "no CoP c1", "", "", "/v1/cops/c1")
	f.Add(int(apperr.KindInternal), "secret SQL", "f", "m", "/")
	f.Add(99, "\x00\xff", "\u2028", "\"", "/%zz")
	f.Fuzz(func(t *testing.T, kind int, detail, field, msg, path string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = path
		ae := &apperr.Error{Kind: apperr.Kind(kind), Detail: detail}
		if field != "" {
			ae.Fields = []apperr.FieldError{{Field: field, Message: msg}}
		}
		for _, err := range []error{ae, errors.New(detail)} {
			rec := httptest.NewRecorder()
			httpx.WriteProblem(rec, req, err)
			if rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
			var p httpx.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("body is not JSON: %v: %q", err, rec.Body)
			}
			if p.Status != rec.Code || rec.Code < 400 || rec.Code > 599 {
				t.Fatalf("status %d, body says %d", rec.Code, p.Status)
			}
			if rec.Code == http.StatusInternalServerError && detail != "" && strings.Contains(p.Detail, detail) && !strings.Contains("an internal error occurred; quote the correlation id when reporting it", detail) {
				t.Fatalf("500 echoes the error's message %q", detail)
			}
		}
	})
}

// FuzzPaging: any query either gives a limit within [1, max] and an acceptable cursor, or
// a 400 naming limit or cursor.
func FuzzPaging(f *testing.F) {
	for _, seed := range []string{"", "limit=0", "limit=1", "limit=500", "limit=501", "limit=-1", "limit=1e3", "limit=+5",
		"limit=05", "cursor=abc", "cursor=%00", "cursor=%ff", "limit=2&limit=3", "limit=99999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		p, err := httpx.Paging(q, 50, 500)
		if err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != apperr.KindInvalid || len(ae.Fields) != 1 ||
				(ae.Fields[0].Field != "limit" && ae.Fields[0].Field != "cursor") {
				t.Fatalf("%q: %v", raw, err)
			}
			return
		}
		if p.Limit < 1 || p.Limit > 500 || len(p.Cursor) > httpx.MaxCursorLength || strings.ContainsAny(p.Cursor, "\x00 \t\n") {
			t.Fatalf("%q accepted as %+v", raw, p)
		}
	})
}

// FuzzClientKey: whatever a client writes in X-Forwarded-For, the key is the peer's address
// unless the peer is a trusted proxy, and it is always an address (never header text).
func FuzzClientKey(f *testing.F) {
	f.Add("127.0.0.1:80", "198.51.100.9")
	f.Add("203.0.113.7:1", "10.0.0.1, 127.0.0.1")
	f.Add("[::1]:9", "2001:db8::1,,x")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		r.Header.Set(httpx.ForwardedFor, xff)
		got := httpx.ClientKey(r)
		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			host = remote
		}
		if ip := net.ParseIP(host); ip == nil || !httpx.TrustedProxy(ip) {
			if got != host {
				t.Fatalf("untrusted peer %q: key %q, want its own address", remote, got)
			}
			return
		}
		if net.ParseIP(got) == nil {
			t.Fatalf("trusted peer %q with %q: key %q is not an address", remote, xff, got)
		}
	})
}
