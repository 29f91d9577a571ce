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
	"github.com/dstackai/dstack-secrets/internal/envfmt"
	"github.com/dstackai/dstack-secrets/secrets"
)

// maxImportSize bounds the dotenv file read by import.
const maxImportSize = 64 << 20

// maxProblems bounds how many invalid lines import reports at once.
const maxProblems = 20

// importInput is what "import" was asked to do.
type importInput struct {
	File    string // a path, or "-" for stdin
	Yes     bool   // overwrite existing secrets without asking
	Format  string // a readable format of envfmt.Builtin; "" detects it
	Literal bool   // dotenv: keep $NAME and ${NAME} as written
}

func (a *app) importCommand() *ffcli.Command {
	var in importInput
	fs := a.newFlagSet("import")
	yesFlag(fs, &in.Yes, "Overwrite secrets that already exist")
	fs.StringVar(&in.Format, "format", "", "The input `FORMAT`: "+strings.Join(envfmt.Builtin().ReadableNames(), ", ")+" (default: detected for dotenv, json, yaml and k8s)")
	fs.BoolVar(&in.Literal, "literal", false, "dotenv: keep $NAME and ${NAME} in values as written (by default they are refused, since other dotenv parsers expand them)")
	return &ffcli.Command{
		Name:       "import",
		ShortUsage: "dstack-secrets import [-h] [--project PROJECT] [-y] [--format FORMAT] [--literal] FILE",
		ShortHelp:  "Add the secrets of a dotenv, JSON or YAML file (all or nothing)",
		LongHelp: `Reads secrets from a file and stores them in the current repository. FILE
is a path, or - for standard input. The format is detected for dotenv, JSON
(an object of strings), YAML (a mapping of strings) and Kubernetes Secrets;
give --format for docker env-files and shell exports. What 'dstack-secrets
export' writes in a readable format is imported back byte for byte.

A dotenv file holds NAME=VALUE lines (also 'export NAME=VALUE'), comments (#)
and blank lines. A value may be 'single-quoted' or "double-quoted" (where
only \n and \r are escapes), and a quoted value may span several lines. LF,
CRLF and CR line endings are accepted. Whatever python-dotenv, Node's dotenv
or godotenv would read differently is refused with its line and the fix,
never stored as something else: $NAME and ${NAME} (which they expand; keep
them with --literal), backslash escapes they disagree on, a '#' inside an
unquoted value, unusual white space around one.

All or nothing: the whole file is checked before anything is stored, and one
bad line (a broken quote, an invalid name, an empty value, a name given
twice) aborts the import with its line number. Secrets that already exist are
overwritten only with -y; otherwise they are listed and nothing is imported.
If the backend fails midway, the secrets already written are rolled back.

Positional Arguments:
  FILE               The file, or - to read standard input`,
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
	data, source, err := a.readInput(in.File, "file")
	if err != nil {
		return err
	}
	vars, names, err := parseImport(data, source, in.Format, in.Literal)
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

// readInput reads the document named by path ("-" is stdin), at most
// maxImportSize bytes, and returns it with a description of its source for
// messages. what names the kind of file a directory is not.
func (a *app) readInput(path, what string) ([]byte, string, error) {
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
			return nil, "", fmt.Errorf("%s is a directory; name a %s", path, what)
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

// parseImport parses and validates a whole document in format (detected
// when empty). It returns the variables and their names in document order
// (sorted for formats without lines), or an error naming every bad line or
// variable (up to maxProblems) and no values.
func parseImport(data []byte, source, format string, literal bool) (map[string]string, []string, error) {
	if format == "" {
		detected, err := envfmt.Detect(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w (nothing was imported)", source, err)
		}
		format = detected
	}
	var entries []dotenv.Entry
	if format == "dotenv" {
		var err error
		if entries, err = envfmt.ReadDotenv(data, literal); err != nil {
			return nil, nil, fmt.Errorf("%s, %w (nothing was imported)", source, errors.Unwrap(err))
		}
	} else {
		if literal {
			return nil, nil, commandUsageError("import", "--literal applies to dotenv files only (this one is %s)", format)
		}
		vars, _, err := envfmt.Builtin().Read(format, data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w (nothing was imported)", source, err)
		}
		for _, name := range secrets.SortedNames(vars) {
			entries = append(entries, dotenv.Entry{Name: name, Value: vars[name]})
		}
	}
	if len(entries) == 0 {
		if format == "dotenv" {
			return nil, nil, fmt.Errorf("%s holds no NAME=VALUE lines; nothing was imported", source)
		}
		return nil, nil, fmt.Errorf("%s holds no variables (read as %s); nothing was imported", source, format)
	}
	var problems []string
	vars := make(map[string]string, len(entries))
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		where := fmt.Sprintf("line %d: ", e.Line)
		if e.Line == 0 {
			where = ""
		}
		if err := secrets.ValidateName(e.Name); err != nil {
			problems = append(problems, fmt.Sprintf("%s%v", where, err))
			continue
		}
		if err := secrets.ValidateValue(e.Value); err != nil {
			problems = append(problems, fmt.Sprintf("%s%s: %v", where, e.Name, err))
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
