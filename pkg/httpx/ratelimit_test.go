package httpx_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/apperr"
	"github.com/copnet/copnet/pkg/httpx"
)

func TestLimiterRefusesBeyondBurstPerKey(t *testing.T) {
	l := httpx.NewLimiter(time.Hour, 2)
	for i := 0; i < 2; i++ {
		if err := l.Allow("a"); err != nil {
			t.Fatalf("request %d refused: %v", i, err)
		}
	}
	err := l.Allow("a")
	if k, ok := apperr.KindOf(err); !ok || k != apperr.KindTooMany {
		t.Fatalf("third request: want 429 kind, got %v", err)
	}
	if err := l.Allow("b"); err != nil {
		t.Fatalf("another key shares the bucket: %v", err)
	}
}

// TestClientKeyBelievesOnlyTrustedProxies: a phone's address forwarded by the console (or a
// reverse proxy on loopback) keys the phone's own bucket; the same header from anyone else,
// or written by the client to the left of what the proxy added, is not believed.
func TestClientKeyBelievesOnlyTrustedProxies(t *testing.T) {
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client", "203.0.113.7:4321", nil, "203.0.113.7"},
		{"direct client claiming another address", "203.0.113.7:4321", []string{"198.51.100.1"}, "203.0.113.7"},
		{"console on loopback forwarding a phone", "127.0.0.1:5555", []string{"198.51.100.9"}, "198.51.100.9"},
		{"client-written hop left of the proxy's", "127.0.0.1:5555", []string{"10.9.9.9, 198.51.100.9"}, "198.51.100.9"},
		{"two trusted hops", "127.0.0.1:5555", []string{"198.51.100.9", "127.0.0.2"}, "198.51.100.9"},
		{"loopback with nothing forwarded", "127.0.0.1:5555", nil, "127.0.0.1"},
		{"malformed hop", "127.0.0.1:5555", []string{"198.51.100.9, not-an-ip"}, "127.0.0.1"},
		{"IPv6 loopback forwarding", "[::1]:5555", []string{"2001:db8::1"}, "2001:db8::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add(httpx.ForwardedFor, v)
		}
		if got := httpx.ClientKey(r); got != c.want {
			t.Errorf("%s: httpx.ClientKey = %q, want %q", c.name, got, c.want)
		}
	}
}
