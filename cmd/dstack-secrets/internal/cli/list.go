package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

const listHelp = `Usage: dstack-secrets list [-h] [--project PROJECT] [--json]

Displays the names of the secrets configured in the current repository,
sorted, one per line. Values are never shown.

Optional Arguments:
  -h, --help         Show this help message and exit
  --project PROJECT  The name of the project to execute the command for
  --json             Print a JSON array of names, for scripts
  --config FILE      The configuration file
  --repo REPO        The repository (remote URL or directory)
`

func (a *app) listCommand() *command {
	fs := a.newFlagSet("list")
	asJSON := fs.Bool("json", false, "print a JSON array")
	return &command{help: listHelp, Command: &ffcli.Command{
		Name:      "list",
		ShortHelp: "List the names of the repository's secrets",
		FlagSet:   fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			store, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer secrets.Close(store)
			names, err := store.List(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				if names == nil {
					names = []string{}
				}
				out, err := json.Marshal(names)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.Stdout, "%s\n", out)
				return err
			}
			for _, n := range names {
				if _, err := fmt.Fprintln(a.Stdout, n); err != nil {
					return err
				}
			}
			return nil
		},
	}}
}
