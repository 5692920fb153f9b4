package service

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/copnet/copnet/pkg/config"
)

// The close interval was a constant; as a setting it must still be a usable ticker period,
// and a bad value is refused at start naming the variable.
func TestCloseIntervalSetting(t *testing.T) {
	t.Setenv("COPNET_FEEDBACK_CLOSE_INTERVAL", "") // restored when the test ends
	os.Unsetenv("COPNET_FEEDBACK_CLOSE_INTERVAL")
	var s Settings
	if err := config.Load(&s); err != nil || s.CloseInterval != time.Second {
		t.Fatalf("default: %v, %v; want 1s", s.CloseInterval, err)
	}
	t.Setenv("COPNET_FEEDBACK_CLOSE_INTERVAL", "250ms")
	if err := config.Load(&s); err != nil || s.CloseInterval != 250*time.Millisecond {
		t.Fatalf("250ms: %v, %v", s.CloseInterval, err)
	}
	for _, bad := range []string{"0s", "-1s", "soon"} {
		t.Setenv("COPNET_FEEDBACK_CLOSE_INTERVAL", bad)
		err := config.Load(&Settings{})
		if err == nil || !strings.Contains(err.Error(), "COPNET_FEEDBACK_CLOSE_INTERVAL") {
			t.Errorf("%q: %v, want an error naming COPNET_FEEDBACK_CLOSE_INTERVAL", bad, err)
		}
	}
}
