// Command dstack-secrets-cloud is the cloud backend of dstack-secrets (S3,
// Google Cloud Storage, Azure Blob) in a program of its own, so that the
// cloud SDKs, hundreds of packages to initialise, cost only the commands
// that use a cloud project. dstack-secrets starts it when it opens a
// project whose backend is cloud, and runs it for "dstack-secrets identity"
// and "dstack-secrets share". Install it beside dstack-secrets:
//
//	go install ./cmd/...
//
// Usage:
//
//	dstack-secrets-cloud [--config FILE] [--project PROJECT] identity
//	dstack-secrets-cloud [--config FILE] [--project PROJECT] share list
//	dstack-secrets-cloud [--config FILE] [--project PROJECT] share add [--name NAME] KEY
//	dstack-secrets-cloud [--config FILE] [--project PROJECT] share remove KEY|FINGERPRINT
//	dstack-secrets-cloud serve-plugin
//
// serve-plugin serves the store of one project on standard input and
// output for dstack-secrets (package internal/plugin); it is not meant to
// be run by hand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/dstackai/dstack-secrets/internal/plugin"
	"github.com/dstackai/dstack-secrets/secrets"
)

// backendName is the backend this program serves.
const backendName = "cloud"

// projectEnvVar names the project when --project is not given, as for
// dstack-secrets.
const projectEnvVar = "DSTACK_SECRETS_PROJECT"

// usage is the help of the program.
const usage = `Usage: dstack-secrets-cloud [--config FILE] [--project PROJECT] COMMAND

The cloud backend of dstack-secrets. dstack-secrets runs it for you: use
'dstack-secrets identity' and 'dstack-secrets share' ('dstack-secrets help
share' describes them).

Commands:
  identity                  Print your member key
  share list                Print the project ID and the members
  share add [--name NAME] KEY
                            Add a member and re-encrypt every repository
  share remove KEY|FINGERPRINT
                            Remove a member and re-encrypt every repository
  serve-plugin              Serve a store to dstack-secrets on stdin/stdout
`

func main() {
	if len(os.Args) == 2 && os.Args[1] == plugin.ServeArg {
		plugin.ServeProcess(backendName, registry(), plugin.ServeEnv(backendName, serveEnv...))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// registry holds the backends this program serves.
func registry() *secrets.Registry {
	return secrets.NewRegistry(backends()...)
}

// command is what the command line asks for.
type command struct {
	configPath, project string
	action              string // identity, list, add, remove
	key, name           string
}

// errUsage is a mistake in the command line: exit code 2.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

// run runs one command and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c, err := parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err == nil {
		err = c.run(ctx, stdin, stdout, stderr)
	}
	var ue errUsage
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "dstack-secrets-cloud: %s (run 'dstack-secrets-cloud -h' for usage)\n", ue.msg)
		return 2
	}
	fmt.Fprintf(stderr, "dstack-secrets: %v\n", err)
	return 1
}

// parse reads the command line; flags may come before, between or after
// the words, and "--" ends them (a key that starts with '-').
func parse(args []string) (command, error) {
	var c command
	fs := flag.NewFlagSet("dstack-secrets-cloud", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.configPath, "config", "", "")
	fs.StringVar(&c.project, "project", "", "")
	fs.StringVar(&c.name, "name", "", "")
	var words []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return c, err
			}
			return c, errUsage{strings.TrimPrefix(err.Error(), "flag provided but not defined: ")}
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			words = append(words, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		words = append(words, rest[0])
		args = rest[1:]
	}
	switch {
	case len(words) == 1 && words[0] == "identity":
		c.action = "identity"
	case len(words) == 2 && words[0] == "share" && words[1] == "list":
		c.action = "list"
	case len(words) == 3 && words[0] == "share" && (words[1] == "add" || words[1] == "remove"):
		c.action, c.key = words[1], words[2]
	case len(words) == 0:
		return c, errUsage{"no command given"}
	default:
		return c, errUsage{"expected identity, share list, share add KEY or share remove KEY"}
	}
	if c.name != "" && c.action != "add" {
		return c, errUsage{"--name goes with share add only"}
	}
	return c, nil
}

// run resolves the project and runs the command.
func (c command) run(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	env := secrets.Env{Prompt: terminalPrompt(stdin, stderr)}
	project, opts, err := c.projectOptions(env)
	if err != nil {
		return err
	}
	switch c.action {
	case "identity":
		return identity(ctx, opts, env, stdout, stderr)
	case "list":
		return shareList(ctx, project, opts, env, stdout)
	case "add":
		return shareAdd(ctx, project, c.key, c.name, opts, env, stdout)
	default:
		return shareRemove(ctx, project, c.key, opts, env, stdout)
	}
}

// projectOptions returns the project that the flags and the environment
// select and its options, which must be those of a cloud project. identity
// without a project named, when the default project is not on the cloud
// backend, uses the default options (the default identity file): a new
// member asks for their key before they have a cloud project configured.
func (c command) projectOptions(env secrets.Env) (string, secrets.Options, error) {
	cfg, err := secrets.LoadConfigFor(env, c.configPath)
	if err != nil {
		return "", nil, err
	}
	named := c.project
	if named == "" {
		named = env.Value(projectEnvVar)
	}
	project, pc, err := cfg.Project(named)
	if err != nil && !(c.action == "identity" && named == "") {
		return "", nil, err
	}
	if err == nil && pc.Backend == backendName {
		return project, pc.Options, nil
	}
	if c.action == "identity" && named == "" {
		return "", nil, nil
	}
	return "", nil, fmt.Errorf("%w: project %q uses the %s backend; identity and share are for projects with backend: %s (name one with --project)", secrets.ErrInvalidConfig, project, pc.Backend, backendName)
}

// terminalPrompt asks at the terminal without echo, or is nil when stdin
// is not a terminal.
func terminalPrompt(stdin io.Reader, stderr io.Writer) secrets.PromptFunc {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func(ctx context.Context, prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("cannot read from the terminal: %w", err)
		}
		return string(b), ctx.Err()
	}
}
