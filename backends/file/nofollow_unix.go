//go:build unix

package file

import (
	"errors"
	"syscall"
)

// oNoFollow makes open fail on a symbolic link instead of following it.
const oNoFollow = syscall.O_NOFOLLOW

// isLinkLoop reports whether err is open's refusal of a symbolic link
// under oNoFollow (ELOOP; EMLINK on FreeBSD, EFTYPE on NetBSD).
func isLinkLoop(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}
