//go:build !unix

package pgcluster

import (
	"io/fs"
	"os"
	"syscall"
)

// sysProcAttr has nothing to set where there are no uids or process
// groups; os.Geteuid reports -1 there, so a is always nil.
func sysProcAttr(*account) *syscall.SysProcAttr { return nil }

func owner(fs.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }

// processAlive says whether pid runs; FindProcess opens the process where there are no
// signals to probe with.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}
