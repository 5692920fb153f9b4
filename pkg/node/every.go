package node

import (
	"context"
	"log/slog"
	"time"
)

// Every runs job each interval until ctx ends: the one shape of a service's periodic work
// (membership settling consent windows and terms, feedback closing due polls). A failed run
// is logged the same way everywhere and retried at the next tick; a run cut short by
// shutdown is not a failure.
func Every(ctx context.Context, interval time.Duration, logger *slog.Logger, job string, run func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := run(ctx); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "periodic job failed; retried at the next tick", "job", job, "error", err)
			}
		}
	}
}
