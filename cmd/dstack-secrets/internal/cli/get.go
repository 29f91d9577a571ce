package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/term"

	"github.com/dstackai/dstack-secrets/secrets"
)

// getInput is what "get" was asked to do.
type getInput struct {
	Name    string
	Version int // an earlier version to print; 0 means the current value
}

func (a *app) getCommand() *ffcli.Command {
	var in getInput
	fs := a.newFlagSet("get")
	fs.IntVar(&in.Version, "version", 0, "Print the value the secret had in `VERSION` (see 'dstack-secrets history NAME')")
	return &ffcli.Command{
		Name:       "get",
		ShortUsage: "dstack-secrets get [-h] [--project PROJECT] [--version VERSION] NAME",
		ShortHelp:  "Print a secret's value exactly as stored (for scripts)",
		LongHelp: `Prints the value of a secret of the current repository to standard output,
exactly as stored: nothing is added or removed, not even a newline, so
'dstack-secrets get KEY > key.pem' gives the stored bytes. (When standard
output is a terminal, a newline is written to standard error after the value
so that the shell prompt starts on its own line.)

A missing secret is an error (exit code 1).

Positional Arguments:
  NAME               The name of the secret`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "NAME")
			if err != nil {
				return err
			}
			in.Name = pos[0]
			return getSecret(ctx, a, in)
		},
	}
}

// getSecret prints a secret's value to stdout.
func getSecret(ctx context.Context, a *app, in getInput) error {
	if err := secrets.ValidateName(in.Name); err != nil {
		return err
	}
	if in.Version < 0 {
		return commandUsageError("get", "--version %d: versions are numbered from 1", in.Version)
	}
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		var value string
		var err error
		if in.Version > 0 {
			value, err = secrets.GetVersion(ctx, store, in.Name, in.Version)
		} else {
			value, err = store.Get(ctx, in.Name)
		}
		if errors.Is(err, secrets.ErrNotFound) && in.Version == 0 {
			a.hintMoved(ctx, store, r, in.Name)
		}
		if err != nil {
			return err
		}
		if _, err := io.WriteString(a.Stdout, value); err != nil {
			return fmt.Errorf("cannot write the value to standard output: %w", err)
		}
		if isTerminal(a.Stdout) && !strings.HasSuffix(value, "\n") {
			fmt.Fprintln(a.Stderr)
		}
		return nil
	})
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
