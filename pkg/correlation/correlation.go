// Package correlation carries a request's correlation id in a context. It is a package of its
// own so that both ends that carry the id (httpx on HTTP, bus on events) share one context key
// without the bus depending on the HTTP layer.
package correlation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// Header carries the correlation id on HTTP requests and responses; the event bus uses the
// same name in event headers.
const Header = "X-Correlation-ID"

type key struct{}

// With returns a context carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// ID returns the correlation id in ctx, or "" if there is none.
func ID(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// New returns a random 128-bit id in hex.
func New() string {
	var b [16]byte
	// crypto/rand.Read never fails; it aborts the program instead.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
