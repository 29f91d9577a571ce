//go:build unix && !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package childio

import "os"

// keepNewlines does nothing on this system: the command's "\n" reach our
// terminal as "\r\n" and may be shown with an extra carriage return.
func keepNewlines(*os.File) {}
