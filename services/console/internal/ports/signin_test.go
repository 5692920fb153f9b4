package ports

import (
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/access"
	"github.com/copnet/copnet/pkg/httpx"
)

var testSecret = []byte("a test secret of more than sixteen bytes")

func ticketOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(TicketParam)
}

func newTicket(t testing.TB, c httpx.Claims, ttl time.Duration, now time.Time) string {
	t.Helper()
	link, err := SigninLink(testSecret, "http://console.example/", c, ttl, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "http://console.example/signin/link?t=") {
		t.Fatalf("link %s", link)
	}
	return ticketOf(t, link)
}

// TestParseTicket: a ticket holds until its expiry and only under the node's own key; a
// bearer token signed with the same secret is not a ticket.
func TestParseTicket(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := httpx.Claims{Subject: "operator", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}
	tk := newTicket(t, c, 30*time.Minute, now)
	key := linkKey(testSecret)

	got, err := parseTicket(key, tk, now.Add(29*time.Minute))
	if err != nil || got.claims().Subject != c.Subject || !slices.Equal(got.claims().Grants, c.Grants) || len(got.ID) != 32 {
		t.Fatalf("fresh ticket: %+v, %v", got, err)
	}
	if other := newTicket(t, c, 30*time.Minute, now); ticketOf(t, "x?t="+other) == tk {
		t.Fatal("two links share a ticket")
	}
	if _, err := parseTicket(key, tk, now.Add(30*time.Minute)); !errors.Is(err, errTicketExpired) {
		t.Errorf("at expiry: %v, want expired", err)
	}
	if _, err := parseTicket(linkKey([]byte("another secret entirely, also long")), tk, now); !errors.Is(err, errTicketInvalid) {
		t.Errorf("under another key: %v, want invalid", err)
	}
	payload, sig, _ := strings.Cut(tk, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"national"`, `"hub"`, 1))) + "." + sig
	if _, err := parseTicket(key, forged, now); !errors.Is(err, errTicketInvalid) {
		t.Errorf("altered claims: %v, want invalid", err)
	}
	signer, err := access.NewSigner(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := signer.Sign(c, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseTicket(key, jwt, now); !errors.Is(err, errTicketInvalid) {
		t.Errorf("a bearer token as a ticket: %v, want invalid", err)
	}
	if _, err := (access.Verifier{Keys: signer.Public()}).Verify(tk); err == nil {
		t.Error("a ticket verified as a bearer token")
	}
	if _, err := SigninLink(testSecret, "http://x", httpx.Claims{Subject: string(httpx.RoleHub), Grants: []httpx.Grant{{Role: httpx.RoleHub}}}, time.Hour, now); err == nil {
		t.Error("a link for a hub without a region was made")
	}
}

// FuzzParseTicket: whatever arrives in ?t= or the form, parsing neither panics nor accepts
// anything but an unaltered ticket made with the key.
func FuzzParseTicket(f *testing.F) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	key := linkKey(testSecret)
	// Made here rather than by SigninLink, whose random id would differ in each fuzz worker.
	valid := encodeTicket(key, ticket{ID: strings.Repeat("ab", 16), Expires: now.Add(time.Hour).Unix(), Subject: "operator", Grants: []httpx.Grant{{Role: httpx.RoleNational}}})
	signer, _ := access.NewSigner(testSecret, nil)
	jwt, _ := signer.Sign(httpx.Claims{Subject: "s", Grants: []httpx.Grant{{Role: httpx.RoleNational}}}, time.Hour)
	for _, seed := range []string{valid, valid + "x", "x" + valid, jwt, "", ".", "a.b", "a.b.c",
		strings.Repeat("A", maxTicketLen+1), "eyJ9.AAAA", valid[:len(valid)/2]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTicket(key, s, now)
		if err != nil {
			return
		}
		if s != valid {
			t.Fatalf("accepted %q as %+v", s, got)
		}
	})
}
