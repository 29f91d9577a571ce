//go:build unix

package cli

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwardedSignals are the signals run passes on to the command: the ones
// that would otherwise end dstack-secrets and orphan it, plus SIGWINCH.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}

// sigQuit is SIGQUIT, which a terminal sends to the whole foreground group
// on Ctrl-\ like SIGINT on Ctrl-C.
var sigQuit os.Signal = syscall.SIGQUIT

// foregroundIsOurs reports whether f is a terminal whose foreground process
// group is this process's group.
func foregroundIsOurs(f *os.File) bool {
	pgrp, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
