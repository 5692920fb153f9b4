package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// ChildProcess returns a child process of pid, read from /proc (Linux). Tests that kill a
// PostgreSQL postmaster stop one of its children first: it keeps the dead server's shared
// memory, so the outage lasts until the test releases it and "while down" is a state
// observed, not a moment raced.
func ChildProcess(t testing.TB, pid int) int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		fields := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		if len(fields) > 1 && string(fields[1]) == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			return child
		}
	}
	t.Fatalf("process %d has no child process", pid)
	return 0
}
