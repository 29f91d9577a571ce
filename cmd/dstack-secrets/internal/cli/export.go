package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
	"github.com/dstackai/dstack-secrets/internal/envfmt"
	"github.com/dstackai/dstack-secrets/secrets"
)

// exportInput is what "export" was asked to do.
type exportInput struct {
	Format    string // a format of envfmt.Builtin
	Name      string // k8s: the Secret's name
	Namespace string // k8s: the Secret's namespace
}

func (a *app) exportCommand() *ffcli.Command {
	var in exportInput
	fs := a.newFlagSet("export")
	formats := envfmt.Builtin()
	fs.StringVar(&in.Format, "format", "dotenv", "The output `FORMAT`: "+strings.Join(formats.Names(), ", "))
	fs.StringVar(&in.Name, "name", "", "k8s: the Secret's metadata.name (default: <project>-secrets)")
	fs.StringVar(&in.Namespace, "namespace", "", "k8s: the Secret's metadata.namespace (default: none, kubectl's current one)")
	var rows []helpRow
	for _, n := range formats.Names() {
		f, _ := formats.Lookup(n)
		rows = append(rows, helpRow{label: n, text: f.Summary})
	}
	var list strings.Builder
	writeRows(&list, rows, 15)
	return &ffcli.Command{
		Name:       "export",
		ShortUsage: "dstack-secrets export [-h] [--project PROJECT] [--format FORMAT]",
		ShortHelp:  "Write every secret as dotenv, JSON, YAML, shell, k8s, ...",
		LongHelp: `Writes every secret of the current repository, names and values, to standard
output, sorted by name. The output holds secrets in the clear: redirect it to
a file only you can read, e.g. (umask 077; dstack-secrets export > .env).

Every format is read back exactly by its consumer, and every format that
'dstack-secrets import' reads is imported back byte for byte. A value a
format cannot hold exactly (a line break for docker, a value the dotenv
parsers disagree on) is refused, naming the variable, and nothing is
written: use the format the message suggests.

Formats:
` + strings.TrimRight(list.String(), "\n"),
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
	format, err := envfmt.Builtin().Lookup(in.Format)
	if err != nil {
		return commandUsageError("export", "%v", err)
	}
	var values map[string]string
	var project string
	err = a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		var err error
		values, err = secrets.GetAll(ctx, store)
		project = r.Scope.Project
		return err
	})
	if err != nil {
		return err
	}
	if values == nil {
		values = map[string]string{}
	}
	var buf bytes.Buffer
	if err := format.Write(&buf, values, envfmt.Options{Project: project, Name: in.Name, Namespace: in.Namespace}); err != nil {
		var fe *envfmt.Error
		var de *dotenv.WriteError
		if errors.As(err, &fe) || errors.As(err, &de) {
			return fmt.Errorf("%w (nothing was written)", err)
		}
		return err
	}
	if _, err := a.Stdout.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("cannot write the secrets to standard output: %w", err)
	}
	return nil
}
