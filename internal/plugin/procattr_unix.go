//go:build unix

package plugin

import (
	"os/exec"
	"syscall"
)

// detach puts the program in its own process group, so that the signals
// of the terminal (Ctrl-C) reach only the parent, which decides when the
// program ends (its standard input closes when the parent exits).
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killProcess kills the program and anything it started in its process
// group.
func killProcess(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		_ = cmd.Process.Kill()
	}
}
