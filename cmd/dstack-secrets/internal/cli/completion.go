package cli

import (
	"context"
	"flag"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/dstackai/dstack-secrets/internal/envfmt"
	"github.com/dstackai/dstack-secrets/secrets"
)

// completeCommand is the hidden command that the completion scripts call:
// "dstack-secrets __complete WORD... CURRENT" prints what CURRENT may
// become (see complete). It is not listed in the help.
const completeCommand = "__complete"

// completeTimeout bounds how long completion waits for a store (a Vault
// server, a keychain daemon): a slow backend gives no secret names rather
// than a hung shell.
const completeTimeout = 3 * time.Second

// Completion modes: the first line that __complete prints tells the script
// what to offer.
const (
	modeWords    = "words"    // the lines that follow
	modeFiles    = "files"    // the shell's file names
	modeDirs     = "dirs"     // the shell's directory names
	modeCommands = "commands" // the shell's command names (run COMMAND)
)

// maskFormats are the values of --mask-format (run, redact).
var maskFormats = []string{"stars", "name"}

// shells are the shells "completion" writes a script for.
var shells = []string{"bash", "zsh", "fish"}

func (a *app) completionCommand() *ffcli.Command {
	fs := a.newFlagSet("completion")
	return &ffcli.Command{
		Name:       "completion",
		ShortUsage: "dstack-secrets completion [-h] bash|zsh|fish",
		ShortHelp:  "Print a shell completion script (bash, zsh, fish)",
		LongHelp: `Prints the completion script of a shell. It completes commands, flags,
project names (from the configuration file) and, for get, delete and copy,
the names of the secrets of the current repository; values are never read.

  bash  add to ~/.bashrc:  source <(dstack-secrets completion bash)
  zsh   add to ~/.zshrc, after compinit:
          source <(dstack-secrets completion zsh)
        or save it as _dstack-secrets in a directory of $fpath
  fish  dstack-secrets completion fish \
          > ~/.config/fish/completions/dstack-secrets.fish

The scripts call dstack-secrets to list names, so they follow the --project,
--config and --repo given on the command line being completed. Listing gives
up after a few seconds, and never asks for a passphrase or password.

Positional Arguments:
  SHELL              bash, zsh or fish`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			pos, err := a.positional(fs, args, 1, 1, "SHELL (bash, zsh or fish)")
			if err != nil {
				return err
			}
			script, ok := completionScripts[pos[0]]
			if !ok {
				return commandUsageError("completion", "unknown shell %q (shells: %s)", pos[0], strings.Join(shells, ", "))
			}
			_, err = io.WriteString(a.Stdout, script)
			return err
		},
	}
}

// complete prints the completions of the last of words, the command line
// after the program name up to the cursor (the last word is the one being
// completed, "" after a space). The first line is the mode; in modeWords
// the candidates follow, one per line, already filtered by the word's
// prefix. Nothing goes to stderr, nothing is asked, and no value is ever
// read: secret names come from List. The exit code is always 0.
func (a *app) complete(ctx context.Context, words []string) int {
	a.Stderr = io.Discard
	a.Stdin = strings.NewReader("")
	a.completing = true
	a.env.Prompt = nil
	mode, cands := a.completions(ctx, words)
	var b strings.Builder
	b.WriteString(mode + "\n")
	for _, c := range cands {
		b.WriteString(c + "\n")
	}
	_, _ = io.WriteString(a.Stdout, b.String())
	return ExitOK
}

