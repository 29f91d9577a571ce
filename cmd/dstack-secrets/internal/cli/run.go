package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/internal/childio"
	"github.com/dstackai/dstack-secrets/internal/nocore"
	"github.com/dstackai/dstack-secrets/redact"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Exit codes of run when the command cannot be started, as in POSIX shells.
const (
	ExitCannotExecute = 126
	ExitNotFound      = 127
)

// runWaitDelay bounds how long run waits, after the command exits, for the
// copying of standard streams that are not files (in-process use).
const runWaitDelay = 2 * time.Second

// runInput is what "run" was asked to do.
type runInput struct {
	Command    []string   // the program and its arguments
	NoOverride bool       // keep inherited variables over secrets of the same name
	Files      []fileSpec // secrets to hand over as files
	NoMask     bool       // pass the command's output through unmasked
	MaskNames  bool       // mask as <NAME> instead of ***
}

// fileSpec is one --file NAME=ENVVAR: the secret NAME written to a file
// whose path the command gets in ENVVAR.
type fileSpec struct{ Secret, EnvVar string }

// fileFlag collects repeated --file flags.
type fileFlag struct{ specs *[]fileSpec }

func (f fileFlag) String() string { return "" }

func (f fileFlag) Set(v string) error {
	name, envVar, ok := strings.Cut(v, "=")
	if err := secrets.ValidateName(name); err != nil {
		return fmt.Errorf("NAME=ENVVAR: %w", err)
	}
	if !ok || secrets.ValidateName(envVar) != nil {
		return fmt.Errorf("%s: expected NAME=ENVVAR, e.g. GCP_KEY=GOOGLE_APPLICATION_CREDENTIALS (ENVVAR is an environment variable name)", name)
	}
	for _, s := range *f.specs {
		if s.EnvVar == envVar {
			return fmt.Errorf("%s: ENVVAR %s is given twice", name, envVar)
		}
	}
	*f.specs = append(*f.specs, fileSpec{Secret: name, EnvVar: envVar})
	return nil
}

func (a *app) runCommand() *ffcli.Command {
	var in runInput
	fs := a.newFlagSet("run")
	fs.BoolVar(&in.NoOverride, "no-override", false, "Keep an inherited environment variable when a secret has the same name")
	fs.BoolVar(&in.NoMask, "no-mask", false, "Pass the command's output through as it is, without masking secret values")
	fs.Var(maskFormatFlag{&in.MaskNames}, "mask-format", "How a masked value is shown: `stars` (***, the default) or name (<NAME>)")
	fs.Var(fileFlag{&in.Files}, "file", "Write the secret NAME to a file (mode 0600, in a private directory removed when COMMAND exits) and put its path in the variable ENVVAR (`NAME=ENVVAR`, may be repeated)")
	return &ffcli.Command{
		Name:       "run",
		ShortUsage: "dstack-secrets run [-h] [--no-override] [--no-mask] [--file NAME=ENVVAR]... [--] COMMAND [ARGS...]",
		ShortHelp:  "Run a command with the secrets in its environment",
		LongHelp: `Runs COMMAND with the current environment plus every secret of the current
repository as an environment variable, the way a workflow gets them.

A secret replaces an inherited environment variable of the same name, as
dstack's runner does; --no-override keeps the inherited variable instead.
The secrets are read in one snapshot before COMMAND starts; if they cannot
be read, COMMAND is not started.

The command's standard output and error pass through a filter that shows
every secret value of the repository as *** (--mask-format name: <NAME>),
also when it is split across writes, and its common encodings too (base64,
URL and JSON escaping), so secrets do not land in workflow logs. Values
shorter than 6 bytes are not masked (they would garble ordinary text and be
guessed by elimination): run names them on stderr. When the output is a
terminal the command runs on its own pseudo-terminal, so colours, progress
bars and line editing keep working. --no-mask turns the filter off. What
the command writes elsewhere (files, the network, /dev/tty) is not filtered.

Programs that want a credential file rather than a variable get one with
--file: run --file GCP_KEY=GOOGLE_APPLICATION_CREDENTIALS -- python app.py
writes the secret GCP_KEY to a file only you can read, in a private
directory (under $XDG_RUNTIME_DIR when set, which is memory-backed), sets
GOOGLE_APPLICATION_CREDENTIALS to its path, and removes the directory when
COMMAND exits, also when it crashes or run is interrupted (SIGINT, SIGTERM);
only a SIGKILL of dstack-secrets itself leaves it behind. The secret stays
in the environment too.

The options of run come before COMMAND: everything from COMMAND on is passed
to it untouched (dstack-secrets run env -i works). Use -- when COMMAND
itself starts with '-'.

Exit status: COMMAND's exit code; 128+N when COMMAND is killed by signal N;
127 when COMMAND is not found; 126 when it cannot be executed; 1 or 2 when
dstack-secrets fails before starting it. SIGTERM received by dstack-secrets is
passed on to COMMAND, and so is SIGINT unless it came from the terminal,
which has already sent it to COMMAND too.

Positional Arguments:
  COMMAND            The program to run, found in PATH
  ARGS               Its arguments`,
		FlagSet: fs,
		// args is what follows run's own flags: the flag set stops at the
		// first non-flag argument or after "--", so the command's flags
		// are never parsed here.
		Exec: func(ctx context.Context, args []string) error {
			in.Command = args
			return runWithSecrets(ctx, a, in)
		},
	}
}

// runWithSecrets runs the command with the secrets added to the
// environment. The store is closed before the command starts.
func runWithSecrets(ctx context.Context, a *app, in runInput) error {
	if len(in.Command) == 0 {
		return commandUsageError("run", "missing COMMAND")
	}
	var values map[string]string
	err := a.withStore(ctx, func(store secrets.Store, r secrets.Resolved) error {
		var err error
		if values, err = secrets.ChildValues(ctx, store); err == nil && len(values) == 0 {
			a.hintMoved(ctx, store, r, "")
		}
		return err
	})
	if err != nil {
		return err
	}
	base := a.Environ
	if base == nil {
		base = os.Environ()
	}
	env := secrets.MergeEnviron(secrets.DropCredentials(base), values, !in.NoOverride)
	if len(in.Files) > 0 {
		paths, cleanup, err := a.writeSecretFiles(in.Files, values)
		if err != nil {
			return err
		}
		defer cleanup()
		env = secrets.MergeEnviron(env, paths, true)
	}
	var redactor *redact.Redactor
	if !in.NoMask {
		opts := redact.Options{}
		if in.MaskNames {
			opts.Format = redact.FormatName
		}
		redactor = redact.New(values, opts)
	}
	if err := secrets.CheckEnvironSize(in.Command, env); err != nil {
		return err
	}
	return a.runChild(ctx, in.Command, env, redactor)
}

// maskFormatFlag is --mask-format stars|name.
type maskFormatFlag struct{ names *bool }

func (f maskFormatFlag) String() string { return "" }

func (f maskFormatFlag) Set(v string) error {
	switch v {
	case "stars", "***":
		*f.names = false
	case "name":
		*f.names = true
	default:
		return fmt.Errorf("%q: use stars or name", v)
	}
	return nil
}

// writeSecretFiles writes each --file secret to a 0600 file in a new 0700
// directory and returns the variables that point to them, and a function
// that removes the directory.
func (a *app) writeSecretFiles(specs []fileSpec, values map[string]string) (map[string]string, func(), error) {
	var missing []string
	for _, f := range specs {
		if _, ok := values[f.Secret]; !ok {
			missing = append(missing, f.Secret)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("run --file: %w: %s (the command was not started)", secrets.ErrNotFound, secrets.NameList(missing))
	}
	parent := a.Getenv("XDG_RUNTIME_DIR")
	if fi, err := os.Stat(parent); parent == "" || err != nil || !fi.IsDir() {
		parent = ""
	}
	dir, err := os.MkdirTemp(parent, "dstack-secrets-run-*")
	if err != nil {
		return nil, nil, fmt.Errorf("run --file: cannot create a private directory: %w (the command was not started)", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	paths := make(map[string]string, len(specs))
	for _, f := range specs {
		p := filepath.Join(dir, f.Secret)
		if _, done := paths[f.EnvVar]; !done {
			if err := os.WriteFile(p, []byte(values[f.Secret]), 0o600); err != nil {
				cleanup()
				return nil, nil, fmt.Errorf("run --file: cannot write the file of %s: %w (the command was not started)", f.Secret, unwrapPathError(err))
			}
		}
		paths[f.EnvVar] = p
	}
	return paths, cleanup, nil
}

// runChild runs args[0] with env, its output through redactor (nil: not
// masked), forwarding signals (internal/childio), and returns an exitError
// with its exit code when that is not 0. Errors never quote the command
// line, which may hold secrets.
func (a *app) runChild(ctx context.Context, args []string, env []string, redactor *redact.Redactor) error {
	path, err := exec.LookPath(args[0])
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return exitError{code: ExitNotFound, msg: fmt.Sprintf("run: command %q not found (check its spelling and PATH)", args[0])}
		}
		reason := err
		var ee *exec.Error
		if errors.As(err, &ee) {
			reason = ee.Err
		}
		return exitError{code: ExitCannotExecute, msg: fmt.Sprintf("run: the command cannot be executed: %v (the first argument after 'run' must name an executable program)", reason)}
	}
	if skipped := redactor.Skipped(); len(skipped) > 0 {
		fmt.Fprintf(a.Stderr, "dstack-secrets: note: not masked in the output (shorter than %d bytes): %s\n", redact.DefaultMinLength, secrets.NameList(skipped))
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Env = env
	cmd.WaitDelay = runWaitDelay
	code, err := childio.Run(ctx, cmd, childio.Options{Redactor: redactor, Stdin: a.Stdin, Stdout: a.Stdout, Stderr: a.Stderr, Start: nocore.Start, Exiting: a.Exiting})
	var se *childio.StartError
	switch {
	case errors.As(err, &se):
		return exitError{code: ExitCannotExecute, msg: fmt.Sprintf("run: the command cannot be executed: %v", startErrorText(se.Err))}
	case err != nil:
		return fmt.Errorf("run: waiting for the command: %w", err)
	case code != 0:
		return exitError{code: code}
	}
	return nil
}

// startErrorText describes an error of exec.Cmd.Start without the path.
func startErrorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
