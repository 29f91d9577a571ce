//go:build !unix

package childio

import (
	"os"
	"time"

	"golang.org/x/term"
)

// forwardedSignals are the signals Run passes on to the command.
var forwardedSignals = []os.Signal{os.Interrupt}

// sigQuit does not exist here.
var sigQuit os.Signal

// isTerminal reports whether f is a terminal (a console).
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// foregroundIsOurs reports whether f is a terminal whose foreground process
// group is this process's group; without process groups it never is.
func foregroundIsOurs(*os.File) bool { return false }

// ttyRun is never used: there are no pseudo-terminals here.
type ttyRun struct{}

func (*ttyRun) finish(time.Duration) error { return nil }

// startTTY reports that no pseudo-terminal can be opened here: pipes are
// used.
func (c *Child) startTTY(*os.File, Options) (bool, error) { return false, nil }
