//go:build !unix

package secrets

import "io/fs"

// fileOwner reports no owner: Windows protects files with access control
// lists, which these checks do not read.
func fileOwner(fs.FileInfo) (uid, gid int, ok bool) { return 0, 0, false }

// currentUser is not used where fileOwner reports nothing.
func currentUser() (uid, gid int) { return -1, -1 }
