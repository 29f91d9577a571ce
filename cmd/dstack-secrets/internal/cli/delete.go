package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// restoreTimeout bounds the restoring of secrets after a delete failed
// midway, which runs even when the command's context was cancelled.
const restoreTimeout = 30 * time.Second

// deleteInput is what "delete" was asked to do.
type deleteInput struct {
	Names []string // one or more, each once
	Yes   bool     // don't ask for confirmation
}

func (a *app) deleteCommand() *ffcli.Command {
	var in deleteInput
	fs := a.newFlagSet("delete")
	yesFlag(fs, &in.Yes, "Don't ask for confirmation")
	return &ffcli.Command{
		Name:       "delete",
		ShortUsage: "dstack-secrets delete [-h] [--project PROJECT] [-y] NAME...",
		ShortHelp:  "Delete secrets (asks for confirmation)",
		LongHelp: `Deletes secrets of the current repository.

All or nothing: every NAME must exist, or nothing is deleted; if the backend
fails midway, the secrets already deleted are restored (and the message says
whether that worked).

Positional Arguments:
  NAME               The name of a secret (one or more)`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, -1, "NAME")
			if err != nil {
				return err
			}
			in.Names = pos
			return deleteSecrets(ctx, a, in)
		},
	}
}

// deleteSecrets deletes existing secrets, after asking, all or nothing.
func deleteSecrets(ctx context.Context, a *app, in deleteInput) error {
	var names []string
	for _, n := range in.Names {
		if err := secrets.ValidateName(n); err != nil {
			return err
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		// Read every value first: they restore the secrets if a delete
		// fails midway.
		values := make(map[string]string, len(names))
		var missing []string
		var missingErr error
		for _, n := range names {
			v, err := store.Get(ctx, n)
			switch {
			case errors.Is(err, secrets.ErrNotFound):
				missing = append(missing, n)
				missingErr = err
			case err != nil:
				return err
			default:
				values[n] = v
			}
		}
		switch {
		case len(missing) == 1 && len(names) == 1:
			return missingErr
		case len(missing) == 1:
			return fmt.Errorf("%w (nothing deleted)", missingErr)
		case len(missing) > 1:
			return fmt.Errorf("%w: %d of the %d names: %s in %s (nothing deleted)", secrets.ErrNotFound, len(missing), len(names), secrets.NameList(missing), where(r))
		}
		what := fmt.Sprintf("secret %q", names[0])
		declined := fmt.Sprintf("secret %q not deleted", names[0])
		if len(names) > 1 {
			declined = "nothing deleted"
			what = fmt.Sprintf("%s (%s)", countNoun(len(names), "secret"), secrets.NameList(names))
		}
		if !in.Yes {
			err := a.confirmOrRefuse(fmt.Sprintf("Delete %s from %s?", what, where(r)),
				fmt.Errorf("deleting %s from %s needs confirmation; pass -y (standard input is not a terminal)", what, where(r)),
				declined)
			if err != nil {
				return err
			}
		}
		for i, n := range names {
			if err := store.Delete(ctx, n); err != nil {
				return undoDeletes(ctx, store, names[:i], values, n, err)
			}
		}
		if len(names) == 1 {
			what = "secret " + names[0]
		}
		fmt.Fprintf(a.Stderr, "Deleted %s from %s\n", what, where(r))
		return nil
	})
}

// undoDeletes restores the secrets deleted before deleting failed with
// cause, and describes the outcome.
func undoDeletes(ctx context.Context, store secrets.Store, deleted []string, values map[string]string, failed string, cause error) error {
	if len(deleted) == 0 {
		return fmt.Errorf("deleting %s failed, nothing was deleted: %w", failed, cause)
	}
	restore := make(map[string]string, len(deleted))
	for _, n := range deleted {
		restore[n] = values[n]
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout)
	defer cancel()
	if err := secrets.SetMany(ctx, store, restore, false); err != nil {
		return fmt.Errorf("deleting %s failed: %w; restoring the secrets deleted before it failed too (%v): %s stay deleted", failed, cause, err, secrets.NameList(deleted))
	}
	return fmt.Errorf("deleting %s failed: %w; the secrets deleted before it were restored (%s)", failed, cause, secrets.NameList(deleted))
}
