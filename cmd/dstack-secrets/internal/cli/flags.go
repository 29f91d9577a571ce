package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
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
		return nil, usageError{msg: flagErrorText(fs, err, args), hint: fmt.Sprintf("run 'dstack-secrets %s -h' for usage", fs.Name())}
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

// flagErrorText describes a flag parsing error of the flag set fs, which
// parsed args. An undefined flag is named only when the argument looks like
// a long flag (--name-of-flag, lower case): anything else may be a secret
// value that starts with '-', and is not echoed.
func flagErrorText(fs *flag.FlagSet, err error, args []string) string {
	msg := strings.TrimPrefix(err.Error(), "error parsing commandline arguments: ")
	cmd := fs.Name() + ": "
	if fs.Name() == "dstack-secrets" {
		cmd = "global flags: "
	}
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: "):
		name := strings.TrimLeft(strings.TrimPrefix(msg, "flag provided but not defined: "), "-")
		if arg := flagArgument(args, name); looksLikeFlag(arg) {
			if fs.Name() == "dstack-secrets" {
				cmd = ""
			}
			text := cmd + "unknown flag " + arg
			if name == "version" {
				return text + " (it goes before the command: dstack-secrets --version)"
			}
			if s := suggest(name, flagNames(fs), nil); s != "" {
				text += " (did you mean " + dashed(s) + "?)"
			}
			return text
		}
		return cmd + "unknown flag (to pass an argument that starts with '-', such as a value, put it after '--')"
	case strings.HasPrefix(msg, "bad flag syntax: "):
		// Go's message quotes the argument, which may be a value.
		return cmd + "an argument starts with '-' but is not a flag (to pass an argument that starts with '-', such as a value, put it after '--')"
	case strings.HasPrefix(msg, "invalid boolean value"):
		return cmd + "a yes/no flag was given a value; use it alone, e.g. -y"
	case strings.HasPrefix(msg, "flag needs an argument: "):
		name := strings.TrimLeft(strings.TrimPrefix(msg, "flag needs an argument: "), "-")
		return cmd + "flag " + dashed(name) + " needs a value"
	}
	// invalid value "X" for flag -name: ...: name the flag as help does.
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		rest := msg[i+len(" for flag -"):]
		if name, tail, ok := strings.Cut(rest, ": "); ok {
			msg = msg[:i] + " for flag " + dashed(name) + ": " + tail
		}
	}
	return cmd + msg
}

// longFlag matches an argument that is a long flag, such as --no-override:
// lower-case letters and digits in words joined by single dashes.
var longFlag = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^--[a-z0-9]+(-[a-z0-9]+)*$`) })

// looksLikeFlag reports whether arg may be echoed as the name of a flag.
func looksLikeFlag(arg string) bool { return len(arg) <= 40 && longFlag().MatchString(arg) }

// flagArgument returns the argument of args (before "--") that gave the
// flag name, without any "=value": "--versoin" for "versoin".
func flagArgument(args []string, name string) string {
	for _, a := range args {
		if a == "--" {
			break
		}
		flagPart, _, _ := strings.Cut(a, "=")
		if flagPart == "-"+name || flagPart == "--"+name {
			return flagPart
		}
	}
	return ""
}

// flagNames returns the names of fs's flags, -h and --help included.
func flagNames(fs *flag.FlagSet) []string {
	names := []string{"h", "help"}
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// dashed writes a flag name the way help shows it: -y, --project.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// suggest returns the candidate closest to typed within an edit distance of
// 2 (Damerau-Levenshtein: a swap of two neighbours counts as one edit), or
// the synonym of typed, or "". Very short words get no suggestion from a
// single-letter candidate.
func suggest(typed string, candidates []string, synonyms map[string]string) string {
	if s, ok := synonyms[typed]; ok {
		return s
	}
	best, bestDist := "", 3
	for _, c := range candidates {
		if len(c) < 2 {
			continue
		}
		d := editDistance(typed, c)
		if d < bestDist && d <= max(1, len(typed)/2) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// bytes each count 1.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
