package testkit

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// pollInterval is short enough to keep tests fast and long enough not to
// spin a CPU while waiting for another goroutine.
const pollInterval = 20 * time.Millisecond

// Eventually calls cond every 20ms until it returns nil, failing the test
// with cond's last error if that does not happen within timeout. Returning
// an error rather than a bool lets the failure say what was still wrong.
func Eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("testkit: condition not met within %s: %v", timeout, err)
			return
		}
		time.Sleep(pollInterval)
	}
}

// EventuallyTrue is Eventually for a boolean condition; msg describes what
// was awaited and is reported on timeout.
func EventuallyTrue(t testing.TB, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	Eventually(t, timeout, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("still false: %s", msg)
	})
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it; prefer port 0 where the
// code under test allows it.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testkit: find free port: %v", err)
		return 0
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
