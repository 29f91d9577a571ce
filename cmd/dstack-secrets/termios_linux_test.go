package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// lineEditing reports whether the terminal of the pseudo-terminal master
// f is out of canonical mode, which a shell's line editor (readline, zle)
// switches to when it starts reading a line.
func lineEditing(f *os.File) bool {
	t, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil && t.Lflag&unix.ICANON == 0
}
