package node_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/node"
)

// A failing run is logged (one shape: the job's name and the error) and the job runs again
// at the next tick; Every returns when ctx ends.
func TestEveryRetriesAFailedRunAndStopsWithCtx(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{mu: &mu, w: &logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan int, 100)
	n := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		node.Every(ctx, time.Millisecond, logger, "test job", func(context.Context) error {
			n++
			runs <- n
			if n == 1 {
				return errors.New("first run fails")
			}
			return nil
		})
	}()
	for got := range runs {
		if got == 2 {
			break
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `job="test job"`) || !strings.Contains(logs.String(), "first run fails") {
		t.Errorf("log %q does not name the job and its error", logs.String())
	}
}

type syncWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
