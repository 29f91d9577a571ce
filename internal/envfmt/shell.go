package envfmt

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Shell is a script of "export NAME='value'" lines for eval (or source) in
// any POSIX shell: sh, bash, dash, ksh and zsh. Each value is single-quoted,
// so no character of it is special (not $, `, \, !, newlines, carriage
// returns or any other byte); a single quote inside the value is written as
// '\” (close the quotes, an escaped quote, reopen).
//
// The writer refuses, naming the variable, a NUL byte (no shell variable
// holds one) and the names in ShellReservedNames: variables that bash, dash
// or zsh compute, keep read-only, keep as integers or tie to an array, so
// that "export NAME=..." does not set the value as written (UID, RANDOM,
// SECONDS, OPTIND, zsh's path and status, ...).
//
// The reader reads back exactly what the writer writes (export lines whose
// value is made of '...' and \' pieces, blank lines and '#' comment lines);
// it is no shell interpreter, and anything else is an error.
func Shell() Format {
	return Format{
		Name:    "shell",
		Summary: "export NAME='value' lines for eval or source in sh, bash, dash or zsh",
		Write:   writeShell,
		Read:    readShell,
	}
}

// ShellReservedNames are the names the shell format refuses: exporting
// them with an arbitrary value in bash 5, dash or zsh 5 either fails (a
// read-only variable), leaves another value (a computed or integer
// variable), or does not reach child processes (an array). The list was
// found by exporting a test value under every special parameter those
// shells report; TestShellReservedNamesComplete checks it against the
// installed shells.
var ShellReservedNames = []string{
	"ARGC", "BASHOPTS", "BASHPID", "BASH_ALIASES", "BASH_ARGC", "BASH_ARGV",
	"BASH_CMDS", "BASH_COMMAND", "BASH_LINENO", "BASH_SOURCE", "BASH_SUBSHELL",
	"BASH_VERSINFO", "COLUMNS", "DIRSTACK", "EGID", "EPOCHREALTIME",
	"EPOCHSECONDS", "EUID", "FUNCNAME", "FUNCNEST", "GID", "GROUPS",
	"HISTCHARS", "HISTCMD", "HISTSIZE", "KEYBOARD_HACK", "KEYTIMEOUT",
	"LINENO", "LINES", "LISTMAX", "MAILCHECK", "OPTIND", "PIPESTATUS", "PPID", "RANDOM",
	"SAVEHIST", "SECONDS", "SHELLOPTS", "SHLVL", "SRANDOM", "TRY_BLOCK_ERROR",
	"TRY_BLOCK_INTERRUPT", "TTYIDLE", "UID", "USERNAME", "WATCH",
	"ZLE_RPROMPT_INDENT", "ZSH_EVAL_CONTEXT", "ZSH_SUBSHELL", "_",
	"aliases", "argv", "builtins", "cdpath", "commands", "dirstack",
	"dis_aliases", "dis_builtins", "dis_functions", "dis_functions_source",
	"dis_galiases", "dis_patchars", "dis_reswords", "dis_saliases", "fignore",
	"fpath", "funcfiletrace", "funcsourcetrace", "funcstack", "functions",
	"functions_source", "functrace", "galiases", "histchars", "history",
	"historywords", "jobdirs", "jobstates", "jobtexts", "keymaps", "mailpath",
	"manpath", "module_path", "modules", "nameddirs", "options", "parameters",
	"patchars", "path", "pipestatus", "psvar", "reswords", "saliases",
	"status", "termcap", "terminfo", "userdirs", "usergroups", "watch",
	"widgets", "zsh_eval_context", "zsh_scheduled_events",
}

// ShellQuote returns value as one shell word that every POSIX shell reads
// as exactly value: single-quoted pieces joined by \' for each single
// quote. The empty value is ”.
func ShellQuote(value string) string {
	if value == "" {
		return "''"
	}
	var b strings.Builder
	b.Grow(len(value) + 2)
	for i, piece := range strings.Split(value, "'") {
		if i > 0 {
			b.WriteString(`\'`)
		}
		if piece != "" {
			b.WriteByte('\'')
			b.WriteString(piece)
			b.WriteByte('\'')
		}
	}
	return b.String()
}

func writeShell(w io.Writer, vars map[string]string, _ Options) error {
	names, err := sortedChecked("shell", vars, true)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, name := range names {
		if slices.Contains(ShellReservedNames, name) {
			return &Error{Format: "shell", Name: name, Msg: "bash, dash or zsh reserve this name (a read-only, computed or integer shell variable), so export would not set it as written; rename the secret or use --format dotenv"}
		}
		b.WriteString("export ")
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(ShellQuote(vars[name]))
		b.WriteByte('\n')
	}
	return writeAll(w, &b)
}

func readShell(data []byte) (map[string]string, error) {
	if !utf8.Valid(data) {
		line, _ := lineCol(data, invalidUTF8Offset(data))
		return nil, &Error{Format: "shell", Line: line, Msg: "not valid UTF-8 text; save the file as UTF-8"}
	}
	s := string(data)
	vars := map[string]string{}
	seen := map[string]int{}
	line := 1
	pos := 0
	errorf := func(name, msg string) error {
		return &Error{Format: "shell", Line: line, Name: name, Msg: msg}
	}
	const msgForm = "expected export NAME='value' (the form dstack-secrets export --format shell writes); read hand-written files with --format dotenv"
	for pos < len(s) {
		end := strings.IndexByte(s[pos:], '\n')
		if end < 0 {
			end = len(s) - pos
		}
		text := strings.TrimSpace(s[pos : pos+end])
		if text == "" || text[0] == '#' {
			pos += end + 1
			line++
			continue
		}
		rest, ok := strings.CutPrefix(s[pos:], "export ")
		if !ok {
			return nil, errorf("", msgForm)
		}
		pos += len("export ")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 || !ValidName(rest[:eq]) {
			return nil, errorf("", msgForm)
		}
		name := rest[:eq]
		pos += eq + 1
		start := line
		var v strings.Builder
		for pos < len(s) && s[pos] != '\n' {
			switch {
			case s[pos] == '\'':
				close := strings.IndexByte(s[pos+1:], '\'')
				if close < 0 {
					line = start
					return nil, errorf(name, "the single-quoted value is not closed; add the closing '")
				}
				piece := s[pos+1 : pos+1+close]
				line += strings.Count(piece, "\n")
				v.WriteString(piece)
				pos += close + 2
			case strings.HasPrefix(s[pos:], `\'`):
				v.WriteByte('\'')
				pos += 2
			default:
				return nil, errorf(name, "unexpected text in the value; a value is made of '...' pieces and \\' for a single quote")
			}
		}
		if pos < len(s) {
			pos++ // '\n'
		}
		if prev, dup := seen[name]; dup {
			return nil, &Error{Format: "shell", Line: start, Name: name, Msg: fmt.Sprintf("assigned more than once (also on line %d); keep one of the lines", prev)}
		}
		seen[name] = start
		vars[name] = v.String()
		line++
	}
	return vars, nil
}

// invalidUTF8Offset returns the offset of the first byte of data that is
// not part of valid UTF-8.
func invalidUTF8Offset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(data)
}
