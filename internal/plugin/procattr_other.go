//go:build !unix

package plugin

import "os/exec"

// detach does nothing where there are no process groups.
func detach(*exec.Cmd) {}

// killProcess kills the program.
func killProcess(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
