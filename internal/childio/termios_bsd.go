//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package childio

import "golang.org/x/sys/unix"

const ioctlGetTermios, ioctlSetTermios = unix.TIOCGETA, unix.TIOCSETA
