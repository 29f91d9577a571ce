package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// rollbackInput is what "rollback" was asked to do.
type rollbackInput struct {
	Name string
	To   int // the version whose value becomes current again
}

func (a *app) rollbackCommand() *ffcli.Command {
	var in rollbackInput
	fs := a.newFlagSet("rollback")
	fs.IntVar(&in.To, "to", 0, "The `VERSION` whose value becomes current again (required; see 'dstack-secrets history NAME')")
	return &ffcli.Command{
		Name:       "rollback",
		ShortUsage: "dstack-secrets rollback [-h] [--project PROJECT] --to VERSION NAME",
		ShortHelp:  "Make the value of an earlier version of a secret current again",
		LongHelp: `Writes the value a secret of the current repository had in an earlier version
as its current value. This adds a new version: the versions in between stay
in the history. A deleted secret comes back. The value is never printed.
Version numbers come from 'dstack-secrets history NAME'.

Positional Arguments:
  NAME               The name of the secret`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "NAME")
			if err != nil {
				return err
			}
			in.Name = pos[0]
			return rollbackSecret(ctx, a, in)
		},
	}
}

// rollbackSecret writes the value of version in.To as the current value.
func rollbackSecret(ctx context.Context, a *app, in rollbackInput) error {
	if in.To == 0 {
		return commandUsageError("rollback", "missing --to VERSION (see 'dstack-secrets history %s')", in.Name)
	}
	if in.To < 0 {
		return commandUsageError("rollback", "--to %d: versions are numbered from 1", in.To)
	}
	if err := secrets.ValidateName(in.Name); err != nil {
		return err
	}
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		old, err := secrets.GetVersion(ctx, store, in.Name, in.To)
		if err != nil {
			return fmt.Errorf("rollback: %w (nothing changed)", err)
		}
		cur, err := store.Get(ctx, in.Name)
		switch {
		case err == nil && cur == old:
			fmt.Fprintf(a.Stderr, "%s in %s already has the value of version %d; nothing changed\n", in.Name, where(r), in.To)
			return nil
		case err != nil && !errors.Is(err, secrets.ErrNotFound):
			return err
		}
		if err := store.Set(ctx, in.Name, old); err != nil {
			return fmt.Errorf("rollback: %w", err)
		}
		fmt.Fprintf(a.Stderr, "Rolled back %s in %s to the value of version %d\n", in.Name, where(r), in.To)
		return nil
	})
}
