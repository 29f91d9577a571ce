// Command execfloor is the floor of `dstack-secrets run` in bench/parts/run.sh:
// a Go program that does only what run cannot skip once the secrets are
// read: it starts its arguments as a command whose standard output and
// error go through pipes that it copies to its own, passes SIGINT and
// SIGTERM on to the command, waits for it and exits with its status.
//
//	execfloor /bin/true
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: execfloor COMMAND [ARGS...]")
		os.Exit(2)
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin = os.Stdin
	// Writers that are not *os.File: exec.Cmd makes a pipe and a copying
	// goroutine for each, as for run's masking filters.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "execfloor:", err)
		os.Exit(127)
	}
	go func() {
		for sig := range sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		os.Exit(ee.ExitCode())
	case err != nil:
		fmt.Fprintln(os.Stderr, "execfloor:", err)
		os.Exit(1)
	}
}
