package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/term"

	"github.com/dstackai/dstack-secrets/secrets"
)

const getHelp = `Usage: dstack-secrets get [-h] [--project PROJECT] NAME

Prints the value of a secret of the current repository to standard output,
exactly as stored: nothing is added or removed, not even a newline, so
'dstack-secrets get KEY > key.pem' gives the stored bytes. (When standard
output is a terminal, a newline is written to standard error after the value
so that the shell prompt starts on its own line.)

A missing secret is an error (exit code 1).

Positional Arguments:
  NAME               The name of the secret

Optional Arguments:
  -h, --help         Show this help message and exit
  --project PROJECT  The name of the project to execute the command for
  --config FILE      The configuration file
  --repo REPO        The repository (remote URL or directory)
`

func (a *app) getCommand() *command {
	fs := a.newFlagSet("get")
	return &command{help: getHelp, Command: &ffcli.Command{
		Name:      "get",
		ShortHelp: "Print a secret's value exactly as stored (for scripts)",
		FlagSet:   fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "NAME")
			if err != nil {
				return err
			}
			name := pos[0]
			if err := secrets.ValidateName(name); err != nil {
				return err
			}
			store, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer secrets.Close(store)
			value, err := store.Get(ctx, name)
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
		},
	}}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
