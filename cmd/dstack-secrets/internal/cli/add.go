package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// addInput is what "add" was asked to do.
type addInput struct {
	Name     string
	Value    string
	HasValue bool   // Value was given; else it is prompted for or read from stdin
	FromFile string // read the value from this file
	Yes      bool   // overwrite an existing secret without asking
}

func (a *app) addCommand() *ffcli.Command {
	var in addInput
	fs := a.newFlagSet("add")
	yesFlag(fs, &in.Yes, "Don't ask for confirmation (overwrite an existing secret)")
	fs.StringVar(&in.FromFile, "from-file", "", "Read the value from the file `PATH` (one trailing newline is removed)")
	return &ffcli.Command{
		Name:       "add",
		ShortUsage: "dstack-secrets add [-h] [--project PROJECT] [-y] [--from-file PATH] NAME [VALUE]",
		ShortHelp:  "Add a secret (asks before overwriting one)",
		LongHelp: `Adds a new secret for the current repository.

Positional Arguments:
  NAME               The name of the secret. Must be unique within the
                     current repository, and a valid environment variable
                     name (letters, digits and underscores, not starting
                     with a digit)
  VALUE              The value of the secret. If not specified,
                     dstack-secrets prompts the user to enter it via a
                     masked input; when standard input is not a terminal,
                     the value is read from it (one trailing newline is
                     removed)

A VALUE on the command line is visible to other users of the machine (ps)
and stays in your shell's history. Prefer the safe forms:
  dstack-secrets add NAME                      (masked prompt)
  pass show x | dstack-secrets add NAME        (standard input)
  dstack-secrets add --from-file key.json NAME (a file)

A value that starts with '-' goes after '--': dstack-secrets add NAME -- VALUE`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 2, "NAME [VALUE]")
			if err != nil {
				return err
			}
			in.Name = pos[0]
			if len(pos) == 2 {
				if in.FromFile != "" {
					return commandUsageError("add", "give the value either as VALUE or with --from-file, not both")
				}
				in.Value, in.HasValue = pos[1], true
			}
			return addSecret(ctx, a, in)
		},
	}
}

// addSecret stores a secret, asking before it overwrites one.
func addSecret(ctx context.Context, a *app, in addInput) error {
	if err := secrets.ValidateName(in.Name); err != nil {
		return err
	}
	if in.FromFile != "" {
		v, err := readValueFile(in.FromFile)
		if err != nil {
			return err
		}
		in.Value, in.HasValue = v, true
	}
	if in.HasValue {
		if err := secrets.ValidateValue(in.Value); err != nil {
			return err
		}
	}
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		// Whether the name exists decides between Set and Create, so that
		// the write pays one capacity check (with -y too: Create and then
		// Set would pay two, each reading a big store whole).
		_, err := store.Get(ctx, in.Name)
		exists := err == nil
		switch {
		case exists && !in.Yes:
			err := a.confirmOrRefuse(fmt.Sprintf("Secret %q already exists in %s. Overwrite it?", in.Name, where(r)),
				fmt.Errorf("secret %q already exists in %s; pass -y to overwrite it", in.Name, where(r)),
				fmt.Sprintf("secret %q not changed", in.Name))
			if err != nil {
				return err
			}
		case !exists && !errors.Is(err, secrets.ErrNotFound):
			return err
		}
		value := in.Value
		if !in.HasValue {
			var err error
			if value, err = a.readValue(ctx, in.Name); err != nil {
				return err
			}
		}
		verb := "Added"
		if exists {
			verb = "Updated"
			if err := store.Set(ctx, in.Name, value); err != nil {
				return err
			}
		} else if err := secrets.Create(ctx, store, in.Name, value); err != nil {
			if !errors.Is(err, secrets.ErrExists) {
				return err
			}
			if !in.Yes {
				return fmt.Errorf("secret %q was created in %s by someone else meanwhile; pass -y to overwrite it", in.Name, where(r))
			}
			// Created meanwhile by someone else: -y overwrites it.
			verb = "Updated"
			if err := store.Set(ctx, in.Name, value); err != nil {
				return err
			}
		}
		fmt.Fprintf(a.Stderr, "%s secret %s in %s\n", verb, in.Name, where(r))
		return nil
	})
}

// readValueFile reads a secret value from a file, with one trailing newline
// removed as from standard input.
func readValueFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--from-file: cannot read %s: %w", secrets.Printable(path), unwrapPathError(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return "", fmt.Errorf("--from-file: %s is a directory; name the file that holds the value", secrets.Printable(path))
	}
	data, err := io.ReadAll(io.LimitReader(f, secrets.MaxValueSize+2))
	if err != nil {
		return "", fmt.Errorf("--from-file: cannot read %s: %w", secrets.Printable(path), unwrapPathError(err))
	}
	value := trimNewline(string(data))
	if value == "" {
		return "", fmt.Errorf("%w: --from-file: %s is empty", secrets.ErrInvalidValue, secrets.Printable(path))
	}
	return value, nil
}

// trimNewline removes one trailing newline ("\n" or "\r\n").
func trimNewline(s string) string {
	if v, ok := strings.CutSuffix(s, "\r\n"); ok {
		return v
	}
	return strings.TrimSuffix(s, "\n")
}

// readValue reads a secret value: a masked prompt at a terminal, else all of
// stdin with one trailing newline removed.
func (a *app) readValue(ctx context.Context, name string) (string, error) {
	var value string
	if a.terminal() != nil {
		v, err := a.readMasked(ctx, fmt.Sprintf("Value of %s: ", name))
		if err != nil {
			return "", err
		}
		value = v
	} else {
		data, err := io.ReadAll(io.LimitReader(a.Stdin, secrets.MaxValueSize+2))
		if err != nil {
			return "", fmt.Errorf("cannot read the value from standard input: %w", err)
		}
		value = trimNewline(string(data))
		if value == "" {
			return "", fmt.Errorf("%w: standard input was empty; pass the value as an argument, pipe it in, or run in a terminal to be prompted", secrets.ErrInvalidValue)
		}
	}
	if err := secrets.ValidateValue(value); err != nil {
		return "", err
	}
	return value, nil
}
