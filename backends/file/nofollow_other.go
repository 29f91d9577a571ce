//go:build !unix

package file

// oNoFollow is 0 where open has no such flag: the Lstat before opening
// refuses a symbolic link.
const oNoFollow = 0

// isLinkLoop reports nothing where open has no oNoFollow.
func isLinkLoop(error) bool { return false }
