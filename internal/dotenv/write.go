package dotenv

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Format is a flavour of dotenv output.
type Format string

// The formats WriteFormat writes. FormatDotenv is read back exactly by
// python-dotenv, Node's dotenv, godotenv and Parse, and is what "dotenv"
// means; the other formats are each exact for one peer only, for values
// that FormatDotenv cannot hold (Parse refuses much of what they write).
const (
	// FormatDotenv is the syntax Parse reads, on which all peers agree.
	// It cannot hold ${...}, nor some values with more than one of ',
	// a backslash, a CR, " and $NAME (see Quote).
	FormatDotenv Format = "dotenv"
	// FormatPython is exact for python-dotenv (dotenv_values,
	// load_dotenv): double quotes with \\, \" and \r escaped. It cannot
	// hold ${...} (python-dotenv expands it in every value), nor a value
	// ending with a backslash that cannot go unquoted.
	FormatPython Format = "dotenv-python"
	// FormatNode is exact for Node's dotenv (require('dotenv').config()):
	// whichever of ', " and ` the value does not contain, or no quotes. It
	// cannot hold a value with a CR and a ", nor one with all three quotes
	// or ending with a backslash that cannot go unquoted.
	FormatNode Format = "dotenv-node"
	// FormatGodotenv is exact for godotenv (godotenv.Load, godotenv.Read):
	// double quotes with \\, \", \$ and \r escaped. It cannot hold a value
	// ending with a backslash or a " that cannot go in single quotes or
	// unquoted.
	FormatGodotenv Format = "dotenv-godotenv"
)

// Formats returns every format, FormatDotenv first.
func Formats() []Format {
	return []Format{FormatDotenv, FormatPython, FormatNode, FormatGodotenv}
}

// Valid reports whether f is one of Formats.
func (f Format) Valid() bool {
	switch f {
	case FormatDotenv, FormatPython, FormatNode, FormatGodotenv:
		return true
	}
	return false
}

// reader names the programs that read format f exactly.
func (f Format) reader() string {
	switch f {
	case FormatPython:
		return "python-dotenv"
	case FormatNode:
		return "Node's dotenv"
	case FormatGodotenv:
		return "godotenv"
	}
	return "python-dotenv, Node's dotenv and godotenv"
}

// WriteError is returned by Write, WriteFormat and Quote for a value that
// the format cannot hold. It names the variables and the kind of characters
// that are the problem, never any part of a value.
type WriteError struct {
	// Format is the format asked for.
	Format Format
	// Name is the first (by name) variable that cannot be written, or ""
	// for Quote.
	Name string
	// Reason says which characters of the value the format cannot hold.
	Reason string
	// More lists the other variables that cannot be written, sorted.
	More []string
}

// Error implements error.
func (e *WriteError) Error() string {
	var b strings.Builder
	b.WriteString("dotenv: cannot write ")
	if e.Name != "" {
		fmt.Fprintf(&b, "variable %s", e.Name)
	} else {
		b.WriteString("the value")
	}
	fmt.Fprintf(&b, " so that %s read it back exactly: %s", e.Format.reader(), e.Reason)
	switch {
	case e.Format == FormatDotenv && e.Reason == whyBraceRef:
		fmt.Fprintf(&b, "; write it in the format %s or %s (each exact for that one parser; no quoting keeps it from python-dotenv), or as JSON", FormatNode, FormatGodotenv)
	case e.Format == FormatDotenv:
		fmt.Fprintf(&b, "; write it in the format %s, %s or %s (each exact for that one parser), or as JSON", FormatPython, FormatNode, FormatGodotenv)
	default:
		b.WriteString("; write it as JSON")
	}
	if len(e.More) > 0 {
		fmt.Fprintf(&b, " (%d more cannot be written either: %s)", len(e.More), strings.Join(e.More, ", "))
	}
	return b.String()
}

// Quote returns value as a FormatDotenv value: one that Parse,
// python-dotenv, Node's dotenv and godotenv all read back byte for byte.
// It prefers single quotes (so that the output can also be sourced by a
// POSIX shell), then double quotes (with \r for a carriage return), then no
// quotes. A value that none of these can hold for every peer is a
// *WriteError: one with ${...}, or for example one with ' (no single
// quotes), a backslash (no double quotes) and a line break (no bare value).
func Quote(value string) (string, error) {
	return QuoteFormat(value, FormatDotenv)
}

// QuoteFormat returns value quoted for format f, or a *WriteError when f
// cannot hold it. It panics if f is not Valid.
func QuoteFormat(value string, f Format) (string, error) {
	var q, reason string
	switch f {
	case FormatDotenv:
		q, reason = quoteCommon(value)
	case FormatPython:
		q, reason = quotePython(value)
	case FormatNode:
		q, reason = quoteNode(value)
	case FormatGodotenv:
		q, reason = quoteGodotenv(value)
	default:
		panic(fmt.Sprintf("dotenv: unknown format %q", string(f)))
	}
	if reason != "" {
		return "", &WriteError{Format: f, Reason: reason}
	}
	return q, nil
}

