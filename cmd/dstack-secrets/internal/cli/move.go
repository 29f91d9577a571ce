package cli

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// moveInput is what "move" was asked to do.
type moveInput struct {
	From string // the repository whose secrets move
	To   string // where they go; empty means the current repository
	Yes  bool   // overwrite secrets that exist in To
}

func (a *app) moveCommand() *ffcli.Command {
	var in moveInput
	fs := a.newFlagSet("move")
	fs.StringVar(&in.From, "from-repo", "", "The repository identity `OLD` whose secrets to move, as 'dstack-secrets repos' lists it (required)")
	fs.StringVar(&in.To, "to-repo", "", "The repository identity `NEW` to move them to (default: the current repository)")
	yesFlag(fs, &in.Yes, "Overwrite secrets that already exist in the destination")
	return &ffcli.Command{
		Name:       "move",
		ShortUsage: "dstack-secrets move [-h] --from-repo OLD [--to-repo NEW] [--project PROJECT] [-y]",
		ShortHelp:  "Move secrets from an old repository identity to the current one",
		LongHelp: `Moves every secret of the repository OLD to the repository NEW (default: the
current repository) within the project. This is for secrets stored under an
identity the repository no longer has: before 'git remote add origin', or
before its remote was renamed, forked or moved to another host. list, run and
get print this command when they find such secrets; 'dstack-secrets repos'
lists the identities that hold secrets.

OLD and NEW are identities (github.com/org/repo), remote URLs or absolute
paths; a path is taken as the identity of a repository without a remote, not
looked up, so the old identity of a repository that has a remote now can be
named. Values are never printed.

Secrets that already exist in NEW are overwritten only with -y (or when you
confirm at a terminal); otherwise they are listed and nothing is moved. All
or nothing: if the backend fails midway, the move is undone.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments (the repositories are --from-repo and --to-repo)"); err != nil {
				return err
			}
			return moveSecrets(ctx, a, in)
		},
	}
}

// moveSecrets moves the secrets of one repository identity to another.
func moveSecrets(ctx context.Context, a *app, in moveInput) error {
	if in.From == "" {
		return commandUsageError("move", "missing --from-repo OLD ('dstack-secrets repos' lists the repositories that hold secrets)")
	}
	from, err := secrets.NormalizeRepository(in.From)
	if err != nil {
		return fmt.Errorf("--from-repo: %w", err)
	}
	var dstR secrets.Resolved
	if in.To == "" {
		if dstR, err = secrets.Resolve(a.target()); err != nil {
			return err
		}
	} else {
		to, err := secrets.NormalizeRepository(in.To)
		if err != nil {
			return fmt.Errorf("--to-repo: %w", err)
		}
		if dstR, _, err = a.resolveProject(); err != nil {
			return err
		}
		dstR.Scope.Repository = to
	}
	if from == dstR.Scope.Repository {
		return commandUsageError("move", "--from-repo and the destination are both repository %s; name the old identity with --from-repo", secrets.Printable(from))
	}
	srcR := dstR
	srcR.Scope.Repository = from
	return a.withResolved(ctx, srcR, func(src secrets.Store, _ secrets.Resolved) error {
		names, err := src.List(ctx)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return fmt.Errorf("%w: repository %s holds no secrets in project %q ('dstack-secrets repos' lists the repositories that do); nothing was moved", secrets.ErrNotFound, secrets.Printable(from), srcR.Scope.Project)
		}
		return a.withResolved(ctx, dstR, func(dst secrets.Store, _ secrets.Resolved) error {
			existing, err := dst.List(ctx)
			if err != nil {
				return err
			}
			conflicts := intersect(names, existing)
			overwrite := in.Yes
			if len(conflicts) > 0 && !overwrite {
				err := a.confirmOrRefuse(fmt.Sprintf("%s in %s: %s. Overwrite?", alreadyExist(len(conflicts)), where(dstR), secrets.NameList(conflicts)),
					fmt.Errorf("%s in %s: %s; pass -y to overwrite (nothing was moved)", alreadyExist(len(conflicts)), where(dstR), secrets.NameList(conflicts)),
					"nothing was moved")
				if err != nil {
					return err
				}
				overwrite = true
			}
			moved, err := secrets.Move(ctx, src, dst, overwrite)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "Moved %s of project %q from repository %s to repository %s: %s%s\n", countNoun(len(moved), "secret"), dstR.Scope.Project,
				secrets.Printable(from), secrets.Printable(dstR.Scope.Repository), secrets.NameList(moved), overwritten(intersect(moved, existing)))
			return nil
		})
	})
}
