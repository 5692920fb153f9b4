package console

import (
	"time"

	"github.com/copnet/copnet/pkg/httpx"
	"github.com/copnet/copnet/services/console/internal/ports"
)

// SigninLinkTTL is how long a link printed by the all-in-one can be used.
const SigninLinkTTL = 30 * time.Minute

// SigninLink returns a single-use link that signs one browser in to the console at base as c,
// valid for ttl. secret is the node's HS256 secret (COPNET_AUTH_SECRET, or the one the
// all-in-one keeps in its data dir); the link carries no bearer token.
func SigninLink(secret []byte, base string, c httpx.Claims, ttl time.Duration) (string, error) {
	return ports.SigninLink(secret, base, c, ttl, time.Now())
}