// ValidName reports whether name can be written as a dotenv variable name:
// letters, digits and underscores, not starting with a digit.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i], i == 0) {
			return false
		}
	}
	return true
}

// Write writes vars to w in FormatDotenv: one NAME=VALUE line per variable,
// sorted by name, each value quoted with Quote. Parse, python-dotenv,
// Node's dotenv and godotenv read the output back to the same names and
// values byte for byte. An invalid name, a value that is not UTF-8 or a
// value that Quote cannot hold is an error (naming variables only), and
// nothing is written.
func Write(w io.Writer, vars map[string]string) error {
	return WriteFormat(w, vars, FormatDotenv)
}

// WriteFormat is Write for format f; it panics if f is not Valid.
func WriteFormat(w io.Writer, vars map[string]string, f Format) error {
	if !f.Valid() {
		panic(fmt.Sprintf("dotenv: unknown format %q", string(f)))
	}
	names := make([]string, 0, len(vars))
	for name, value := range vars {
		if !ValidName(name) {
			return fmt.Errorf("dotenv: cannot write variable %q: a name must be letters, digits and underscores, not starting with a digit", strings.ToValidUTF8(name, "\uFFFD"))
		}
		if !utf8.ValidString(value) {
			return fmt.Errorf("dotenv: cannot write variable %s: its value is not valid UTF-8", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var b bytes.Buffer
	var refused *WriteError
	for _, name := range names {
		q, err := QuoteFormat(vars[name], f)
		if err != nil {
			if refused == nil {
				refused = err.(*WriteError)
				refused.Name = name
			} else {
				refused.More = append(refused.More, name)
			}
			continue
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(q)
		b.WriteByte('\n')
	}
	if refused != nil {
		return refused
	}
	_, err := w.Write(b.Bytes())
	return err
}

// firstOf returns the first non-empty string.
func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func when(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

// The reasons a value cannot be written in one quoting, each naming a kind
// of character, never the value.
const (
	whyBraceRef    = "it holds ${...}, which python-dotenv replaces with another variable's value in every kind of quotes"
	whySingleQuote = "a single quote"
	whyDoubleQuote = "a double quote"
	whyCR          = "a carriage return"
	whyBackslashes = "two backslashes in a row"
	whyEndBackslsh = "a backslash at the end"
	whyBackslash   = "a backslash"
	whyDollarRef   = "a $NAME reference that godotenv would expand"
	whyLineBreak   = "a line break"
	whyHash        = "a '#'"
	whyEndSpace    = "white space at its start or end"
	whyStartQuote  = "a quote or backtick at its start"
	whyEmpty       = "nothing"
	whyControl     = "a control character"
	whyEscDollar   = "a backslash before '$'"
	whyEscN        = "a backslash before n or r"
	whyBacktick    = "a backtick"
	whyCRLF        = "a CR followed by a line feed"
	whyHashSpace   = "a '#' after white space"
	whyLineSep     = "a line or paragraph separator (U+2028, U+2029)"
	whyDollar      = "a '$'"
	whyEndDQ       = "a trailing backslash or double quote"
)

// cannot says why no quoting can hold a value: kinds[i] (such as "single
// quotes") cannot hold a value with reasons[i].
func cannot(kinds, reasons []string) string {
	var b strings.Builder
	for i := range kinds {
		switch {
		case i == 0:
			fmt.Fprintf(&b, "%s cannot hold a value with %s", kinds[i], reasons[i])
		case i == len(kinds)-1:
			fmt.Fprintf(&b, ", and %s one with %s", kinds[i], reasons[i])
		default:
			fmt.Fprintf(&b, ", %s one with %s", kinds[i], reasons[i])
		}
	}
	return b.String()
}

// quoteCommon is FormatDotenv: the quoting Parse and every peer read alike.
func quoteCommon(v string) (string, string) {
	if hasBraceReference(v) {
		return "", whyBraceRef
	}
	single := firstOf(
		when(strings.Contains(v, "'"), whySingleQuote),
		when(strings.Contains(v, "\r"), whyCR),
		when(strings.HasSuffix(v, `\`), whyEndBackslsh),
		when(strings.Contains(v, `\\`), whyBackslashes),
	)
	if single == "" {
		return "'" + v + "'", ""
	}
	double := firstOf(
		when(strings.Contains(v, `"`), whyDoubleQuote),
		when(strings.Contains(v, `\`), whyBackslash),
		when(hasGodotenvReference(v), whyDollarRef),
	)
	if double == "" {
		return `"` + strings.ReplaceAll(v, "\r", `\r`) + `"`, ""
	}
	unquoted := firstOf(
		when(v == "", whyEmpty),
		when(strings.ContainsAny(v, "\n\r"), whyLineBreak),
		when(strings.Contains(v, "#"), whyHash),
		when(endsInSpace(v, isTrimSpace), whyEndSpace),
		when(strings.ContainsFunc(v, func(r rune) bool { return isControl(r) && r != '\t' }), whyControl),
		when(strings.ContainsAny(v[:min(1, len(v))], "'\"`"), whyStartQuote),
		when(strings.Contains(v, `\$`), whyEscDollar),
		when(hasGodotenvReference(v), whyDollarRef),
	)
	if unquoted == "" {
		return v, ""
	}
	return "", cannot([]string{"single quotes", "double quotes", "no quotes"}, []string{single, double, unquoted})
}

// quotePython is FormatPython: double quotes with \\, \" and \r escaped,
// or for a value ending with a backslash (which python-dotenv's pattern
// for a quoted value would read as an escaped closing quote) no quotes.
func quotePython(v string) (string, string) {
	if hasBraceReference(v) {
		return "", whyBraceRef
	}
	if !strings.HasSuffix(v, `\`) {
		var b strings.Builder
		b.Grow(len(v) + 8)
		b.WriteByte('"')
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\', '"':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
		return b.String(), ""
	}
	unquoted := firstOf(
		when(strings.ContainsAny(v, "\n\r"), whyLineBreak),
		when(endsInSpace(v, isPythonSpace), whyEndSpace),
		when(hashAfterSpace(v, isPythonSpace), whyHashSpace),
		when(strings.ContainsAny(v[:1], `'"`), whyStartQuote),
	)
	if unquoted == "" {
		return v, ""
	}
	return "", cannot([]string{"quotes", "no quotes"}, []string{whyEndBackslsh + " (python-dotenv reads \\\" as an escaped quote)", unquoted})
}

// quoteNode is FormatNode: Node's dotenv has no escapes but \n and \r in
// double quotes, so the value goes in whichever of ', " and ` it does not
// contain, or unquoted.
func quoteNode(v string) (string, string) {
	endBackslash := strings.HasSuffix(v, `\`)
	single := firstOf(
		when(strings.Contains(v, "'"), whySingleQuote),
		when(strings.Contains(v, "\r"), whyCR),
		when(endBackslash, whyEndBackslsh),
	)
	if single == "" {
		return "'" + v + "'", ""
	}
	double := firstOf(
		when(strings.Contains(v, `"`), whyDoubleQuote),
		when(endBackslash, whyEndBackslsh),
		when(strings.Contains(v, `\n`) || strings.Contains(v, `\r`), whyEscN),
	)
	if double == "" {
		return `"` + strings.ReplaceAll(v, "\r", `\r`) + `"`, ""
	}
	backtick := firstOf(
		when(strings.Contains(v, "`"), whyBacktick),
		when(strings.Contains(v, "\r"), whyCR),
		when(endBackslash, whyEndBackslsh),
	)
	if backtick == "" {
		return "`" + v + "`", ""
	}
	unquoted := firstOf(
		when(v == "", whyEmpty),
		when(strings.ContainsAny(v, "\n\r"), whyLineBreak),
		when(strings.Contains(v, "#"), whyHash),
		when(endsInSpace(v, isTrimSpace), whyEndSpace),
		when(strings.ContainsFunc(v, isLineSeparator), whyLineSep),
		when(strings.ContainsAny(v[:min(1, len(v))], "'\"`"), whyStartQuote),
	)
	if unquoted == "" {
		return v, ""
	}
	return "", cannot([]string{"single quotes", "double quotes", "backticks", "no quotes"}, []string{single, double, backtick, unquoted})
}

// quoteGodotenv is FormatGodotenv: double quotes with \\, \", \$ and \r
// escaped, unless the value ends with a backslash or a double quote (which
// godotenv would take for, or trim as, the closing quote); then single
// quotes or no quotes.
func quoteGodotenv(v string) (string, string) {
	if !strings.HasSuffix(v, `\`) && !strings.HasSuffix(v, `"`) {
		var b strings.Builder
		b.Grow(len(v) + 8)
		b.WriteByte('"')
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '\\', '"', '$':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
		return b.String(), ""
	}
	single := firstOf(
		when(strings.Contains(v, "'"), whySingleQuote),
		when(strings.Contains(v, "\r\n"), whyCRLF),
		when(strings.HasSuffix(v, `\`), whyEndBackslsh),
	)
	if single == "" {
		return "'" + v + "'", ""
	}
	unquoted := firstOf(
		when(strings.ContainsAny(v, "\n\r"), whyLineBreak),
		when(strings.Contains(v, "$"), whyDollar),
		when(hashAfterSpace(v, isGodotenvSpace), whyHashSpace),
		when(endsInSpace(v, isGodotenvSpace), whyEndSpace),
		when(strings.ContainsAny(v[:1], `'"`), whyStartQuote),
	)
	if unquoted == "" {
		return v, ""
	}
	return "", cannot([]string{"double quotes", "single quotes", "no quotes"}, []string{whyEndDQ, single, unquoted})
}
