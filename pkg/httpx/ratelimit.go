package httpx

import (
	"net"
	"net/http"
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
func ClientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
