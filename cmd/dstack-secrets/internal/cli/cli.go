// Package cli implements the dstack-secrets command line on top of package
// secrets and the built-in backends. Everything a command touches (standard
// streams, environment, home and working directory, backends) is injected
// through Params, so the whole CLI runs in-process in tests.
//
// Each command lives in its own file as an input struct, a function that
// does the work given that input (addSecret, copySecrets, ...), and a
// constructor that returns the ffcli.Command whose Exec only parses the
// flags and arguments into the input. Adding a command is one such file and
// one line in app.commands. Help is rendered from the ffcli fields
// (ShortUsage, ShortHelp, LongHelp) and the flags' usage strings by usage.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/peterbourgon/ff/v3/ffcli"

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
	// Registry opens backends; nil means the file backend, linked in, and
	// the programs of the others (registry, in backends.go).
	Registry *secrets.Registry
	// BuildInfo describes the binary for "version"; nil means
	// debug.ReadBuildInfo.
	BuildInfo func() (*debug.BuildInfo, bool)
	// Exiting says that the process exits when Run returns, as it does
	// from the command's main: "run" then leaves its signal handlers in
	// place rather than paying to restore them (childio.Options.Exiting).
	// Programs and tests that go on after Run leave it false.
	Exiting bool
}

// app holds the state of one CLI invocation.
type app struct {
	Params
	env secrets.Env

	// Global flags, shared by every command's flag set (see newFlagSet).
	configPath string
	repo       string
	project    string

	// subArgs are the raw arguments after the command name, once the root
	// command has found the command.
	subArgs []string

	// root and cmds are the command tree of this invocation, for "help".
	root *ffcli.Command
	cmds []*ffcli.Command

	// completing is set during shell completion, which records nothing
	// (see rememberWorkTree).
	completing bool

	// repoIndex is the repository index read from repoIndexPath, once
	// (see index).
	repoIndex     *repoIndex
	repoIndexPath string

	// noticed holds the notices already printed (see notice).
	noticeMu sync.Mutex
	noticed  map[string]bool
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
		p.Registry = registry()
	}
	a := &app{Params: p}
	a.env = secrets.Env{Getenv: p.Getenv, HomeDir: p.HomeDir, Prompt: a.promptFunc(), Warn: func(msg string) {
		fmt.Fprintf(a.Stderr, "dstack-secrets: warning: %s\n", secrets.PrintableText(msg))
	}, Notice: a.notice}
	return a.run(ctx, args)
}

// onlyCommandTree is false in the test that compares the answers of the
// whole tree with those of one command's.
var onlyCommandTree = true

// namedCommand is a command's name and the constructor of its
// ffcli.Command.
type namedCommand struct {
	name string
	make func() *ffcli.Command
}

// commandTable lists the subcommands in the order "dstack-secrets -h"
// lists them. Each constructor lives in the command's own file.
func (a *app) commandTable() []namedCommand {
	return []namedCommand{
		{"list", a.listCommand},
		{"add", a.addCommand},
		{"delete", a.deleteCommand},
		{"get", a.getCommand},
		{"import", a.importCommand},
		{"export", a.exportCommand},
		{"run", a.runCommand},
		{"copy", a.copyCommand},
		{"repos", a.reposCommand},
		{"move", a.moveCommand},
		{"render", a.renderCommand},
		{"redact", a.redactCommand},
		{"history", a.historyCommand},
		{"rollback", a.rollbackCommand},
		{"key", a.keyCommand},
		{"identity", a.identityCommand},
		{"share", a.shareCommand},
		{"help", a.helpCommand},
		{"version", a.versionCommand},
		{"completion", a.completionCommand},
	}
}

// commands returns the subcommands, all of them, or only the one named
// only when only names one: a command line that names its command needs
// no other (building them all, flag sets and help texts, was a tenth of
// "list"). "help" needs them all.
func (a *app) commands(only string) []*ffcli.Command {
	table := a.commandTable()
	if onlyCommandTree && only != "" && only != "help" {
		for _, c := range table {
			if c.name == only {
				return []*ffcli.Command{c.make()}
			}
		}
	}
	cmds := make([]*ffcli.Command, len(table))
	for i, c := range table {
		cmds[i] = c.make()
	}
	return cmds
}

