package cli

import (
	"context"
	"flag"
	"fmt"
	"reflect"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// helpWidth is the width help text is wrapped to: lines end before the
// last column of an 80-column terminal.
const helpWidth = 79

// usage is the ffcli UsageFunc of every command: "Usage:" and ShortUsage,
// LongHelp, the subcommands with their ShortHelp (for the root), the
// command's own flags, the global flags, and for the root the environment
// variables. Flags are described by
// their usage strings in the FlagSet; flags that share a variable (-y and
// --yes) share a line.
func (a *app) usage(c *ffcli.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n", c.ShortUsage)
	if c.LongHelp != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(c.LongHelp))
	}
	globals := (&app{}).newFlagSet("globals") // not a's: defining resets the variables
	own := flagRows(c.FlagSet, func(f *flag.Flag) bool { return globals.Lookup(f.Name) == nil })
	global := flagRows(globals, func(*flag.Flag) bool { return true })
	own = append([]helpRow{{"-h, --help", "Show this help message and exit"}}, own...)
	width := 17
	for _, r := range append(own, global...) {
		width = max(width, len(r.label))
	}
	if len(c.Subcommands) > 0 {
		b.WriteString("\nCommands:\n")
		for _, s := range c.Subcommands {
			fmt.Fprintf(&b, "  %-11s %s\n", s.Name, s.ShortHelp)
		}
	}
	b.WriteString("\nOptional Arguments:\n")
	writeRows(&b, own, width)
	b.WriteString("\nGlobal Arguments (accepted before or after the command):\n")
	writeRows(&b, global, width)
	if len(c.Subcommands) > 0 {
		env := environmentRows()
		envWidth := 0
		for _, r := range env {
			envWidth = max(envWidth, len(r.label))
		}
		b.WriteString("\nEnvironment (a flag wins over its variable, which wins over the\nconfiguration file):\n")
		writeRows(&b, env, envWidth)
		b.WriteString("\nRun 'dstack-secrets help COMMAND' or 'dstack-secrets COMMAND -h' for the\narguments of a command.\n")
	}
	return b.String()
}

// environmentRows describes the environment variables that dstack-secrets
// and its backends read, for the root help.
func environmentRows() []helpRow {
	return []helpRow{
		{secrets.ConfigEnvVar, "The configuration file, as --config"},
		{projectEnvVar, "The project, as --project"},
		{repoEnvVar, "The repository, as --repo"},
		{file.PassphraseEnvVar, "The passphrase of a file project with passphrase: true (else it is asked for at a terminal)"},
		{file.PassphraseFDEnvVar, "A file descriptor (3 or more) to read that passphrase from instead, as with 3<file"},
		{keyringPasswordEnvVar, "The password of the keyring backend's encrypted-file keychain"},
		{vaultRoleIDEnvVar, "The AppRole role id (vault backend, auth: approle)"},
		{vaultSecretIDEnvVar, "The AppRole secret id (vault backend, auth: approle)"},
		// cloud.SSHPassphraseEnvVar, written out: the CLI does not link the
		// cloud backend's SDKs.
		{"DSTACK_SECRETS_SSH_PASSPHRASE", "The passphrase of an encrypted SSH key used as the cloud backend's identity"},
		{"VAULT_ADDR, VAULT_TOKEN", "The Vault server and token, as for the vault CLI; also VAULT_NAMESPACE, VAULT_CACERT and the other VAULT_* variables"},
	}
}

func (a *app) helpCommand() *ffcli.Command {
	fs := a.newFlagSet("help")
	return &ffcli.Command{
		Name:       "help",
		ShortUsage: "dstack-secrets help [-h] [COMMAND]",
		ShortHelp:  "Show the help of a command (same as COMMAND -h)",
		LongHelp: `Shows the help of COMMAND, the same text as 'dstack-secrets COMMAND -h';
without COMMAND, the list of commands ('dstack-secrets -h').

Positional Arguments:
  COMMAND            The command to describe`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 0, 1, "[COMMAND]")
			if err != nil {
				return err
			}
			c := a.root
			if len(pos) == 1 {
				if c = findCommand(a.cmds, pos[0]); c == nil {
					return unknownCommand(pos[0], a.cmds)
				}
			}
			_, err = fmt.Fprint(a.Stdout, a.usage(c))
			return err
		},
	}
}

// helpRow is one described flag.
type helpRow struct {
	label string // "-y, --yes", "--format FORMAT"
	text  string
}

// flagRows describes the flags of fs that keep accepts, in name order,
// one row per variable: names bound to the same variable are aliases.
func flagRows(fs *flag.FlagSet, keep func(*flag.Flag) bool) []helpRow {
	var rows []helpRow
	index := map[uintptr]int{} // variable address -> row
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f) {
			return
		}
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if v := reflect.ValueOf(f.Value); v.Kind() == reflect.Pointer {
			if i, ok := index[v.Pointer()]; ok {
				rows[i].label = joinAliases(rows[i].label, name)
				return
			}
			index[v.Pointer()] = len(rows)
		}
		arg, text := argName(f)
		if arg != "" {
			name += " " + arg
		}
		rows = append(rows, helpRow{label: name, text: text})
	})
	return rows
}

// joinAliases adds name to a label of aliases, short names first.
func joinAliases(label, name string) string {
	if strings.HasPrefix(name, "--") {
		return label + ", " + name
	}
	return name + ", " + label
}

// argName returns the name of f's argument for help, "" for a yes/no flag,
// and f's usage text: the back-quoted word of the usage string, as in
// package flag, else the last word of the flag's name in capitals
// (--to-project PROJECT).
func argName(f *flag.Flag) (arg, text string) {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return "", f.Usage
	}
	if strings.Contains(f.Usage, "`") {
		return flag.UnquoteUsage(f)
	}
	words := strings.Split(f.Name, "-")
	return strings.ToUpper(words[len(words)-1]), f.Usage
}

// writeRows writes rows as a two-column list: labels padded to width, the
// texts wrapped to helpWidth with a hanging indent.
func writeRows(b *strings.Builder, rows []helpRow, width int) {
	indent := strings.Repeat(" ", width+4)
	for _, r := range rows {
		for i, line := range wrap(r.text, helpWidth-len(indent)) {
			if i == 0 {
				fmt.Fprintf(b, "  %-*s  %s\n", width, r.label, line)
			} else {
				fmt.Fprintf(b, "%s%s\n", indent, line)
			}
		}
	}
}

// wrap splits text into lines of at most width bytes, breaking at spaces
// (a longer word gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	return append(lines, line)
}
