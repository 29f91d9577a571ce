package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/secrets"
)

// addInput is what "add" was asked to do.
type addInput struct {
	Name     string
	Value    string
	HasValue bool // Value was given; else it is prompted for or read from stdin
	Yes      bool // overwrite an existing secret without asking
}

func (a *app) addCommand() *ffcli.Command {
	var in addInput
	fs := a.newFlagSet("add")
	yesFlag(fs, &in.Yes, "Don't ask for confirmation (overwrite an existing secret)")
	return &ffcli.Command{
		Name:       "add",
		ShortUsage: "dstack-secrets add [-h] [--project PROJECT] [-y] NAME [VALUE]",
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

A value that starts with '-' goes after '--': dstack-secrets add NAME -- VALUE`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 2, "NAME [VALUE]")
			if err != nil {
				return err
			}
			in.Name = pos[0]
			if len(pos) == 2 {
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
	if in.HasValue {
		if err := secrets.ValidateValue(in.Value); err != nil {
			return err
		}
	}
	return a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		overwrite := in.Yes
		if !in.Yes {
			_, err := store.Get(ctx, in.Name)
			switch {
			case err == nil:
				err := a.confirmOrRefuse(fmt.Sprintf("Secret %q already exists in %s. Overwrite it?", in.Name, where(r)),
					fmt.Errorf("secret %q already exists in %s; pass -y to overwrite it", in.Name, where(r)),
					fmt.Sprintf("secret %q not changed", in.Name))
				if err != nil {
					return err
				}
				overwrite = true
			case !errors.Is(err, secrets.ErrNotFound):
				return err
			}
		}
		value := in.Value
		if !in.HasValue {
			var err error
			if value, err = a.readValue(ctx, in.Name); err != nil {
				return err
			}
		}
		verb := "Added"
		if overwrite {
			var err error
			if verb, err = overwriteSecret(ctx, store, in.Name, value, in.Yes); err != nil {
				return err
			}
		} else if err := secrets.Create(ctx, store, in.Name, value); err != nil {
			if errors.Is(err, secrets.ErrExists) {
				return fmt.Errorf("secret %q was created in %s by someone else meanwhile; pass -y to overwrite it", in.Name, where(r))
			}
			return err
		}
		fmt.Fprintf(a.Stderr, "%s secret %s in %s\n", verb, in.Name, where(r))
		return nil
	})
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
		value = string(data)
		if v, ok := strings.CutSuffix(value, "\r\n"); ok {
			value = v // one Windows line ending
		} else {
			value = strings.TrimSuffix(value, "\n")
		}
		if value == "" {
			return "", fmt.Errorf("%w: standard input was empty; pass the value as an argument, pipe it in, or run in a terminal to be prompted", secrets.ErrInvalidValue)
		}
	}
	if err := secrets.ValidateValue(value); err != nil {
		return "", err
	}
	return value, nil
}

// overwriteSecret stores value under name, which may exist, and returns
// the verb of the outcome: "Added" for a new name, "Updated" for an
// existing one. Unless unknown is set the name was seen to exist (the
// user confirmed the overwrite); with -y it is unknown, and Create, which
// fails on an existing name without writing, tells which.
func overwriteSecret(ctx context.Context, store secrets.Store, name, value string, unknown bool) (string, error) {
	if unknown {
		err := secrets.Create(ctx, store, name, value)
		if err == nil {
			return "Added", nil
		}
		if !errors.Is(err, secrets.ErrExists) {
			return "", err
		}
	}
	return "Updated", store.Set(ctx, name, value)
}