// Environment variables of the CLI itself; the backends' are listed in the
// root help too (environmentRows).
const (
	projectEnvVar = "DSTACK_SECRETS_PROJECT"
	repoEnvVar    = "DSTACK_SECRETS_REPO"
)

// rootHelp is the description in "dstack-secrets -h".
const rootHelp = `Manage the secrets of the current git repository: passwords and tokens that
workflows get as environment variables instead of hard-coding them.`

func (a *app) run(ctx context.Context, args []string) int {
	if len(args) > 0 && args[0] == completeCommand {
		return a.complete(ctx, args[1:])
	}
	var showVersion bool
	// CommandName reads the command line as the root command's Parse does
	// but for --version: when it finds a command name, that command is
	// the one Parse selects (or none, and the whole tree is built for the
	// messages that list the commands).
	root, cmds := a.commandTree(&showVersion, CommandName(args))
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return a.help(root, cmds)
		}
		c := selected(root, cmds)
		return a.fail(usageError{flagErrorText(c.FlagSet, err, args), helpHint(c)})
	}
	if showVersion {
		fmt.Fprintln(a.Stdout, a.versionText())
		return ExitOK
	}
	if rootFS := root.FlagSet; rootFS.NArg() > 0 {
		a.subArgs = append([]string{}, rootFS.Args()[1:]...)
	}
	if err := root.Run(ctx); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return a.help(root, cmds)
		}
		return a.fail(err)
	}
	return ExitOK
}

// commandTree builds the root command, whose flag set is the global flags
// plus --version (which sets showVersion), over the commands (all, or only
// the one named only: see commands).
func (a *app) commandTree(showVersion *bool, only string) (*ffcli.Command, []*ffcli.Command) {
	cmds := a.commands(only)
	for _, c := range cmds {
		c.UsageFunc = a.usage
	}
	rootFS := a.newFlagSet("dstack-secrets")
	rootFS.BoolVar(showVersion, "version", false, "Print the version of dstack-secrets and exit")
	root := &ffcli.Command{
		Name:        "dstack-secrets",
		ShortUsage:  "dstack-secrets [-h] [--version] [--config FILE] [--repo REPO] [--project PROJECT] COMMAND [ARGS]",
		LongHelp:    rootHelp,
		UsageFunc:   a.usage,
		FlagSet:     rootFS,
		Subcommands: cmds,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usageErrorf("no command given")
			}
			return unknownCommand(args[0], cmds)
		},
	}
	a.root, a.cmds = root, cmds
	return root, cmds
}

// commandSynonyms are words of other tools that name a command here.
var commandSynonyms = map[string]string{
	"ls": "list", "rm": "delete", "remove": "delete", "del": "delete",
	"set": "add", "show": "get", "exec": "run",
}

// unknownCommand is the usage error of a command name that is not one,
// with the closest command name when one is close.
func unknownCommand(name string, cmds []*ffcli.Command) error {
	if s := suggest(name, commandList(cmds), commandSynonyms); s != "" {
		return usageErrorf("unknown command %q (did you mean %s?)", name, s)
	}
	return usageErrorf("unknown command %q (commands: %s)", name, commandNames(cmds))
}

// findCommand returns the command named name, or nil.
func findCommand(cmds []*ffcli.Command, name string) *ffcli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// notice tells the user, once per invocation, about something that
// happened on the way and that they must know about even when the command
// succeeds: a key file that was just created and must be backed up. It is
// the CLI side of a backend's message hook (a func(string) in secrets.Env
// that the file backend calls after creating a key), safe for concurrent
// use. It writes to stderr, never stdout, so the output of "get" and
// "export" stays clean; during shell completion stderr is discarded.
func (a *app) notice(msg string) {
	a.noticeMu.Lock()
	defer a.noticeMu.Unlock()
	if a.noticed[msg] {
		return
	}
	if a.noticed == nil {
		a.noticed = map[string]bool{}
	}
	a.noticed[msg] = true
	fmt.Fprintf(a.Stderr, "dstack-secrets: %s\n", msg)
}

