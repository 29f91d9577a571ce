package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// listInput is what "list" was asked to do.
type listInput struct {
	JSON bool // print a JSON array
}

func (a *app) listCommand() *ffcli.Command {
	var in listInput
	fs := a.newFlagSet("list")
	fs.BoolVar(&in.JSON, "json", false, "Print a JSON array of names, for scripts")
	return &ffcli.Command{
		Name:       "list",
		ShortUsage: "dstack-secrets list [-h] [--project PROJECT] [--json]",
		ShortHelp:  "List the names of the repository's secrets",
		LongHelp: `Displays the names of the secrets configured in the current repository,
sorted, one per line. Values are never shown.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			return listSecrets(ctx, a, in)
		},
	}
}

// listSecrets prints the names of the secrets.
func listSecrets(ctx context.Context, a *app, in listInput) error {
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		names, err := store.List(ctx)
		if err != nil {
			return err
		}
		if len(names) == 0 {
			a.hintMoved(ctx, store, r, "")
		}
		if in.JSON {
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
		// One write for the whole list, not one per name (100,000 names
		// were 100,000 system calls).
		size := 0
		for _, n := range names {
			size += len(n) + 1
		}
		buf := make([]byte, 0, size)
		for _, n := range names {
			buf = append(append(buf, n...), '\n')
		}
		_, err = a.Stdout.Write(buf)
		return err
	})
}
