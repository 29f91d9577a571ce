package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// renderInput is what "render" was asked to do.
type renderInput struct {
	File   string // the template: a path, or "-" for stdin
	Output string // the rendered file; "" is stdout
}

func (a *app) renderCommand() *ffcli.Command {
	var in renderInput
	fs := a.newFlagSet("render")
	fs.StringVar(&in.Output, "o", "", "Write the result to `OUT` (created 0600, replaced atomically) instead of standard output")
	fs.StringVar(&in.Output, "output", "", "Same as -o")
	return &ffcli.Command{
		Name:       "render",
		ShortUsage: "dstack-secrets render [-h] [--project PROJECT] [-o OUT] FILE",
		ShortHelp:  "Fill ${{ secrets.NAME }} references in a text file",
		LongHelp: `Reads a text file (a dstack run configuration, a config template) and
replaces every ${{ secrets.NAME }} reference (spaces inside the braces are
optional) with the value of the secret NAME of the current repository.

Nothing else is touched: unlike environment expansion, $HOME, ${HOME},
$(cmd) and $$ stay as they are, and values put in are never scanned again.
Write $${{ for a literal ${{. A reference to an unknown secret fails listing
every unknown name, a malformed one fails with its line and column, and
either way nothing is written. The result holds secrets: OUT is created
with mode 0600 and replaced in one step, never left half-written.

Positional Arguments:
  FILE               The template, or - to read standard input`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "FILE")
			if err != nil {
				return err
			}
			in.File = pos[0]
			return renderTemplate(ctx, a, in)
		},
	}
}

// renderTemplate resolves the references of a template and writes the
// result, all or nothing.
func renderTemplate(ctx context.Context, a *app, in renderInput) error {
	data, source, err := a.readInput(in.File, "template")
	if err != nil {
		return err
	}
	names, err := secrets.References(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was written)", source, err)
	}
	var values map[string]string
	if len(names) > 0 {
		err = a.withStore(ctx, func(store secrets.Store, _ secrets.Resolved) error {
			values, err = secrets.GetAll(ctx, store)
			return err
		})
		if err != nil {
			return err
		}
	}
	out, err := secrets.Render(string(data), func(name string) (string, bool) {
		v, ok := values[name]
		return v, ok
	})
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was written)", source, err)
	}
	if in.Output == "" {
		if _, err := io.WriteString(a.Stdout, out); err != nil {
			return fmt.Errorf("cannot write to standard output: %w", err)
		}
		return nil
	}
	return writeFileAtomic(in.Output, []byte(out))
}

// writeFileAtomic writes data to path with mode 0600 through a temporary
// file in the same directory, synced and renamed over path: a reader sees
// the old file or the whole new one, never part of it.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w", path, unwrapPathError(err))
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("cannot write %s (it was left as it was): %w", path, unwrapPathError(err))
	}
	return nil
}
