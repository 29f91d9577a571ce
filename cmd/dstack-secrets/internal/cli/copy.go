package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// copyInput is what "copy" was asked to do.
type copyInput struct {
	Names []string // the secrets to copy; none means every secret
	To    string   // destination project
	From  string   // source project; empty means the global --project
	Yes   bool     // overwrite secrets that exist in the destination
}

func (a *app) copyCommand() *ffcli.Command {
	var in copyInput
	fs := a.newFlagSet("copy")
	fs.StringVar(&in.To, "to-project", "", "The project to copy to (required)")
	fs.StringVar(&in.From, "from-project", "", "The project to copy from (default: --project, else $DSTACK_SECRETS_PROJECT, else the default project)")
	yesFlag(fs, &in.Yes, "Overwrite secrets that already exist in the destination")
	return &ffcli.Command{
		Name:       "copy",
		ShortUsage: "dstack-secrets copy [-h] --to-project PROJECT [--from-project PROJECT] [-y] [NAME...]",
		ShortHelp:  "Copy secrets to another project (and backend)",
		LongHelp: `Copies secrets of the current repository from one project to another, and so
from one backend to another (for example from the local file to Vault).
Values are never printed; the report names the secrets copied.

Secrets that already exist in the destination are overwritten only with -y;
otherwise they are listed and nothing is copied. All or nothing: if the
destination fails midway, the secrets already written are rolled back.

Positional Arguments:
  NAME                    The secrets to copy (default: every secret)`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			names, err := a.positional(fs, args, 0, -1, "[NAME...]")
			if err != nil {
				return err
			}
			in.Names = names
			return copySecrets(ctx, a, in)
		},
	}
}

// copySecrets copies secrets from one project to another, all or nothing.
// Each side is resolved once (configuration read, repository detected) and
// opened from that.
func copySecrets(ctx context.Context, a *app, in copyInput) error {
	if in.To == "" {
		return commandUsageError("copy", "missing --to-project PROJECT")
	}
	src := a.target()
	if in.From != "" {
		if a.project != "" && a.project != in.From {
			return commandUsageError("copy", "--project and --from-project name different projects; give one of them")
		}
		src.Project = in.From
	}
	dst := src
	dst.Project = in.To
	names, err := uniqueNames(in.Names)
	if err != nil {
		return err
	}
	srcR, err := secrets.Resolve(src)
	if err != nil {
		return err
	}
	dstR, err := secrets.Resolve(dst)
	if err != nil {
		return err
	}
	if srcR.Scope == dstR.Scope {
		return commandUsageError("copy", "the source and the destination are both project %q; name another project with --to-project", srcR.Scope.Project)
	}
	var values map[string]string
	err = a.withResolved(ctx, srcR, func(store secrets.Store, _ secrets.Resolved) error {
		if values, err = readForCopy(ctx, store, names); err != nil {
			return fmt.Errorf("reading from %s: %w", describe(srcR), err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(values) == 0 {
		fmt.Fprintf(a.Stderr, "Nothing to copy: %s has no secrets\n", describe(srcR))
		return nil
	}
	if len(names) == 0 {
		names = secrets.SortedNames(values)
	}
	return a.withResolved(ctx, dstR, func(store secrets.Store, _ secrets.Resolved) error {
		existing, err := store.List(ctx)
		if err != nil {
			return fmt.Errorf("listing %s: %w", describe(dstR), err)
		}
		conflicts := intersect(names, existing)
		overwrite := in.Yes
		if len(conflicts) > 0 && !overwrite {
			err := a.confirmOrRefuse(fmt.Sprintf("%s in %s: %s. Overwrite?", alreadyExist(len(conflicts)), describe(dstR), secrets.NameList(conflicts)),
				fmt.Errorf("%s in %s: %s; pass -y to overwrite (nothing was copied)", alreadyExist(len(conflicts)), describe(dstR), secrets.NameList(conflicts)),
				"nothing was copied")
			if err != nil {
				return err
			}
			overwrite = true
		}
		if err := secrets.SetMany(ctx, store, values, overwrite); err != nil {
			return fmt.Errorf("copying to %s: %w", describe(dstR), createdMeanwhile(err))
		}
		fmt.Fprintf(a.Stderr, "Copied %s from %s to %s: %s%s\n", countNoun(len(names), "secret"), describe(srcR), describe(dstR), secrets.NameList(names), overwritten(conflicts))
		return nil
	})
}

// uniqueNames validates names and drops repeats, keeping the order.
func uniqueNames(names []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if err := secrets.ValidateName(n); err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// readForCopy reads the named secrets (every secret when names is empty).
// Missing names are all reported at once.
func readForCopy(ctx context.Context, s secrets.Store, names []string) (map[string]string, error) {
	if len(names) == 0 {
		return secrets.GetAll(ctx, s)
	}
	values := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		v, err := s.Get(ctx, n)
		switch {
		case errors.Is(err, secrets.ErrNotFound):
			missing = append(missing, n)
		case err != nil:
			return nil, err
		default:
			values[n] = v
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s (nothing was copied)", secrets.ErrNotFound, secrets.NameList(missing))
	}
	return values, nil
}
