//go:build unix

package cli

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals are the signals run passes on to the command.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM}

// foregroundIsOurs reports whether f is a terminal whose foreground process
// group is this process's group.
func foregroundIsOurs(f *os.File) bool {
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
