package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// reposInput is what "repos" was asked to do.
type reposInput struct {
	JSON bool // print a JSON array
}

func (a *app) reposCommand() *ffcli.Command {
	var in reposInput
	fs := a.newFlagSet("repos")
	fs.BoolVar(&in.JSON, "json", false, `Print a JSON array of {"repository", "secrets", "current"}, for scripts`)
	return &ffcli.Command{
		Name:       "repos",
		ShortUsage: "dstack-secrets repos [-h] [--project PROJECT] [--json]",
		ShortHelp:  "List the repositories that hold secrets in the project",
		LongHelp: `Lists every repository identity that holds secrets in the project, with the
number of secrets of each (names and values are not shown). The current
repository, when there is one, is marked.

A repository's identity is its origin remote (github.com/org/repo), or the
path of its working tree when it has no remote, so secrets stored before a
remote was added or changed are kept under the old identity: they show up
here, and 'dstack-secrets move --from-repo OLD' brings them to the current
repository. list, run and get point this out when they find nothing.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			return listRepositories(ctx, a, in)
		},
	}
}

// repoRow is one line of "repos".
type repoRow struct {
	Repository string `json:"repository"`
	Secrets    int    `json:"secrets"`
	Current    bool   `json:"current"`
}

// listRepositories prints the repositories of the project.
func listRepositories(ctx context.Context, a *app, in reposInput) error {
	r, inRepo, err := a.resolveProject()
	if err != nil {
		return err
	}
	return a.withResolved(ctx, r, func(store secrets.Store, r secrets.Resolved) error {
		repos, err := secrets.Repositories(ctx, store)
		if errors.Is(err, errors.ErrUnsupported) {
			return fmt.Errorf("project %q (backend %s): %w", r.Scope.Project, r.Backend, err)
		}
		if err != nil {
			return err
		}
		rows := make([]repoRow, 0, len(repos))
		for _, id := range secrets.SortedNames(repos) {
			rows = append(rows, repoRow{Repository: id, Secrets: repos[id], Current: inRepo && id == r.Scope.Repository})
		}
		if in.JSON {
			out, err := json.Marshal(rows)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.Stdout, "%s\n", out)
			return err
		}
		if len(rows) == 0 {
			fmt.Fprintf(a.Stderr, "No repository holds secrets in project %q\n", r.Scope.Project)
			return nil
		}
		width := 0
		for _, row := range rows {
			width = max(width, len(secrets.Printable(row.Repository)))
		}
		var b strings.Builder
		for _, row := range rows {
			line := fmt.Sprintf("%-*s  %s", width, secrets.Printable(row.Repository), countNoun(row.Secrets, "secret"))
			if row.Current {
				line += "  (current)"
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
		_, err = fmt.Fprint(a.Stdout, b.String())
		return err
	})
}

// placeholderRepository stands for the repository when a command about a
// whole project (repos, key) runs outside any repository: a store must be
// opened for some scope, and this one is never written.
const placeholderRepository = "dstack-secrets.invalid/no-repository"

// resolveProject resolves what the global flags select, like withStore,
// except that outside a repository (and without --repo) it resolves the
// project with placeholderRepository; inRepo tells which.
func (a *app) resolveProject() (r secrets.Resolved, inRepo bool, err error) {
	t := a.target()
	r, err = secrets.Resolve(t)
	if err == nil || !errors.Is(err, secrets.ErrNotInRepository) || t.Repository != "" {
		return r, err == nil, err
	}
	t.Repository = placeholderRepository
	r, err = secrets.Resolve(t)
	return r, false, err
}

// repositoryNames lists the repositories of the project that hold
// secrets, for completion, or none when that takes longer than
// completeTimeout.
func (a *app) repositoryNames(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	r, _, err := a.resolveProject()
	if err != nil {
		return nil
	}
	var ids []string
	_ = a.withResolved(ctx, r, func(store secrets.Store, _ secrets.Resolved) error {
		repos, err := secrets.Repositories(ctx, store)
		ids = secrets.SortedNames(repos)
		return err
	})
	return ids
}
