package service

import (
	"context"
	"strings"
	"testing"

	"github.com/copnet/copnet/pkg/node"
)

// Scheduling's settings load through config.Load: one bad start reports every setting that
// cannot work, not the first only.
func TestSettingsReportEveryProblem(t *testing.T) {
	t.Setenv("COPNET_SCHEDULING_DECLINE_WINDOW", "0")
	t.Setenv("COPNET_SCHEDULING_DECLINE_DROP", "0.3")
	t.Setenv("COPNET_SCHEDULING_ORGANIZER_EMAIL", "Events <events@example.org>")
	_, err := New(context.Background(), node.Deps{})
	if err == nil {
		t.Fatal("a zero decline window and a named organizer address were accepted")
	}
	for _, want := range []string{"decline window 0", "COPNET_SCHEDULING_ORGANIZER_EMAIL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}
