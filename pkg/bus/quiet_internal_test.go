package bus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestCancelledContextsAreNotLoggedAsErrors(t *testing.T) {
	var buf bytes.Buffer
	b, err := New(Config{NodeID: "national", Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.wmLog.Error("could not begin tx for querying", fmt.Errorf("wrapped: %w", context.Canceled), nil)
	b.wmLog.With(nil).Error("cannot publish", errors.New("nats: no responders"), nil)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"level":"DEBUG"`) || !strings.Contains(lines[1], `"level":"ERROR"`) {
		t.Fatalf("want the cancellation at DEBUG and the failure at ERROR:\n%s", buf.String())
	}
}
