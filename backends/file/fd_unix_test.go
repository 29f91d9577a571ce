//go:build unix

package file_test

import "golang.org/x/sys/unix"

const fdSupported = true

func dup2(from, to int) error { return unix.Dup2(from, to) }

func fdOpen(fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil
}