// completions computes what complete prints.
func (a *app) completions(ctx context.Context, words []string) (mode string, cands []string) {
	if len(words) == 0 {
		words = []string{""}
	}
	var showVersion bool
	root, cmds := a.commandTree(&showVersion, "")
	visible := commandList(cmds)
	var (
		cmd      *ffcli.Command
		fs       = root.FlagSet
		pos      []string
		expect   *flag.Flag // the flag whose value comes next
		dashdash bool       // "--" ended the flags
	)
	for _, w := range words[:len(words)-1] {
		switch {
		case expect != nil:
			_ = expect.Value.Set(w)
			expect = nil
		case !dashdash && w == "--":
			dashdash = true
		case !dashdash && len(w) > 1 && w[0] == '-':
			name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			f := fs.Lookup(name)
			switch {
			case f == nil || isBoolFlag(f):
			case hasValue:
				_ = f.Value.Set(value)
			default:
				expect = f
			}
		case cmd == nil:
			if cmd = findCommand(cmds, w); cmd == nil {
				return modeWords, nil
			}
			fs = cmd.FlagSet
			dashdash = false
		default:
			pos = append(pos, w)
			if cmd.Name == "run" {
				// run's flags end at COMMAND; what follows is COMMAND's.
				return modeFiles, nil
			}
		}
	}
	// The shell passes the words as typed: a path given as ~/... was not
	// expanded, as it is when the command runs.
	for _, p := range []*string{&a.configPath, &a.repo} {
		if strings.HasPrefix(*p, "~/") {
			if expanded, err := secrets.ExpandHome(a.env, *p); err == nil {
				*p = expanded
			}
		}
	}
	cur := words[len(words)-1]
	if expect != nil {
		return a.flagValues(ctx, cmd, expect.Name, "", cur)
	}
	if !dashdash && strings.HasPrefix(cur, "-") {
		if name, value, ok := strings.Cut(strings.TrimLeft(cur, "-"), "="); ok && strings.HasPrefix(cur, "--") {
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) {
				return a.flagValues(ctx, cmd, name, "--"+name+"=", value)
			}
			return modeWords, nil
		}
		var flags []string
		for _, n := range flagNames(fs) {
			flags = append(flags, dashed(n))
		}
		return modeWords, withPrefix(flags, cur, "")
	}
	if cmd == nil {
		return modeWords, withPrefix(visible, cur, "")
	}
	switch cmd.Name {
	case "get":
		if len(pos) == 0 {
			return modeWords, withPrefix(a.secretNames(ctx), cur, "")
		}
	case "delete":
		return modeWords, withPrefix(slices.DeleteFunc(a.secretNames(ctx), func(n string) bool { return slices.Contains(pos, n) }), cur, "")
	case "copy":
		if from := cmd.FlagSet.Lookup("from-project").Value.String(); from != "" {
			a.project = from
		}
		return modeWords, withPrefix(slices.DeleteFunc(a.secretNames(ctx), func(n string) bool { return slices.Contains(pos, n) }), cur, "")
	case "help":
		if len(pos) == 0 {
			return modeWords, withPrefix(visible, cur, "")
		}
	case "completion":
		if len(pos) == 0 {
			return modeWords, withPrefix(shells, cur, "")
		}
	case "key":
		if len(pos) == 0 {
			return modeWords, withPrefix(keyActions, cur, "")
		}
		return modeFiles, nil
	case "share":
		if len(pos) == 0 {
			return modeWords, withPrefix([]string{"list", "add", "remove"}, cur, "")
		}
	case "run":
		return modeCommands, nil
	case "import", "render", "redact":
		if len(pos) == 0 {
			return modeFiles, nil
		}
	}
	return modeWords, nil
}

// flagValues completes the value of the flag name of cmd (nil: the root);
// prefix ("--project=") is put before each candidate.
func (a *app) flagValues(ctx context.Context, cmd *ffcli.Command, name, prefix, cur string) (string, []string) {
	switch name {
	case "project", "to-project", "from-project":
		cfg, err := secrets.LoadConfigFor(a.env, a.configPath)
		if err != nil {
			return modeWords, nil
		}
		var projects []string
		for p := range cfg.Projects {
			projects = append(projects, p)
		}
		sort.Strings(projects)
		return modeWords, withPrefix(projects, cur, prefix)
	case "config", "o", "output":
		return modeFiles, nil
	case "repo":
		return modeDirs, nil
	case "from-repo", "to-repo":
		return modeWords, withPrefix(a.repositoryNames(ctx), cur, prefix)
	case "mask-format":
		return modeWords, withPrefix(maskFormats, cur, prefix)
	case "format":
		if cmd != nil && cmd.Name == "import" {
			return modeWords, withPrefix(envfmt.Builtin().ReadableNames(), cur, prefix)
		}
		return modeWords, withPrefix(envfmt.Builtin().Names(), cur, prefix)
	}
	return modeWords, nil
}

// secretNames lists the names of the secrets that the global flags select,
// or none when the store cannot be opened in completeTimeout without
// asking anything.
func (a *app) secretNames(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	var names []string
	_ = a.withStore(ctx, func(store secrets.Store, _ secrets.Resolved) error {
		var err error
		names, err = store.List(ctx)
		return err
	})
	return names
}

// withPrefix returns the candidates that start with cur, each with prefix
// put before it.
func withPrefix(candidates []string, cur, prefix string) []string {
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, cur) {
			out = append(out, prefix+c)
		}
	}
	return out
}

// isBoolFlag reports whether f takes no value (-y).
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// completionScripts are the scripts "completion SHELL" prints. Each passes
// the words up to the cursor to "dstack-secrets __complete" and offers
// what it prints: the candidate words, or the shell's own completion of
// file, directory or command names.
var completionScripts = map[string]string{
	"bash": bashCompletion,
	"zsh":  zshCompletion,
	"fish": fishCompletion,
}

