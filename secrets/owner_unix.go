//go:build unix

package secrets

import (
	"io/fs"
	"os"
	"syscall"
)

// fileOwner returns the user and group owning fi; ok is false where the
// system does not say.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// currentUser returns the effective user and group of the process.
func currentUser() (uid, gid int) { return os.Geteuid(), os.Getegid() }
