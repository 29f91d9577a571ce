//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package secrets

// argMax reports no limit where the system's is not known (Windows limits
// each variable, not the environment).
func argMax() (limit int, how string, maxString int) { return 0, "", 0 }
