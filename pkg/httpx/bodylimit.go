package httpx

import (
	"io"
	"net/http"
	"sync"
)

// bodyLimit is a request body limited to the server's MaxBodyBytes unless the route raises
// its limit (RaiseBodyLimit) before the first read: an upload route takes files larger
// than any JSON body, and every other route keeps the small limit.
type bodyLimit struct {
	mu    sync.Mutex
	w     http.ResponseWriter
	body  io.ReadCloser
	limit int64
	// reader is the http.MaxBytesReader made on the first read, with the limit then.
	reader io.ReadCloser
}

type bodyLimitKey struct{}

func (b *bodyLimit) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.reader == nil {
		b.reader = http.MaxBytesReader(b.w, b.body, b.limit)
	}
	rd := b.reader
	b.mu.Unlock()
	return rd.Read(p)
}

func (b *bodyLimit) Close() error { return b.body.Close() }

// RaiseBodyLimit lets the request's body be up to n bytes instead of the server's
// MaxBodyBytes, for a route that takes uploads. It must be called before the body is
// read; afterwards, or on a server without the limit, it does nothing and reports false.
func RaiseBodyLimit(r *http.Request, n int64) bool {
	b, ok := r.Context().Value(bodyLimitKey{}).(*bodyLimit)
	if !ok {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reader != nil {
		return false
	}
	if n > b.limit {
		b.limit = n
	}
	return true
}
