package secrets

import (
	"os"

	"golang.org/x/sys/unix"
)

// argMax returns the most bytes of arguments and environment, pointers
// included, that execve accepts, how the system sets it, and the longest
// single string it accepts (0: no such limit). Linux (fs/exec.c) allows a
// quarter of the stack size limit, at most three quarters of 8 MiB and at
// least 128 KiB, and 32 pages per string.
func argMax() (limit int, how string, maxString int) {
	limit = 6 << 20
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &rl); err == nil && rl.Cur != unix.RLIM_INFINITY && rl.Cur/4 < uint64(limit) {
		limit = int(rl.Cur / 4)
	}
	limit = max(limit, 128<<10)
	return limit, "on Linux a quarter of the stack size limit, see ulimit -s", 32 * os.Getpagesize()
}
