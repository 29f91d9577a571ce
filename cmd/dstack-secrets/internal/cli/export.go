package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
	"github.com/dstackai/dstack-secrets/secrets"
)

const exportHelp = `Usage: dstack-secrets export [-h] [--project PROJECT] [--format dotenv|json]

Writes every secret of the current repository, names and values, to standard
output, sorted by name. The output holds secrets in the clear: redirect it to
a file only you can read, e.g. (umask 077; dstack-secrets export > .env).

Formats:
  dotenv  NAME='value' lines (the default). 'dstack-secrets import' reads
          them back to identical values, byte for byte. A value that holds
          ' or a carriage return is double-quoted with backslash escapes.
  json    One JSON object mapping names to values.

Optional Arguments:
  -h, --help         Show this help message and exit
  --project PROJECT  The name of the project to execute the command for
  --format FORMAT    dotenv (default) or json
  --config FILE      The configuration file
  --repo REPO        The repository (remote URL or directory)
`

func (a *app) exportCommand() *command {
	fs := a.newFlagSet("export")
	format := fs.String("format", "dotenv", "dotenv or json")
	return &command{help: exportHelp, Command: &ffcli.Command{
		Name:      "export",
		ShortHelp: "Write every secret as a dotenv file or JSON",
		FlagSet:   fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			if *format != "dotenv" && *format != "json" {
				return usageError{msg: fmt.Sprintf("export: unknown format %q; use --format dotenv or --format json", *format), hint: "run 'dstack-secrets export -h' for usage"}
			}
			store, _, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer secrets.Close(store)
			values, err := secrets.GetAll(ctx, store)
			if err != nil {
				return err
			}
			w := bufio.NewWriter(a.Stdout)
			if *format == "json" {
				enc := json.NewEncoder(w)
				enc.SetEscapeHTML(false)
				enc.SetIndent("", "  ")
				if values == nil {
					values = map[string]string{}
				}
				err = enc.Encode(values)
			} else {
				err = dotenv.Write(w, values)
			}
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				return fmt.Errorf("cannot write the secrets to standard output: %w", err)
			}
			return nil
		},
	}}
}
