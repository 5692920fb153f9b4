//go:build !unix

package pgcluster

import (
	"io/fs"
	"syscall"
)

// sysProcAttr has nothing to set where there are no uids or process
// groups; os.Geteuid reports -1 there, so a is always nil.
func sysProcAttr(*account) *syscall.SysProcAttr { return nil }

func owner(fs.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }
