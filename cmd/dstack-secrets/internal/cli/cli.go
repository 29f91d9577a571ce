// Package cli implements the dstack-secrets command line on top of package
// secrets and the built-in backends. Everything a command touches (standard
// streams, environment, home and working directory, backends) is injected
// through Params, so the whole CLI runs in-process in tests.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Params are the CLI's connections to the outside world.
type Params struct {
	// Stdin is read for values and confirmations; prompts are masked when
	// it is a terminal (*os.File). Nil means empty input.
	Stdin io.Reader
	// Stdout receives command output (names, values, exported files).
	Stdout io.Writer
	// Stderr receives prompts, progress messages and errors.
	Stderr io.Writer
	// Getenv looks up environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Environ is the environment handed to child processes; nil means
	// os.Environ().
	Environ []string
	// HomeDir overrides the home directory; empty means os.UserHomeDir.
	HomeDir string
	// Dir is the working directory for repository detection; empty means
	// the process's.
	Dir string
	// Registry opens backends; nil means backends.Registry().
	Registry *secrets.Registry
}

// app holds the state of one CLI invocation.
type app struct {
	Params
	env secrets.Env

	// Global flags, shared by every command's flag set.
	configPath string
	repo       string
	project    string

	// subArgs are the raw arguments after the command name, once the root
	// command has found the command.
	subArgs []string
}

// Run runs the CLI with args (without the program name) and returns the
// process exit code: 0 on success, 2 on a usage error, 1 on any other
// failure (or the child's code for "run").
func Run(ctx context.Context, args []string, p Params) int {
	if p.Stdin == nil {
		p.Stdin = strings.NewReader("")
	}
	if p.Stdout == nil {
		p.Stdout = io.Discard
	}
	if p.Stderr == nil {
		p.Stderr = io.Discard
	}
	if p.Getenv == nil {
		p.Getenv = os.Getenv
	}
	if p.Registry == nil {
		p.Registry = backends.Registry()
	}
	a := &app{Params: p}
	a.env = secrets.Env{Getenv: p.Getenv, HomeDir: p.HomeDir, Prompt: a.promptFunc()}
	return a.run(ctx, args)
}

// command is one subcommand: its ffcli definition plus its help text.
type command struct {
	*ffcli.Command
	help string
}

func (a *app) commands() []*command {
	return []*command{
		a.listCommand(),
		a.addCommand(),
		a.deleteCommand(),
		a.getCommand(),
		a.importCommand(),
		a.exportCommand(),
		a.runCommand(),
		a.copyCommand(),
	}
}

const rootHelp = `Usage: dstack-secrets [-h] [--config FILE] [--repo REPO] [--project PROJECT] COMMAND [ARGS]

Manage the secrets of the current git repository: passwords and tokens that
workflows get as environment variables instead of hard-coding them.

Commands:
%s
Global Arguments (accepted before or after the command):
  --config FILE      The configuration file (default $DSTACK_SECRETS_CONFIG,
                     else ~/.dstack/secrets.yml; without one, the "default"
                     project keeps secrets in an encrypted local file)
  --repo REPO        The repository whose secrets to use: a remote URL such as
                     github.com/org/repo, or a directory (default: the git
                     repository containing the working directory)
  --project PROJECT  The name of the project to execute the command for
                     (default $DSTACK_SECRETS_PROJECT, else default_project)

Run 'dstack-secrets COMMAND -h' for the arguments of a command.
`

func (a *app) run(ctx context.Context, args []string) int {
	cmds := a.commands()
	var list strings.Builder
	subs := make([]*ffcli.Command, len(cmds))
	for i, c := range cmds {
		subs[i] = c.Command
		fmt.Fprintf(&list, "  %-10s %s\n", c.Name, c.ShortHelp)
	}
	help := fmt.Sprintf(rootHelp, list.String())
	rootFS := a.newFlagSet("dstack-secrets")
	root := &ffcli.Command{
		Name:        "dstack-secrets",
		FlagSet:     rootFS,
		Subcommands: subs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usageErrorf("no command given")
			}
			return usageErrorf("unknown command %q (commands: %s)", args[0], commandNames(cmds))
		},
	}
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.Stdout, helpFor(root, cmds, help))
			return ExitOK
		}
		return a.fail(usageError{flagErrorText(selectedName(root, cmds), err), helpHint(root, cmds)})
	}
	if rootFS.NArg() > 0 {
		a.subArgs = append([]string{}, rootFS.Args()[1:]...)
	}
	if err := root.Run(ctx); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.Stdout, helpFor(root, cmds, help))
			return ExitOK
		}
		return a.fail(err)
	}
	return ExitOK
}

func commandNames(cmds []*command) string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// selected returns the subcommand that the root command's Parse reached
// (its flag set was parsed), or nil.
func selected(_ *ffcli.Command, cmds []*command) *command {
	for _, c := range cmds {
		if c.FlagSet.Parsed() {
			return c
		}
	}
	return nil
}

func selectedName(root *ffcli.Command, cmds []*command) string {
	if c := selected(root, cmds); c != nil {
		return c.Name
	}
	return "dstack-secrets"
}

func helpFor(root *ffcli.Command, cmds []*command, rootHelp string) string {
	if c := selected(root, cmds); c != nil {
		return c.help
	}
	return rootHelp
}

func helpHint(root *ffcli.Command, cmds []*command) string {
	if c := selected(root, cmds); c != nil {
		return fmt.Sprintf("run 'dstack-secrets %s -h' for usage", c.Name)
	}
	return "run 'dstack-secrets -h' for usage"
}

// newFlagSet returns a flag set with the global flags, which every command
// accepts before or after its arguments.
func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&a.configPath, "config", "", "configuration file")
	fs.StringVar(&a.repo, "repo", "", "repository")
	fs.StringVar(&a.project, "project", "", "project")
	return fs
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments, as argparse does; "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError is a mistake in the command line: exit code 2.
type usageError struct {
	msg  string
	hint string
}

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError carries a specific exit code (a child's, for "run") and an
// optional message.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

// fail reports err on stderr and returns its exit code.
func (a *app) fail(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		hint := ue.hint
		if hint == "" {
			hint = "run 'dstack-secrets -h' for usage"
		}
		fmt.Fprintf(a.Stderr, "dstack-secrets: %s (%s)\n", ue.msg, hint)
		return ExitUsage
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(a.Stderr, "dstack-secrets: %s\n", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintf(a.Stderr, "dstack-secrets: %v\n", err)
	return ExitFailure
}

// target is what the global flags and environment select.
func (a *app) target() secrets.Target {
	project := a.project
	if project == "" {
		project = a.Getenv("DSTACK_SECRETS_PROJECT")
	}
	repo := a.repo
	if repo == "" {
		repo = a.Getenv("DSTACK_SECRETS_REPO")
	}
	return secrets.Target{
		Project:    project,
		Repository: repo,
		Dir:        a.Dir,
		ConfigPath: a.configPath,
		Env:        a.env,
	}
}

// openStore opens the store selected by the global flags.
func (a *app) openStore(ctx context.Context) (secrets.Store, secrets.Resolved, error) {
	r, err := secrets.Resolve(a.target())
	if err != nil {
		return nil, r, err
	}
	s, err := a.Registry.OpenResolved(ctx, r)
	return s, r, err
}

// positional parses a command's arguments and checks their count. It
// parses the command's raw arguments (those after the command name) again
// from the start, not the remainder ffcli left: ffcli drops a leading "--",
// which must still end the flags here ("add -- NAME -value").
func (a *app) positional(fs *flag.FlagSet, args []string, min, max int, names string) ([]string, error) {
	if a.subArgs != nil {
		args = a.subArgs
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, usageError{msg: flagErrorText(fs.Name(), err), hint: fmt.Sprintf("run 'dstack-secrets %s -h' for usage", fs.Name())}
	}
	hint := fmt.Sprintf("run 'dstack-secrets %s -h' for usage", fs.Name())
	switch {
	case len(pos) < min:
		return nil, usageError{msg: fmt.Sprintf("%s: missing %s", fs.Name(), names), hint: hint}
	case max >= 0 && len(pos) > max:
		return nil, usageError{msg: fmt.Sprintf("%s: too many arguments (%d given; expected %s)", fs.Name(), len(pos), names), hint: hint}
	}
	return pos, nil
}

// where describes a scope for messages.
func where(r secrets.Resolved) string {
	return fmt.Sprintf("project %q (repository %s)", r.Scope.Project, r.Scope.Repository)
}

// flagErrorText describes a flag parsing error. An undefined flag is not
// echoed: it may be a secret value that starts with '-'.
func flagErrorText(cmd string, err error) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
	if cmd == "dstack-secrets" {
		cmd = "global flags"
	}
	if strings.HasPrefix(msg, "flag provided but not defined") {
		return fmt.Sprintf("%s: unknown flag (to pass an argument that starts with '-', such as a value, put it after '--')", cmd)
	}
	if strings.HasPrefix(msg, "invalid boolean value") {
		return fmt.Sprintf("%s: a yes/no flag was given a value; use it alone, e.g. -y", cmd)
	}
	return fmt.Sprintf("%s: %s", cmd, msg)
}
