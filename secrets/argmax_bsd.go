//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package secrets

import "golang.org/x/sys/unix"

// argMax returns the most bytes of arguments and environment that execve
// accepts (the sysctl kern.argmax, which sysconf(_SC_ARG_MAX) reports), how
// the system sets it, and the longest single string it accepts (0: no such
// limit).
func argMax() (limit int, how string, maxString int) {
	n, err := unix.SysctlUint32("kern.argmax")
	if err != nil {
		return 0, "", 0
	}
	return int(n), "the sysctl kern.argmax", 0
}
