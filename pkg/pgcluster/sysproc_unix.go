//go:build unix

package pgcluster

import (
	"io/fs"
	"syscall"
)

// sysProcAttr runs the child as a (when set) and in its own process group,
// so that a Ctrl-C on copnet's terminal does not reach the postmaster
// directly: copnet must drain its own work before the database goes away,
// and does so by calling Stop.
func sysProcAttr(a *account) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if a != nil {
		attr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}
	}
	return attr
}

func owner(fi fs.FileInfo) (uid, gid uint32, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Uid, st.Gid, true
}
