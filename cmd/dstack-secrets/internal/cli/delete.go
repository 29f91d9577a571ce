package cli

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

const deleteHelp = `Usage: dstack-secrets delete [-h] [--project PROJECT] [-y] NAME

Deletes a secret of the current repository.

Positional Arguments:
  NAME               The name of the secret

Optional Arguments:
  -h, --help         Show this help message and exit
  --project PROJECT  The name of the project to execute the command for
  -y, --yes          Don't ask for confirmation
  --config FILE      The configuration file
  --repo REPO        The repository (remote URL or directory)
`

func (a *app) deleteCommand() *command {
	fs := a.newFlagSet("delete")
	var yes bool
	fs.BoolVar(&yes, "y", false, "don't ask for confirmation")
	fs.BoolVar(&yes, "yes", false, "don't ask for confirmation")
	return &command{help: deleteHelp, Command: &ffcli.Command{
		Name:      "delete",
		ShortHelp: "Delete a secret (asks for confirmation)",
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
			store, r, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer secrets.Close(store)
			if _, err := store.Get(ctx, name); err != nil {
				return err
			}
			if !yes {
				if a.terminal() == nil {
					return fmt.Errorf("deleting secret %q from %s needs confirmation; pass -y (standard input is not a terminal)", name, where(r))
				}
				ok, err := a.confirm(fmt.Sprintf("Delete secret %q from %s?", name, where(r)))
				if err != nil {
					return err
				}
				if !ok {
					return exitError{code: ExitFailure, msg: fmt.Sprintf("secret %q not deleted", name)}
				}
			}
			if err := store.Delete(ctx, name); err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "Deleted secret %s from %s\n", name, where(r))
			return nil
		},
	}}
}
