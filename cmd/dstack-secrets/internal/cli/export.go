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

// exportInput is what "export" was asked to do.
type exportInput struct {
	Format string // "dotenv" or "json"
}

func (a *app) exportCommand() *ffcli.Command {
	var in exportInput
	fs := a.newFlagSet("export")
	fs.StringVar(&in.Format, "format", "dotenv", "dotenv (default) or json")
	return &ffcli.Command{
		Name:       "export",
		ShortUsage: "dstack-secrets export [-h] [--project PROJECT] [--format dotenv|json]",
		ShortHelp:  "Write every secret as a dotenv file or JSON",
		LongHelp: `Writes every secret of the current repository, names and values, to standard
output, sorted by name. The output holds secrets in the clear: redirect it to
a file only you can read, e.g. (umask 077; dstack-secrets export > .env).

Formats:
  dotenv  NAME='value' lines (the default). 'dstack-secrets import' reads
          them back to identical values, byte for byte. A value that holds
          ' or a carriage return is double-quoted with backslash escapes.
  json    One JSON object mapping names to values.`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			return exportSecrets(ctx, a, in)
		},
	}
}

// exportSecrets writes every secret to stdout in the format asked for.
func exportSecrets(ctx context.Context, a *app, in exportInput) error {
	if in.Format != "dotenv" && in.Format != "json" {
		return commandUsageError("export", "unknown format %q; use --format dotenv or --format json", in.Format)
	}
	var values map[string]string
	err := a.withStore(ctx, func(store secrets.Store, _ secrets.Resolved) error {
		var err error
		values, err = secrets.GetAll(ctx, store)
		return err
	})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(a.Stdout)
	if in.Format == "json" {
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
}
