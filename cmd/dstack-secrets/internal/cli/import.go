package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
	"github.com/dstackai/dstack-secrets/secrets"
)

const importHelp = `Usage: dstack-secrets import [-h] [--project PROJECT] [-y] FILE

Reads secrets from a dotenv file and stores them in the current repository.
FILE is a path, or - for standard input.

The file holds NAME=VALUE lines (also 'export NAME=VALUE'), comments (#) and
blank lines. A value may be 'single-quoted' (taken literally) or
"double-quoted" (with the escapes \n \r \t \\ \" \' \$ \` + "`" + `), and a quoted value
may span several lines. Nothing is expanded: $HOME stays $HOME. LF and CRLF
line endings are accepted; the output of 'dstack-secrets export' is read
back byte for byte.

All or nothing: the whole file is checked before anything is stored, and one
bad line (a broken quote, an invalid name, an empty value, a name given
twice) aborts the import with its line number. Secrets that already exist are
overwritten only with -y; otherwise they are listed and nothing is imported.
If the backend fails midway, the secrets already written are rolled back.

Positional Arguments:
  FILE               The dotenv file, or - to read standard input

Optional Arguments:
  -h, --help         Show this help message and exit
  --project PROJECT  The name of the project to execute the command for
  -y, --yes          Overwrite secrets that already exist
  --config FILE      The configuration file
  --repo REPO        The repository (remote URL or directory)
