//go:build !unix

package cli

import "os"

// forwardedSignals are the signals run passes on to the command.
var forwardedSignals = []os.Signal{os.Interrupt}

// foregroundIsOurs reports whether f is a terminal whose foreground process
// group is this process's group; without process groups it never is.
func foregroundIsOurs(*os.File) bool { return false }

// sigQuit does not exist here.
var sigQuit os.Signal
