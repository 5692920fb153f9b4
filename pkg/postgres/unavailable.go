package postgres

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"
)

// ErrAcquireTimeout is returned (wrapped as pgx returns it) when no pool connection came
// free within the wait set by WithAcquireTimeout. It also matches context.DeadlineExceeded,
// which is what a caller that knows nothing of it expects from a timed-out context.
var ErrAcquireTimeout error = acquireTimeoutError{}

type acquireTimeoutError struct{}

func (acquireTimeoutError) Error() string {
	return "postgres: no pool connection came free within the acquire timeout"
}

func (acquireTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Timeout marks the error as a timeout for callers that check net.Error-like timeouts.
func (acquireTimeoutError) Timeout() bool { return true }

type acquireTimeoutKey struct{}

// WithAcquireTimeout bounds how long calls made with the returned context wait for a free
// pool connection; the queries themselves are not bounded by it. pgxpool has no acquire
// timeout of its own: without one, a request arriving at an exhausted pool waits as long as
// its client does, and a burst of them piles up behind the pool. The HTTP server sets it on
// every request so that such a request fails fast with ErrAcquireTimeout (answered 503),
// while consumers, which would rather wait than fail, do not.
func WithAcquireTimeout(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 {
		return ctx
	}
	return context.WithValue(ctx, acquireTimeoutKey{}, d)
}

// limitAcquire installs the tracer that applies WithAcquireTimeout to every Acquire of a
// pool built from cc, keeping any tracer already configured.
func limitAcquire(cc *pgx.ConnConfig) {
	if cc.Tracer == nil {
		cc.Tracer = acquireLimiter{}
		return
	}
	cc.Tracer = multitracer.New(cc.Tracer, acquireLimiter{})
}

// acquireLimiter is a pgxpool.AcquireTracer: pgxpool waits for a connection with the context
// TraceAcquireStart returns, which is the only hook that can bound that wait.
type acquireLimiter struct{}

var _ pgxpool.AcquireTracer = acquireLimiter{}

func (acquireLimiter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (acquireLimiter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (acquireLimiter) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	d, ok := ctx.Value(acquireTimeoutKey{}).(time.Duration)
	if !ok {
		return ctx
	}
	timed, cancel := context.WithTimeout(ctx, d)
	return &acquireContext{Context: timed, parent: ctx, cancel: cancel}
}

func (acquireLimiter) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if a, ok := ctx.(*acquireContext); ok {
		a.cancel()
	}
}

// acquireContext reports its own expiry as ErrAcquireTimeout, so that the error pgxpool
// returns (its wait's ctx.Err()) says the pool was exhausted rather than that the caller
// gave up; the caller's own cancellation still reads as usual.
type acquireContext struct {
	context.Context
	parent context.Context
	cancel context.CancelFunc
}

func (a *acquireContext) Err() error {
	err := a.Context.Err()
	if err != nil && a.parent.Err() == nil {
		return ErrAcquireTimeout
	}
	return err
}

// Unavailable reports whether err means that the database cannot serve now but may soon:
// no pool connection came free in time, the server refused a connection (too many
// connections, starting up, shutting down, not listening), it ended the session
// (administrator or crash shutdown), the connection broke, or the pool was closed because
// the process is stopping. Such errors are answered 503 with Retry-After, not 500: retrying
// later is the right thing for the client to do, and nothing is wrong with its request.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrAcquireTimeout) || errors.Is(err, puddle.ErrClosedPool) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return unavailableCode(pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		// Refused, unreachable, or rejected during start-up by a code without a PgError
		// (a PgError from the server was handled above).
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr)
}

// unavailableCode lists the SQLSTATEs of a server that cannot take work now.
func unavailableCode(code string) bool {
	switch code {
	case "53000", // insufficient_resources
		"53100",                                     // disk_full
		"53200",                                     // out_of_memory
		"53300",                                     // too_many_connections (cluster, database or role limit)
		"57P01",                                     // admin_shutdown: the session was terminated
		"57P02",                                     // crash_shutdown
		"57P03",                                     // cannot_connect_now: starting up or in recovery
		"08000", "08003", "08006", "08001", "08004": // connection exceptions
		return true
	}
	return false
}

// IsAcquireTimeout reports whether err is a wait for a pool connection that timed out, as
// opposed to the database refusing: the pool is busy, so a short Retry-After fits.
func IsAcquireTimeout(err error) bool { return errors.Is(err, ErrAcquireTimeout) }
