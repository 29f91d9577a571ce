package cli

import (
	"context"
	"fmt"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// keyInput is what "key" was asked to do.
type keyInput struct {
	Action string // export or import
	File   string // import: a path, or "-" for stdin
	Force  bool   // export: write the key to a terminal too
}

// keyActions are the actions of "key", for help and completion.
var keyActions = []string{"export", "import"}

func (a *app) keyCommand() *ffcli.Command {
	var in keyInput
	fs := a.newFlagSet("key")
	fs.BoolVar(&in.Force, "force", false, "export: write the key even when standard output is a terminal")
	return &ffcli.Command{
		Name:       "key",
		ShortUsage: "dstack-secrets key [-h] [--project PROJECT] export [--force] | import FILE",
		ShortHelp:  "Back up the project's key (export), or put a backup back (import)",
		LongHelp: `The file backend encrypts a project's secrets with a key file,
~/.dstack/secrets/<project>.key, created by the first write. Without it the
secrets cannot be decrypted: losing it loses every secret of the project, so
keep a copy somewhere safe (a password manager, an encrypted backup).

  key export        prints the key file (an age identity) to standard
                    output, for a backup: dstack-secrets key export > FILE.
                    It refuses when standard output is a terminal (the key
                    would stay on the screen and in its scrollback) unless
                    --force is given.
  key import FILE   installs a key backed up that way (FILE, or - for
                    standard input) as the project's key file (0600). It
                    never replaces an existing key file: one that holds the
                    same key is left as it is, a different one is refused.
                    When the store exists, the key must decrypt it.

A project on the keyring or vault backend, or with "passphrase: true", has no
key file: there is nothing to export (the passphrase, or the keychain and
Vault's own backups, are what to keep safe).`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 2, "export or import FILE")
			if err != nil {
				return err
			}
			in.Action = pos[0]
			switch {
			case in.Action == "export" && len(pos) == 1:
			case in.Action == "import" && len(pos) == 2:
				in.File = pos[1]
			case in.Action == "import":
				return commandUsageError("key", "missing FILE (the key file to import, or - for standard input)")
			case in.Action == "export":
				return commandUsageError("key", "export takes no argument: it writes to standard output (dstack-secrets key export > FILE)")
			default:
				return commandUsageError("key", "unknown action %q (actions: export, import)", in.Action)
			}
			if in.Force && in.Action != "export" {
				return commandUsageError("key", "--force is for export")
			}
			return keyCustody(ctx, a, in)
		},
	}
}

// keyCustody exports or imports the key file of the project's file store.
func keyCustody(ctx context.Context, a *app, in keyInput) error {
	var key []byte
	if in.Action == "export" && isTerminal(a.Stdout) && !in.Force {
		return fmt.Errorf("key export: standard output is a terminal, where the key would stay on the screen; redirect it to a file (dstack-secrets key export > FILE) or pass --force")
	}
	if in.Action == "import" {
		var err error
		if key, _, err = a.readInput(in.File, "key file"); err != nil {
			return err
		}
	}
	r, _, err := a.resolveProject()
	if err != nil {
		return err
	}
	return a.withResolved(ctx, r, func(store secrets.Store, r secrets.Resolved) error {
		fs, ok := secrets.Unwrap(store).(*file.Store)
		if !ok {
			return fmt.Errorf("project %q uses the %s backend, which keeps no key file of dstack-secrets: there is no key to %s", r.Scope.Project, r.Backend, in.Action)
		}
		if in.Action == "export" {
			data, err := fs.ExportKey()
			if err != nil {
				return err
			}
			if _, err := a.Stdout.Write(data); err != nil {
				return fmt.Errorf("cannot write the key to standard output: %w", err)
			}
			return nil
		}
		installed, err := fs.ImportKey(key)
		if err != nil {
			return err
		}
		if installed {
			fmt.Fprintf(a.Stderr, "Installed the key of project %q: %s\n", r.Scope.Project, secrets.Printable(fs.KeyPath()))
		} else {
			fmt.Fprintf(a.Stderr, "The key file %s of project %q already holds this key; nothing changed\n", secrets.Printable(fs.KeyPath()), r.Scope.Project)
		}
		return nil
	})
}