// help prints the help of the command that was asked for on stdout.
func (a *app) help(root *ffcli.Command, cmds []*ffcli.Command) int {
	c := selected(root, cmds)
	fmt.Fprint(a.Stdout, c.UsageFunc(c))
	return ExitOK
}

// commandList returns the names of cmds.
func commandList(cmds []*ffcli.Command) []string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.Name
	}
	return names
}

func commandNames(cmds []*ffcli.Command) string {
	return strings.Join(commandList(cmds), ", ")
}

// selected returns the subcommand that the root command's Parse reached
// (its flag set was parsed), or root.
func selected(root *ffcli.Command, cmds []*ffcli.Command) *ffcli.Command {
	for _, c := range cmds {
		if c.FlagSet.Parsed() {
			return c
		}
	}
	return root
}

// helpHint points to the help of command c.
func helpHint(c *ffcli.Command) string {
	if c.Name == "dstack-secrets" {
		return "run 'dstack-secrets -h' for usage"
	}
	return fmt.Sprintf("run 'dstack-secrets %s -h' for usage", c.Name)
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

// commandUsageError is a usage error of the named command, with a hint to
// its help.
func commandUsageError(command, format string, args ...any) error {
	return usageError{msg: command + ": " + fmt.Sprintf(format, args...), hint: fmt.Sprintf("run 'dstack-secrets %s -h' for usage", command)}
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
	// Errors may echo text from files and servers: escape what a terminal
	// would interpret.
	fmt.Fprintf(a.Stderr, "dstack-secrets: %s\n", secrets.PrintableText(err.Error()))
	return ExitFailure
}

// target is what the global flags and environment select.
func (a *app) target() secrets.Target {
	project := a.project
	if project == "" {
		project = a.Getenv(projectEnvVar)
	}
	repo := a.repo
	if repo == "" {
		repo = a.Getenv(repoEnvVar)
	}
	return secrets.Target{
		Project:    project,
		Repository: repo,
		Dir:        a.Dir,
		ConfigPath: a.configPath,
		Env:        a.env,
	}
}

// withStore resolves the store that the global flags select, opens it,
// calls fn with it and closes it. A close error (an AppRole token whose
// revocation failed) is printed as a warning: it does not undo what fn did,
// so it does not change the exit code.
func (a *app) withStore(ctx context.Context, fn func(secrets.Store, secrets.Resolved) error) error {
	r, err := secrets.Resolve(a.target())
	if err != nil {
		return err
	}
	a.rememberWorkTree(r.Detected)
	return a.withResolved(ctx, r, fn)
}

// withResolved opens the store that r names, calls fn with it and closes
// it, as withStore does; copy resolves both sides first and then opens each
// with it.
func (a *app) withResolved(ctx context.Context, r secrets.Resolved, fn func(secrets.Store, secrets.Resolved) error) error {
	s, err := a.Registry.OpenResolved(ctx, r)
	if err != nil {
		return err
	}
	err = fn(s, r)
	if cerr := secrets.Close(s); cerr != nil {
		fmt.Fprintf(a.Stderr, "dstack-secrets: warning: closing the store: %v\n", cerr)
	}
	return err
}

// confirmOrRefuse asks question at a terminal and returns nil on yes. When
// stdin is not a terminal it returns refuse; on no it returns an exit code
// 1 with the message declined.
func (a *app) confirmOrRefuse(question string, refuse error, declined string) error {
	if a.terminal() == nil {
		return refuse
	}
	ok, err := a.confirm(question)
	if err != nil {
		return err
	}
	if !ok {
		return exitError{code: ExitFailure, msg: declined}
	}
	return nil
}
