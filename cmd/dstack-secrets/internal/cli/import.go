package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
	"github.com/dstackai/dstack-secrets/secrets"
)

// maxImportSize bounds the dotenv file read by import.
const maxImportSize = 64 << 20

// maxProblems bounds how many invalid lines import reports at once.
const maxProblems = 20

// importInput is what "import" was asked to do.
type importInput struct {
	File string // a path, or "-" for stdin
	Yes  bool   // overwrite existing secrets without asking
}

func (a *app) importCommand() *ffcli.Command {
	var in importInput
	fs := a.newFlagSet("import")
	yesFlag(fs, &in.Yes, "Overwrite secrets that already exist")
	return &ffcli.Command{
		Name:       "import",
		ShortUsage: "dstack-secrets import [-h] [--project PROJECT] [-y] FILE",
		ShortHelp:  "Add the secrets of a dotenv file (all or nothing)",
		LongHelp: `Reads secrets from a dotenv file and stores them in the current repository.
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
  FILE               The dotenv file, or - to read standard input`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "FILE")
			if err != nil {
				return err
			}
			in.File = pos[0]
			return importSecrets(ctx, a, in)
		},
	}
}

// importSecrets stores the secrets of a dotenv file, all or nothing.
func importSecrets(ctx context.Context, a *app, in importInput) error {
	data, source, err := a.readImport(in.File)
	if err != nil {
		return err
	}
	vars, names, err := parseImport(data, source)
	if err != nil {
		return err
	}
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		existing, err := store.List(ctx)
		if err != nil {
			return err
		}
		conflicts := intersect(names, existing)
		overwrite := in.Yes
		if len(conflicts) > 0 && !overwrite {
			refuse := fmt.Errorf("%s in %s: %s; pass -y to overwrite (nothing was imported)",
				alreadyExist(len(conflicts)), where(r), secrets.NameList(conflicts))
			if in.File == "-" { // stdin holds the file, not the answer
				return refuse
			}
			if err := a.confirmOrRefuse(fmt.Sprintf("%s in %s: %s. Overwrite?", alreadyExist(len(conflicts)), where(r), secrets.NameList(conflicts)),
				refuse, "nothing was imported"); err != nil {
				return err
			}
			overwrite = true
		}
		if err := secrets.SetMany(ctx, store, vars, overwrite); err != nil {
			return createdMeanwhile(err)
		}
		fmt.Fprintf(a.Stderr, "Imported %s into %s: %s%s\n", countNoun(len(names), "secret"), where(r), secrets.NameList(names), overwritten(conflicts))
		return nil
	})
}

// createdMeanwhile explains an already-exists error of secrets.SetMany
// after the command checked that the names were free: someone else created
// one of them meanwhile. The library's error says what was written.
func createdMeanwhile(err error) error {
	if errors.Is(err, secrets.ErrExists) {
		return fmt.Errorf("secrets were created by someone else meanwhile (pass -y to overwrite them): %w", err)
	}
	return err
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
