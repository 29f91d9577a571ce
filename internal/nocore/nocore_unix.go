//go:build unix

package nocore

import "golang.org/x/sys/unix"

// limit is a soft core limit.
type limit = uint64

// setCoreLimit sets the soft RLIMIT_CORE (keeping the hard one) and returns
// the previous soft limit.
func setCoreLimit(cur limit) (limit, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		return 0, err
	}
	prev := rl.Cur
	rl.Cur = min(cur, rl.Max)
	return prev, unix.Setrlimit(unix.RLIMIT_CORE, &rl)
}
