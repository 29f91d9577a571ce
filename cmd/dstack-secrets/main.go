// Command dstack-secrets manages the secrets of dstack projects: passwords
// and tokens that workflows need but that must never be hard-coded. Secrets
// belong to a project and to the current git repository, and reach running
// workflows as environment variables.
//
// Usage:
//
//	dstack-secrets [--config FILE] [--repo REPO] [--project PROJECT] <command> [flags] [args]
//
// Run "dstack-secrets -h" for the commands and "dstack-secrets COMMAND -h"
// for each command's flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/dstackai/dstack-secrets/cmd/dstack-secrets/internal/cli"
	"github.com/dstackai/dstack-secrets/internal/nocore"
)

func main() {
	// Decrypted secrets never end up in a core dump (see package nocore);
	// run's command gets the process's limits back.
	_ = nocore.Disable()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, true))
}

// run is the whole CLI with its standard streams injected; the process
// environment, home directory and working directory are the real ones.
//
// SIGINT and SIGTERM cancel the context of a command that writes, so that
// an import or copy stops and rolls back what it wrote (and says so)
// rather than dying half done; the exit code is then 128 + the signal's
// number. A second signal ends the process at once. "run" is left alone:
// it forwards the signals to its child; so are the commands that only
// read, which the signals end at once (cli.HandlesInterrupts).
//
// exiting says that the process exits when run returns (cli.Params.Exiting).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, exiting bool) int {
	var got atomic.Value
	if cli.HandlesInterrupts(cli.CommandName(args)) {
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		defer cancel(nil)
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		if !exiting {
			// Restoring a signal costs a round trip with the runtime's
			// signal thread; a process about to exit need not.
			defer signal.Stop(sigs)
		}
		go func() {
			select {
			case sig := <-sigs:
				got.Store(sig)
				signal.Stop(sigs)
				name := "SIGTERM"
				if sig == os.Interrupt {
					name = "SIGINT"
				}
				cancel(fmt.Errorf("interrupted by %s: %w", name, context.Canceled))
			case <-ctx.Done():
			}
		}()
	}
	code := cli.Run(ctx, args, cli.Params{Stdin: stdin, Stdout: stdout, Stderr: stderr, Exiting: exiting})
	if sig, ok := got.Load().(syscall.Signal); ok && code != cli.ExitOK {
		return 128 + int(sig)
	}
	return code
}
