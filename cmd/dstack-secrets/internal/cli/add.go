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

const addHelp = `Usage: dstack-secrets add [-h] [--project PROJECT] [-y] NAME [VALUE]

Adds a new secret for the current repository.

Positional Arguments:
  NAME               The name of the secret. Must be unique within the current
                     repository, and a valid environment variable name
                     (letters, digits and underscores, not starting with a digit)
  VALUE              The value of the secret. If not specified, dstack-secrets
                     prompts the user to enter it via a masked input; when
                     standard input is not a terminal, the value is read from it
                     (one trailing newline is removed)

Optional Arguments:
  -h, --help         Show this help message and exit
  --project PROJECT  The name of the project to execute the command for
  -y, --yes          Don't ask for confirmation (overwrite an existing secret)
  --config FILE      The configuration file
  --repo REPO        The repository (remote URL or directory)

A value that starts with '-' goes after '--': dstack-secrets add NAME -- VALUE
`

func (a *app) addCommand() *command {
	fs := a.newFlagSet("add")
	var yes bool
	fs.BoolVar(&yes, "y", false, "don't ask for confirmation")
	fs.BoolVar(&yes, "yes", false, "don't ask for confirmation")
	return &command{help: addHelp, Command: &ffcli.Command{
		Name:      "add",
		ShortHelp: "Add a secret (asks before overwriting one)",
		FlagSet:   fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 2, "NAME [VALUE]")
			if err != nil {
				return err
			}
			name := pos[0]
			if err := secrets.ValidateName(name); err != nil {
				return err
			}
			var value string
			hasValue := len(pos) == 2
			if hasValue {
				value = pos[1]
				if err := secrets.ValidateValue(value); err != nil {
					return err
				}
			}
			store, r, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer secrets.Close(store)

			overwrite := yes
			if !yes {
				_, err := store.Get(ctx, name)
				switch {
				case err == nil:
					if a.terminal() == nil {
						return fmt.Errorf("secret %q already exists in %s; pass -y to overwrite it", name, where(r))
					}
					ok, err := a.confirm(fmt.Sprintf("Secret %q already exists in %s. Overwrite it?", name, where(r)))
					if err != nil {
						return err
					}
					if !ok {
						return exitError{code: ExitFailure, msg: fmt.Sprintf("secret %q not changed", name)}
					}
					overwrite = true
				case !errors.Is(err, secrets.ErrNotFound):
					return err
				}
			}
			if !hasValue {
				if value, err = a.readValue(ctx, name); err != nil {
					return err
				}
			}
			if overwrite {
				err = store.Set(ctx, name, value)
			} else {
				err = secrets.Create(ctx, store, name, value)
				if errors.Is(err, secrets.ErrExists) {
					return fmt.Errorf("secret %q was created in %s by someone else meanwhile; pass -y to overwrite it", name, where(r))
				}
			}
			if err != nil {
				return err
			}
			verb := "Added"
			if overwrite {
				verb = "Set"
			}
			fmt.Fprintf(a.Stderr, "%s secret %s in %s\n", verb, name, where(r))
			return nil
		},
	}}
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
