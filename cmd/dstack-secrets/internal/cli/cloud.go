package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/internal/childio"
	"github.com/dstackai/dstack-secrets/internal/plugin"
	"github.com/dstackai/dstack-secrets/secrets"
)

// The cloud backend (S3, Google Cloud Storage, Azure Blob) runs in the
// program dstack-secrets-cloud, installed beside dstack-secrets: its SDKs
// are hundreds of packages whose initialisation would otherwise slow down
// every command (package internal/plugin; backends.go).
const (
	cloudBackend = "cloud"
	cloudSummary = "one age-encrypted object per repository in S3, Google Cloud Storage or Azure Blob, shared by a team"
)

func (a *app) identityCommand() *ffcli.Command {
	fs := a.newFlagSet("identity")
	return &ffcli.Command{
		Name:       "identity",
		ShortUsage: "dstack-secrets identity [-h] [--project PROJECT]",
		ShortHelp:  "Print your member key for projects on the cloud backend",
		LongHelp: `Prints your member key for projects on the cloud backend: the public half of
the project's identity_file (an SSH key or an age identity) or, by default,
of the age identity ~/.dstack/secrets/cloud-identity.key, created on first
use (back it up). Send it to a member of the project, who adds you with
'dstack-secrets share add KEY'.

The cloud backend runs in the program dstack-secrets-cloud, installed beside
dstack-secrets (go install ./cmd/...).`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			return a.runCloud(ctx, "identity")
		},
	}
}

func (a *app) shareCommand() *ffcli.Command {
	fs := a.newFlagSet("share")
	var name string
	fs.StringVar(&name, "name", "", "A label for the member that add adds (default: the SSH key's comment)")
	return &ffcli.Command{
		Name:       "share",
		ShortUsage: "dstack-secrets share [-h] [--project PROJECT] list | add [--name NAME] KEY | remove KEY",
		ShortHelp:  "List, add or remove the members of a cloud project",
		LongHelp: `Manages who can read the secrets of a project on the cloud backend: each
repository's secrets are encrypted to every member of the project and signed
by the member who wrote them.

  list        Prints the project ID and the members
  add KEY     Adds the member KEY (what 'dstack-secrets identity' printed for
              them, an SSH public key, or an age1... recipient, which can read
              but not write) and re-encrypts every repository of the project
              to them; prints the project ID they set as project_id
  remove KEY  Removes the member KEY (or its fingerprint, SHA256:...) and
              re-encrypts every repository without them; prints the secrets
              they could read: rotate those, and revoke their access to the
              bucket

The cloud backend runs in the program dstack-secrets-cloud, installed beside
dstack-secrets (go install ./cmd/...).

Positional Arguments:
  ACTION             list, add or remove
  KEY                The member's key, or its fingerprint for remove`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 2, "list, add KEY or remove KEY")
			if err != nil {
				return err
			}
			switch {
			case pos[0] == "list" && len(pos) == 1:
			case (pos[0] == "add" || pos[0] == "remove") && len(pos) == 2:
			case pos[0] == "add" || pos[0] == "remove":
				return commandUsageError("share", "%s needs KEY", pos[0])
			case pos[0] == "list":
				return commandUsageError("share", "list takes no KEY")
			default:
				return commandUsageError("share", "unknown action %q (actions: list, add, remove)", pos[0])
			}
			if name != "" && pos[0] != "add" {
				return commandUsageError("share", "--name goes with add only")
			}
			words := []string{"share", pos[0]}
			if name != "" {
				words = append(words, "--name", name)
			}
			if len(pos) == 2 {
				words = append(words, "--", pos[1])
			}
			return a.runCloud(ctx, words...)
		},
	}
}

// runCloud runs dstack-secrets-cloud with the command words, the
// configuration and project that the global flags and the environment
// select, and our standard streams, directory, environment and home.
// Its exit code is ours; it prints its own messages.
func (a *app) runCloud(ctx context.Context, words ...string) error {
	path, err := cloudProgram()
	if err != nil {
		return err
	}
	var args []string
	if c := a.configPath; c != "" || a.Getenv(secrets.ConfigEnvVar) != "" {
		if c == "" {
			c = a.Getenv(secrets.ConfigEnvVar)
		}
		args = append(args, "--config", c)
	}
	if p := a.project; p != "" || a.Getenv(projectEnvVar) != "" {
		if p == "" {
			p = a.Getenv(projectEnvVar)
		}
		args = append(args, "--project", p)
	}
	env := a.Environ
	if env == nil {
		env = os.Environ()
	}
	if a.HomeDir != "" {
		env = secrets.MergeEnviron(env, map[string]string{"HOME": a.HomeDir}, true)
	}
	cmd := exec.Command(path, append(args, words...)...)
	cmd.Env = env
	cmd.Dir = a.Dir
	cmd.WaitDelay = runWaitDelay
	code, err := childio.Run(ctx, cmd, childio.Options{Stdin: a.Stdin, Stdout: a.Stdout, Stderr: a.Stderr})
	var se *childio.StartError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("%w: cannot start %s: %v", secrets.ErrUnavailable, path, startErrorText(se.Err))
	case err != nil:
		return fmt.Errorf("waiting for %s: %w", plugin.Program(cloudBackend), err)
	case code != 0:
		return exitError{code: code}
	}
	return nil
}
