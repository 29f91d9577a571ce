// Command run-with-secrets shows how a dstack tool starts a workflow with
// the secrets of the current git repository in its environment, through the
// dstack-secrets library:
//
//	go run ./examples/run-with-secrets [-project PROJECT] COMMAND [ARGS...]
//
// It opens the store of the configured project for the repository that
// contains the working directory (backends.Open: the same configuration,
// project and repository rules as the dstack-secrets CLI), adds every secret
// to the command's environment (secrets.PrepareCmd: a secret replaces an
// inherited variable of the same name) and runs the command, exiting with
// its exit code. "dstack-secrets run" does the same and also forwards
// signals.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/secrets"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program with its arguments and streams injected; it
// returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run-with-secrets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", "", "the project (default: the configuration's default project)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: run-with-secrets [-project PROJECT] COMMAND [ARGS...]")
		return 2
	}

	// Open the store of the current repository.
	store, target, err := backends.Open(ctx, secrets.Target{Project: *project})
	if err != nil {
		fmt.Fprintln(stderr, "run-with-secrets:", err)
		return 1
	}

	// Build the command and give it the secrets; then release the store,
	// which the command does not need.
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	err = secrets.PrepareCmd(ctx, store, cmd, true)
	secrets.Close(store)
	if err != nil {
		fmt.Fprintln(stderr, "run-with-secrets: reading the secrets:", err)
		return 1
	}
	fmt.Fprintf(stderr, "run-with-secrets: running with the secrets of project %q, repository %s\n",
		target.Scope.Project, target.Scope.Repository)

	// Run it and pass its exit code on.
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		fmt.Fprintln(stderr, "run-with-secrets: cannot run the command:", err)
		return 127
	}
}
