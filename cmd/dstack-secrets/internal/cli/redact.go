package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/redact"
	"github.com/dstackai/dstack-secrets/secrets"
)

// redactInput is what "redact" was asked to do.
type redactInput struct {
	File      string // a path; "" or "-" is stdin
	MaskNames bool   // <NAME> instead of ***
}

func (a *app) redactCommand() *ffcli.Command {
	var in redactInput
	fs := a.newFlagSet("redact")
	fs.Var(maskFormatFlag{&in.MaskNames}, "mask-format", "How a masked value is shown: `stars` (***, the default) or name (<NAME>)")
	return &ffcli.Command{
		Name:       "redact",
		ShortUsage: "dstack-secrets redact [-h] [--project PROJECT] [--mask-format stars|name] [FILE]",
		ShortHelp:  "Mask the secret values in a log (the filter of run)",
		LongHelp: `Copies FILE (default: standard input) to standard output with every secret
value of the current repository masked, the way 'dstack-secrets run' masks
its command's output: the values, and their base64, URL-escaped and
JSON-escaped forms, are shown as *** (or <NAME>). Values shorter than 6
bytes are not masked; they are named on standard error. Use it on logs that
were written without run.

Positional Arguments:
  FILE               The log to mask (default: standard input)`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 0, 1, "[FILE]")
			if err != nil {
				return err
			}
			if len(pos) == 1 {
				in.File = pos[0]
			}
			return redactLog(ctx, a, in)
		},
	}
}

// redactLog copies the log to stdout through the masking filter.
func redactLog(ctx context.Context, a *app, in redactInput) error {
	var src io.Reader = a.Stdin
	if in.File != "" && in.File != "-" {
		f, err := os.Open(in.File)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", in.File, unwrapPathError(err))
		}
		defer f.Close()
		src = f
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
	opts := redact.Options{IdleFlush: -1} // a file: no prompt waits for the rest
	if in.MaskNames {
		opts.Format = redact.FormatName
	}
	r := redact.New(values, opts)
	if skipped := r.Skipped(); len(skipped) > 0 {
		fmt.Fprintf(a.Stderr, "dstack-secrets: note: not masked (shorter than %d bytes): %s\n", redact.DefaultMinLength, secrets.NameList(skipped))
	}
	if err := r.Copy(a.Stdout, src); err != nil {
		return fmt.Errorf("redact: %w", err)
	}
	return nil
}
