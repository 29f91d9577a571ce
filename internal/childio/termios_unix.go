//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package childio

import (
	"os"

	"golang.org/x/sys/unix"
)

// keepNewlines turns off the "\n" → "\r\n" translation (ONLCR) of the
// terminal tty, for a command whose output then goes to our terminal in
// its normal mode, which translates it itself.
func keepNewlines(tty *os.File) {
	fd, ok := fdOf(tty)
	if !ok {
		return
	}
	st, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return
	}
	st.Oflag &^= unix.ONLCR
	_ = unix.IoctlSetTermios(fd, ioctlSetTermios, st)
}
