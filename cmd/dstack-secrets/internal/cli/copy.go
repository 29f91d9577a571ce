package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

const copyHelp = `Usage: dstack-secrets copy [-h] --to-project PROJECT [--from-project PROJECT] [-y] [NAME...]

Copies secrets of the current repository from one project to another, and so
from one backend to another (for example from the local file to Vault).
Values are never printed; the report names the secrets copied.

Secrets that already exist in the destination are overwritten only with -y;
otherwise they are listed and nothing is copied. All or nothing: if the
destination fails midway, the secrets already written are rolled back.

Positional Arguments:
  NAME                    The secrets to copy (default: every secret)

Optional Arguments:
  -h, --help              Show this help message and exit
  --to-project PROJECT    The project to copy to (required)
  --from-project PROJECT  The project to copy from (default: --project, else
                          $DSTACK_SECRETS_PROJECT, else the default project)
  -y, --yes               Overwrite secrets that already exist in the
                          destination
  --config FILE           The configuration file
  --repo REPO             The repository (remote URL or directory)
`

func (a *app) copyCommand() *command {
	fs := a.newFlagSet("copy")
	var yes bool
	fs.BoolVar(&yes, "y", false, "overwrite existing secrets")
	fs.BoolVar(&yes, "yes", false, "overwrite existing secrets")
	to := fs.String("to-project", "", "destination project")
	from := fs.String("from-project", "", "source project")
	return &command{help: copyHelp, Command: &ffcli.Command{
		Name:      "copy",
		ShortHelp: "Copy secrets to another project (and backend)",
		FlagSet:   fs,
		Exec: func(ctx context.Context, args []string) error {
			names, err := a.positional(fs, args, 0, -1, "[NAME...]")
			if err != nil {
				return err
			}
			hint := "run 'dstack-secrets copy -h' for usage"
			if *to == "" {
				return usageError{msg: "copy: missing --to-project PROJECT", hint: hint}
			}
			src := a.target()
			if *from != "" {
				if a.project != "" && a.project != *from {
					return usageError{msg: "copy: --project and --from-project name different projects; give one of them", hint: hint}
				}
				src.Project = *from
			}
			dst := src
			dst.Project = *to
			names, err = uniqueNames(names)
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
				return usageError{msg: fmt.Sprintf("copy: the source and the destination are both project %q; name another project with --to-project", srcR.Scope.Project), hint: hint}
			}
			srcStore, err := a.Registry.OpenResolved(ctx, srcR)
			if err != nil {
				return err
			}
			defer secrets.Close(srcStore)
			values, err := readForCopy(ctx, srcStore, names)
			if err != nil {
				return fmt.Errorf("reading from %s: %w", describe(srcR), err)
			}
			if len(values) == 0 {
				fmt.Fprintf(a.Stderr, "Nothing to copy: %s has no secrets\n", describe(srcR))
				return nil
			}
			if len(names) == 0 {
				names = secrets.SortedNames(values)
			}
			dstStore, err := a.Registry.OpenResolved(ctx, dstR)
			if err != nil {
				return err
			}
			defer secrets.Close(dstStore)
			existing, err := dstStore.List(ctx)
			if err != nil {
				return fmt.Errorf("listing %s: %w", describe(dstR), err)
			}
			conflicts := intersect(names, existing)
			if len(conflicts) > 0 && !yes {
				if a.terminal() == nil {
					return fmt.Errorf("%s in %s: %s; pass -y to overwrite (nothing was copied)", alreadyExist(len(conflicts)), describe(dstR), nameList(conflicts))
				}
				ok, err := a.confirm(fmt.Sprintf("%s in %s: %s. Overwrite?", alreadyExist(len(conflicts)), describe(dstR), nameList(conflicts)))
				if err != nil {
					return err
				}
				if !ok {
					return exitError{code: ExitFailure, msg: "nothing was copied"}
				}
				yes = true
			}
			if err := writeAll(ctx, dstStore, names, values, conflicts, yes); err != nil {
				return fmt.Errorf("copying to %s: %w", describe(dstR), err)
			}
			fmt.Fprintf(a.Stderr, "Copied %s from %s to %s: %s%s\n", countNoun(len(names), "secret"), describe(srcR), describe(dstR), nameList(names), overwritten(conflicts))
			return nil
		},
	}}
}

// describe names a resolved project, its backend and repository.
func describe(r secrets.Resolved) string {
	return fmt.Sprintf("project %q (backend %s, repository %s)", r.Scope.Project, r.Backend, r.Scope.Repository)
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
		return nil, fmt.Errorf("%w: %s (nothing was copied)", secrets.ErrNotFound, nameList(missing))
	}
	return values, nil
}
