package cli

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// deleteInput is what "delete" was asked to do.
type deleteInput struct {
	Name string
	Yes  bool // don't ask for confirmation
}

func (a *app) deleteCommand() *ffcli.Command {
	var in deleteInput
	fs := a.newFlagSet("delete")
	yesFlag(fs, &in.Yes, "Don't ask for confirmation")
	return &ffcli.Command{
		Name:       "delete",
		ShortUsage: "dstack-secrets delete [-h] [--project PROJECT] [-y] NAME",
		ShortHelp:  "Delete a secret (asks for confirmation)",
		LongHelp: `Deletes a secret of the current repository.

Positional Arguments:
  NAME               The name of the secret`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "NAME")
			if err != nil {
				return err
			}
			in.Name = pos[0]
			return deleteSecret(ctx, a, in)
		},
	}
}

// deleteSecret deletes an existing secret, after asking.
func deleteSecret(ctx context.Context, a *app, in deleteInput) error {
	if err := secrets.ValidateName(in.Name); err != nil {
		return err
	}
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		if _, err := store.Get(ctx, in.Name); err != nil {
			return err
		}
		if !in.Yes {
			err := a.confirmOrRefuse(fmt.Sprintf("Delete secret %q from %s?", in.Name, where(r)),
				fmt.Errorf("deleting secret %q from %s needs confirmation; pass -y (standard input is not a terminal)", in.Name, where(r)),
				fmt.Sprintf("secret %q not deleted", in.Name))
			if err != nil {
				return err
			}
		}
		if err := store.Delete(ctx, in.Name); err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "Deleted secret %s from %s\n", in.Name, where(r))
		return nil
	})
}
