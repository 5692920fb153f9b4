package httpx

import (
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/copnet/copnet/pkg/apperr"
)

// Limiter is a token bucket per key (a client address, a device token), for routes anyone
// may call without a token: self-registration, open polls in a room.
type Limiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter allows burst requests at once per key, then one every interval.
func NewLimiter(every time.Duration, burst int) *Limiter {
	return &Limiter{every: every, burst: burst, buckets: map[string]*bucket{}}
}

// Allow spends a token of key's bucket, or returns a 429 error.
func (l *Limiter) Allow(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	b, ok := l.buckets[key]
	if !ok {
		// Forget idle keys now and then so the map cannot grow without bound.
		if len(l.buckets) > 10_000 {
			for k, old := range l.buckets {
				if now.Sub(old.seen) > 10*l.every*time.Duration(l.burst) {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	if !b.lim.AllowN(now, 1) {
		return apperr.TooMany("too many requests; try again shortly")
	}
	return nil
}

// ClientKey is the client's address without its port: the key for anonymous callers.
// When the peer is a proxy copnet trusts (loopback, or an address in
// COPNET_TRUSTED_PROXIES) the client is the nearest untrusted address in
// X-Forwarded-For, read from the right: the console forwards a room's phones to the
// feedback service, and a reverse proxy forwards everyone, and without this a whole room
// (or the whole internet) would share the proxy's one bucket. Addresses a client wrote
// further left are never believed; a malformed hop ends the walk at the last trusted peer.
func ClientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || !TrustedProxy(ip) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values(ForwardedFor) {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := host
	for i := len(hops) - 1; i >= 0; i-- {
		hop := net.ParseIP(strings.TrimSpace(hops[i]))
		if hop == nil {
			break
		}
		client = hop.String()
		if !TrustedProxy(hop) {
			break
		}
	}
	return client
}

// ForwardedFor is the header proxies add the client's address to.
const ForwardedFor = "X-Forwarded-For"

// TrustedProxy reports whether ip is a proxy whose X-Forwarded-For copnet believes:
// loopback (the all-in-one's console, a proxy on the same machine) or a network listed in
// COPNET_TRUSTED_PROXIES (comma-separated CIDRs, e.g. the compose network).
func TrustedProxy(ip net.IP) bool {
	if ip.IsLoopback() {
		return true
	}
	for _, n := range trustedNets() {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

var trustedNets = sync.OnceValue(func() []*net.IPNet {
	var nets []*net.IPNet
	for _, c := range strings.Split(os.Getenv("COPNET_TRUSTED_PROXIES"), ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if _, n, err := net.ParseCIDR(c); err == nil {
			nets = append(nets, n)
		} else if ip := net.ParseIP(c); ip != nil {
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(len(ip)*8, len(ip)*8)})
		} else {
			slog.Warn("COPNET_TRUSTED_PROXIES: not an address or CIDR, ignored", "entry", c)
		}
	}
	return nets
})
