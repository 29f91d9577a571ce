package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// historyInput is what "history" was asked to do.
type historyInput struct {
	Name string
	JSON bool // print a JSON array
}

func (a *app) historyCommand() *ffcli.Command {
	var in historyInput
	fs := a.newFlagSet("history")
	fs.BoolVar(&in.JSON, "json", false, "Print a JSON array of versions (oldest first), for scripts")
	return &ffcli.Command{
		Name:       "history",
		ShortUsage: "dstack-secrets history [-h] [--project PROJECT] [--json] NAME",
		ShortHelp:  "List the versions of a secret (never their values)",
		LongHelp: `Lists the stored versions of a secret of the current repository, newest
first: the version number, when it was written, who wrote it where the
backend records that, and which version is current or was deleted. Values
are never shown: print one with 'dstack-secrets get --version N NAME', or
make it current again with 'dstack-secrets rollback --to N NAME'.

Only backends that keep versions have a history: Vault KV version 2 (the
last 10 versions by default, see max_versions; with layout: bundle, the
versions of the repository's entry in which the secret changed). Others
answer that history is not supported.

Positional Arguments:
  NAME               The name of the secret`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "NAME")
			if err != nil {
				return err
			}
			in.Name = pos[0]
			return showHistory(ctx, a, in)
		},
	}
}

// versionJSON is one version in history --json.
type versionJSON struct {
	Version int    `json:"version"`
	Time    string `json:"time,omitempty"`
	Author  string `json:"author,omitempty"`
	Deleted bool   `json:"deleted"`
	Current bool   `json:"current"`
}

// showHistory prints the versions of a secret.
func showHistory(ctx context.Context, a *app, in historyInput) error {
	if err := secrets.ValidateName(in.Name); err != nil {
		return err
	}
	return a.withStore(ctx, func(store secrets.Store, _ secrets.Resolved) error {
		vs, err := secrets.Versions(ctx, store, in.Name)
		if err != nil {
			return err
		}
		if in.JSON {
			out := make([]versionJSON, len(vs))
			for i, v := range vs {
				out[i] = versionJSON{Version: v.Number, Author: v.Author, Deleted: v.Deleted, Current: v.Current}
				if !v.Time.IsZero() {
					out[i].Time = v.Time.UTC().Format(time.RFC3339)
				}
			}
			b, err := json.Marshal(out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.Stdout, "%s\n", b)
			return err
		}
		authors := slices.ContainsFunc(vs, func(v secrets.Version) bool { return v.Author != "" })
		tw := tabwriter.NewWriter(a.Stdout, 0, 0, 2, ' ', 0)
		header := "VERSION\tWRITTEN\t"
		if authors {
			header += "BY\t"
		}
		fmt.Fprintln(tw, header+"STATE")
		for _, v := range slices.Backward(vs) {
			when := "-"
			if !v.Time.IsZero() {
				when = v.Time.Local().Format("2006-01-02 15:04:05 MST")
			}
			row := fmt.Sprintf("%d\t%s\t", v.Number, when)
			if authors {
				row += orDash(v.Author) + "\t"
			}
			var state []string
			if v.Current {
				state = append(state, "current")
			}
			if v.Deleted {
				state = append(state, "deleted")
			}
			fmt.Fprintln(tw, row+strings.Join(state, ", "))
		}
		return tw.Flush()
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
