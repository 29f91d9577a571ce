// Package nocore keeps decrypted secrets out of core dumps: Disable, called
// first thing by every dstack-secrets command, sets the soft RLIMIT_CORE to
// 0 and, on Linux, the process's dumpable flag to 0 (prctl PR_SET_DUMPABLE),
// as ssh-agent and gpg-agent do. The flag also stops the kernel from
// writing a core through a core_pattern pipe (systemd-coredump, apport),
// which ignores RLIMIT_CORE, and keeps other processes of the same user
// from attaching with ptrace or reading the process's memory through /proc.
//
// Neither setting should reach the programs that run starts: the dumpable
// flag is reset by execve, and Start gives the child the core limit the
// process was started with.
package nocore

import (
	"os/exec"
	"sync"
)

var (
	mu       sync.Mutex
	disabled bool
	saved    limit // the soft core limit before Disable
)

// Disable turns core dumps of this process off as the package describes. It
// is idempotent. An error (a system without the calls) leaves the process
// as it was; the caller may ignore it.
func Disable() error {
	mu.Lock()
	defer mu.Unlock()
	if disabled {
		return nil
	}
	prev, err := setCoreLimit(0)
	if err != nil {
		return err
	}
	saved, disabled = prev, true
	return setNotDumpable()
}

// Start starts cmd with the core limit the process had before Disable
// (the child inherits limits when it is created): the limit is given back
// for the moment of cmd.Start and set to 0 again right after. Meanwhile the
// dumpable flag (Linux) still keeps this process from dumping core.
func Start(cmd *exec.Cmd) error {
	mu.Lock()
	defer mu.Unlock()
	if !disabled {
		return cmd.Start()
	}
	if _, err := setCoreLimit(saved); err != nil {
		return cmd.Start()
	}
	err := cmd.Start()
	_, _ = setCoreLimit(0)
	return err
}
