package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns a flag set with the global flags, which every command
// accepts before or after its arguments. Their usage strings here are the
// only description of them: the help of every command shows them from
// here. A back-quoted word names the flag's argument (see usage).
func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&a.configPath, "config", "", `Use the configuration in `+"`FILE`"+` (default $DSTACK_SECRETS_CONFIG, else ~/.dstack/secrets.yml; without one, the "default" project keeps secrets in an encrypted local file)`)
	fs.StringVar(&a.repo, "repo", "", "The repository whose secrets to use: a remote URL such as github.com/org/repo, or a directory (default $DSTACK_SECRETS_REPO, else the git repository containing the working directory)")
	fs.StringVar(&a.project, "project", "", "The name of the project to execute the command for (default $DSTACK_SECRETS_PROJECT, else default_project)")
	fs.DurationVar(&a.env.Timeout, "timeout", 0, "Keep retrying a backend that fails or fails over for at most `TIME` per request, e.g. 1m (default: the backend's; 30s for Vault)")
	return fs
}

// yesFlag registers -y and --yes, the confirmation skip of the commands
// that ask before changing something.
func yesFlag(fs *flag.FlagSet, yes *bool, usage string) {
	fs.BoolVar(yes, "y", false, usage)
	fs.BoolVar(yes, "yes", false, usage)
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
	switch {
	case len(pos) < min:
		return nil, commandUsageError(fs.Name(), "missing %s", names)
	case max >= 0 && len(pos) > max:
		return nil, commandUsageError(fs.Name(), "too many arguments (%d given; expected %s)", len(pos), names)
	}
	return pos, nil
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