`

// maxImportSize bounds the dotenv file read by import.
const maxImportSize = 64 << 20

// maxProblems bounds how many invalid lines import reports at once.
const maxProblems = 20

func (a *app) importCommand() *command {
	fs := a.newFlagSet("import")
	var yes bool
	fs.BoolVar(&yes, "y", false, "overwrite existing secrets")
	fs.BoolVar(&yes, "yes", false, "overwrite existing secrets")
	return &command{help: importHelp, Command: &ffcli.Command{
		Name:      "import",
		ShortHelp: "Add the secrets of a dotenv file (all or nothing)",
		FlagSet:   fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "FILE")
			if err != nil {
				return err
			}
			path := pos[0]
			data, source, err := a.readImport(path)
			if err != nil {
				return err
			}
			vars, names, err := parseImport(data, source)
			if err != nil {
				return err
			}
			store, r, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer secrets.Close(store)
			existing, err := store.List(ctx)
			if err != nil {
				return err
			}
			conflicts := intersect(names, existing)
			if len(conflicts) > 0 && !yes {
				if path == "-" || a.terminal() == nil {
					return fmt.Errorf("%s in %s: %s; pass -y to overwrite (nothing was imported)",
						alreadyExist(len(conflicts)), where(r), nameList(conflicts))
				}
				ok, err := a.confirm(fmt.Sprintf("%s in %s: %s. Overwrite?", alreadyExist(len(conflicts)), where(r), nameList(conflicts)))
				if err != nil {
					return err
				}
				if !ok {
					return exitError{code: ExitFailure, msg: "nothing was imported"}
				}
				yes = true
			}
			if err := writeAll(ctx, store, names, vars, conflicts, yes); err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "Imported %s into %s: %s%s\n", countNoun(len(names), "secret"), where(r), nameList(names), overwritten(conflicts))
			return nil
		},
	}}
}

// readImport reads the dotenv document named by path ("-" is stdin) and
// returns it with a description of its source for messages.
func (a *app) readImport(path string) ([]byte, string, error) {
	var r io.Reader
	source := path
	if path == "-" {
		r, source = a.Stdin, "standard input"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", fmt.Errorf("cannot read %s: %w", path, unwrapPathError(err))
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			return nil, "", fmt.Errorf("%s is a directory; name a dotenv file", path)
		}
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxImportSize+1))
	if err != nil {
		return nil, "", fmt.Errorf("cannot read %s: %w", source, unwrapPathError(err))
	}
	if len(data) > maxImportSize {
		return nil, "", fmt.Errorf("%s is larger than %d MiB; split it", source, maxImportSize>>20)
	}
	return data, source, nil
}

// unwrapPathError drops the path from an *os.PathError, which the message
// around it already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// parseImport parses and validates a whole dotenv document. It returns the
// variables and their names in document order, or an error naming every
// bad line (up to maxProblems) and no values.
func parseImport(data []byte, source string) (map[string]string, []string, error) {
	entries, err := dotenv.Parse(data)
	if err != nil {
		return nil, nil, fmt.Errorf("%s, %w (nothing was imported)", source, err)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("%s holds no NAME=VALUE lines; nothing was imported", source)
	}
	var problems []string
	vars := make(map[string]string, len(entries))
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if err := secrets.ValidateName(e.Name); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %v", e.Line, err))
			continue
		}
		if err := secrets.ValidateValue(e.Value); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %s: %v", e.Line, e.Name, err))
			continue
		}
		vars[e.Name] = e.Value
		names = append(names, e.Name)
	}
	switch {
	case len(problems) == 1:
		return nil, nil, fmt.Errorf("%s, %s (nothing was imported)", source, problems[0])
	case len(problems) > 1:
		more := ""
		if len(problems) > maxProblems {
			more = fmt.Sprintf("\n  ... and %d more", len(problems)-maxProblems)
			problems = problems[:maxProblems]
		}
		return nil, nil, fmt.Errorf("%s has %d invalid lines (nothing was imported):\n  %s%s", source, len(problems), strings.Join(problems, "\n  "), more)
	}
	return vars, names, nil
}

// writeAll stores vars[name] for every name in s, in order, all or
// nothing. Names in existing are known to exist: they are overwritten (when
// overwrite is true; the caller refused otherwise). Other names are
// created with secrets.Create unless overwrite is true, so a concurrent
// writer creating one of them meanwhile aborts the whole operation. When a
// write fails, the writes done so far are undone (overwritten secrets get
// their previous values back, created ones are deleted) and the error says
// whether the undo worked. Errors name secrets, never values.
//
// A store that implements secrets.BatchWriter writes everything in one
// atomic step instead.
func writeAll(ctx context.Context, s secrets.Store, names []string, vars map[string]string, existing []string, overwrite bool) error {
	if b, ok := s.(secrets.BatchWriter); ok {
		batch := make(map[string]string, len(names))
		for _, name := range names {
			batch[name] = vars[name]
		}
		err := b.SetMany(ctx, batch, overwrite || len(existing) > 0)
		switch {
		case errors.Is(err, secrets.ErrExists):
			return fmt.Errorf("secrets were created by someone else meanwhile (pass -y to overwrite them), nothing was written: %w", err)
		case err != nil:
			return fmt.Errorf("nothing was written: %w", err)
		}
		return nil
	}
	var previous map[string]string
	if len(existing) > 0 {
		all, err := secrets.GetAll(ctx, s)
		if err != nil {
			return fmt.Errorf("cannot read the secrets about to be overwritten (needed to undo a failed write): %w", err)
		}
		previous = make(map[string]string, len(existing))
		for _, name := range existing {
			if v, ok := all[name]; ok {
				previous[name] = v
			}
		}
	}
	var done []string
	for _, name := range names {
		var err error
		if _, had := previous[name]; had || overwrite {
			err = s.Set(ctx, name, vars[name])
		} else {
			err = secrets.Create(ctx, s, name, vars[name])
			if errors.Is(err, secrets.ErrExists) {
				err = fmt.Errorf("secret %q was created by someone else meanwhile; pass -y to overwrite it: %w", name, err)
			}
		}
		if err == nil {
			done = append(done, name)
			continue
		}
		undoErr := undo(ctx, s, done, previous)
		if len(done) == 0 {
			return fmt.Errorf("storing %s failed, nothing was written: %w", name, err)
		}
		if undoErr != nil {
			return fmt.Errorf("storing %s failed: %w; undoing the %d secrets written before it failed too (%v): check %s", name, err, len(done), undoErr, nameList(done))
		}
		return fmt.Errorf("storing %s failed: %w; the %d secrets written before it were rolled back, nothing changed", name, err, len(done))
	}
	return nil
}

// undo reverts the writes of writeAll: names with a previous value get it
// back, the others are deleted. It runs even if ctx is cancelled (an
// interrupted import must still be rolled back), with a time limit.
func undo(ctx context.Context, s secrets.Store, done []string, previous map[string]string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var failed []string
	var first error
	for _, name := range done {
		var err error
		if v, ok := previous[name]; ok {
			err = s.Set(ctx, name, v)
		} else {
			err = s.Delete(ctx, name)
		}
		if err != nil {
			failed = append(failed, name)
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return fmt.Errorf("%s not restored: %w", nameList(failed), first)
	}
	return nil
}

// intersect returns the names of a that are in b, in the order of a.
func intersect(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, n := range b {
		in[n] = true
	}
	var out []string
	for _, n := range a {
		if in[n] {
			out = append(out, n)
		}
	}
	return out
}

// countNoun returns "1 secret" or "n secrets".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// alreadyExist says how many secrets already exist.
func alreadyExist(n int) string {
	if n == 1 {
		return "1 secret already exists"
	}
	return fmt.Sprintf("%d secrets already exist", n)
}

// maxListed bounds how many names a message lists.
const maxListed = 30

// nameList joins names for a message, shortening long lists.
func nameList(names []string) string {
	if len(names) > maxListed {
		return strings.Join(names[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxListed)
	}
	return strings.Join(names, ", ")
}

// overwritten describes the overwritten names for a report.
func overwritten(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d overwritten: %s)", len(names), nameList(names))
}