// bashCompletion works without the bash-completion package. Bash splits
// "--project=dev" into "--project", "=" and "dev" (COMP_WORDBREAKS), so
// the script joins them back for dstack-secrets and then drops from each
// candidate what bash will not replace.
const bashCompletion = `# bash completion for dstack-secrets. Load it with
#   source <(dstack-secrets completion bash)
# (in ~/.bashrc), or save it as
#   ~/.local/share/bash-completion/completions/dstack-secrets
_dstack_secrets() {
    local cur=${COMP_WORDS[COMP_CWORD]} i w n joining=0
    # Right after "--flag=", COMP_WORDS ends with "=" but readline
    # completes the empty word after it.
    [[ $cur == "=" ]] && cur=
    local -a words=()
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        n=${#words[@]}
        if ((n > 0)) && [[ $w == "=" && ${words[n-1]} == --* && ${words[n-1]} != *=* ]]; then
            words[n-1]+="="
            joining=1
        elif ((joining)); then
            words[n-1]+=$w
            joining=0
        else
            words+=("$w")
        fi
    done
    local out
    out=$("${COMP_WORDS[0]}" __complete "${words[@]}" 2>/dev/null) || return 0
    local mode=${out%%$'\n'*} line
    local word=${words[${#words[@]}-1]}
    local strip=$((${#word} - ${#cur})) prefix=
    ((strip < 0)) && strip=0
    [[ $word == --*=* ]] && prefix=${word%%=*}=
    COMPREPLY=()
    case $mode in
    words)
        while IFS= read -r line; do
            [[ -n $line ]] && COMPREPLY+=("${line:strip}")
        done <<<"${out#*$'\n'}"
        ;;
    files | dirs)
        local flag=-f
        [[ $mode == dirs ]] && flag=-d
        while IFS= read -r line; do
            [[ -n $line ]] && COMPREPLY+=("${prefix}${line}")
        done < <(compgen $flag -- "${word#"$prefix"}")
        for i in "${!COMPREPLY[@]}"; do
            COMPREPLY[i]=${COMPREPLY[i]:strip}
        done
        [[ -z $prefix ]] && compopt -o filenames 2>/dev/null
        ;;
    commands)
        while IFS= read -r line; do
            [[ -n $line ]] && COMPREPLY+=("$line")
        done < <(compgen -c -- "$cur")
        ;;
    esac
    return 0
}
complete -F _dstack_secrets dstack-secrets
`

// zshCompletion works sourced after compinit or autoloaded from $fpath.
const zshCompletion = `#compdef dstack-secrets
# zsh completion for dstack-secrets. Load it with
#   source <(dstack-secrets completion zsh)
# in ~/.zshrc after compinit, or save it as _dstack-secrets in a directory
# of $fpath.
_dstack-secrets() {
  local -a args lines
  local out mode cur
  args=("${(@Q)words[2,CURRENT]}")
  out=$("${words[1]}" __complete "${args[@]}" 2>/dev/null) || return 1
  lines=("${(@f)out}")
  mode=${lines[1]}
  cur=${args[-1]}
  case $mode in
  words)
    (( ${#lines} > 1 )) || return 1
    compadd -- "${(@)lines[2,-1]}"
    ;;
  files)
    [[ $cur == --*=* ]] && compset -P '*='
    _files
    ;;
  dirs)
    [[ $cur == --*=* ]] && compset -P '*='
    _files -/
    ;;
  commands)
    _command_names -e
    ;;
  esac
}
if [[ ${funcstack[1]} == _dstack-secrets ]]; then
  _dstack-secrets "$@"
else
  compdef _dstack-secrets dstack-secrets
fi
`

// fishCompletion is loaded from fish's completions directory.
const fishCompletion = `# fish completion for dstack-secrets. Install it with
#   dstack-secrets completion fish > ~/.config/fish/completions/dstack-secrets.fish
function __dstack_secrets_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l prog $tokens[1]
    set -e tokens[1]
    set -l out ($prog __complete $tokens $cur 2>/dev/null)
    or return
    set -l prefix (string match -r -- '^--[^=]*=' $cur)
    set -l path (string replace -r -- '^--[^=]*=' '' $cur)
    switch "$out[1]"
        case words
            set -e out[1]
            printf '%s\n' $out
        case files
            for p in (__fish_complete_path $path)
                printf '%s%s\n' "$prefix" $p
            end
        case dirs
            for p in (__fish_complete_directories $path)
                printf '%s%s\n' "$prefix" $p
            end
        case commands
            __fish_complete_command
    end
end
complete -c dstack-secrets -f -a '(__dstack_secrets_complete)'
`
