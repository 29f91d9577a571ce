// Package dotenv reads and writes the dotenv files of "dstack-secrets import"
// and "dstack-secrets export": one NAME=VALUE assignment per line.
//
// The accepted syntax is deliberately strict, because a secrets import must
// be all or nothing and must never guess:
//
//   - Lines end with LF or CRLF (CRLF is read as LF everywhere, also inside
//     quoted values); the last line may lack a line ending. A UTF-8 byte
//     order mark at the start is ignored. The document must be UTF-8.
//   - Blank lines and lines whose first non-blank character is '#' are
//     ignored.
//   - An assignment is [export ]NAME=VALUE, with optional spaces or tabs
//     around NAME and after '='. NAME is letters, digits and underscores,
//     not starting with a digit. A name may be assigned only once.
//   - An unquoted VALUE runs to the end of the line; spaces and tabs around
//     it are removed, and a '#' preceded by a space or tab starts a comment.
//     It may not contain control characters other than tab.
//   - A single-quoted VALUE ('...') is taken literally, may span lines and
//     cannot contain a single quote.
//   - A double-quoted VALUE ("...") may span lines and understands the
//     escapes \n \r \t \\ \" \' \$ and \`; any other backslash sequence is an
//     error rather than a guess.
//   - After a closing quote only spaces, tabs and a '#' comment may follow.
//   - Nothing is expanded: "$HOME" is the five characters $HOME.
//
// Errors are *Error values naming the line (and the variable, once its name
// has been read), never any part of a value: a dotenv file holds secrets.
package dotenv

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Entry is one NAME=VALUE assignment of a dotenv document.
type Entry struct {
	// Name is the variable name.
	Name string
	// Value is the decoded value (quotes removed, escapes applied).
	Value string
	// Line is the 1-based line on which the assignment starts.
	Line int
}

// Error is a syntax error in a dotenv document. Its message holds the line
// number, the variable name when one was read, and a description of the
// problem with its fix; it never holds any part of a value.
type Error struct {
	// Line is the 1-based line of the problem.
	Line int
	// Name is the variable being read, or "" when no valid name had been
	// read yet (the text may then be a value, so it is not quoted).
	Name string
	// Msg describes the problem and how to fix it.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Name != "" {
		return fmt.Sprintf("line %d: %s: %s", e.Line, e.Name, e.Msg)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
}

// Problem descriptions; each Error.Msg is one of these, so that no message
// can carry text from the document other than a name.
const (
	msgNotUTF8       = "not valid UTF-8 text; save the file as UTF-8"
	msgBadName       = "expected NAME=VALUE with a name of letters, digits and underscores that does not start with a digit"
	msgNoEquals      = "expected '=' after the name (NAME=VALUE)"
	msgDuplicate     = "assigned more than once (also on line %d); keep one of the assignments"
	msgUnclosedSQ    = "the single-quoted value is not closed; add the closing ' (a single-quoted value cannot contain ')"
	msgUnclosedDQ    = "the double-quoted value is not closed; add the closing \" (write \\\" for a quote inside the value)"
	msgBadEscape     = "unknown escape sequence in the double-quoted value; valid escapes are \\n \\r \\t \\\\ \\\" \\' \\$ \\` (write \\\\ for a backslash)"
	msgAfterQuote    = "unexpected text after the closing quote; only a # comment may follow a quoted value"
	msgControlChar   = "the unquoted value contains a control character; put the value in double quotes and use an escape such as \\r"
	msgExportNoValue = "'export NAME' without a value; write export NAME=VALUE"
)

// Parse parses a dotenv document into its assignments, in document order.
// It either returns every assignment or an *Error and no assignments.
func Parse(data []byte) ([]Entry, error) {
	p := parser{line: 1}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, &Error{Line: invalidUTF8Line(data), Msg: msgNotUTF8}
	}
	p.s = strings.ReplaceAll(string(data), "\r\n", "\n")
	return p.parse()
}

func invalidUTF8Line(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}

type parser struct {
	s    string
	pos  int
	line int
}

func (p *parser) errorf(name, msg string) error {
	return &Error{Line: p.line, Name: name, Msg: msg}
}

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) atEnd() bool { return p.pos >= len(p.s) }

func (p *parser) skipBlanks() {
	for !p.atEnd() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// skipRestOfLine skips a comment up to (not including) the line end.
func (p *parser) skipRestOfLine() {
	if i := strings.IndexByte(p.s[p.pos:], '\n'); i >= 0 {
		p.pos += i
	} else {
		p.pos = len(p.s)
	}
}

// endLine consumes the line end at the current position, if any.
func (p *parser) endLine() {
	if p.peek() == '\n' {
		p.pos++
		p.line++
	}
}

func (p *parser) parse() ([]Entry, error) {
	var entries []Entry
	seen := map[string]int{}
	for !p.atEnd() {
		p.skipBlanks()
		switch p.peek() {
		case 0:
			if p.atEnd() {
				continue
			}
		case '\n':
			p.endLine()
			continue
		case '#':
			p.skipRestOfLine()
			p.endLine()
			continue
		}
		e, err := p.assignment()
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[e.Name]; dup {
			return nil, &Error{Line: e.Line, Name: e.Name, Msg: fmt.Sprintf(msgDuplicate, prev)}
		}
		seen[e.Name] = e.Line
		entries = append(entries, e)
	}
	return entries, nil
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || !first && '0' <= c && c <= '9'
}

// word reads a run of name bytes.
func (p *parser) word() string {
	start := p.pos
	for !p.atEnd() && isNameByte(p.s[p.pos], false) {
		p.pos++
	}
	return p.s[start:p.pos]
}

func (p *parser) assignment() (Entry, error) {
	e := Entry{Line: p.line}
	name := p.word()
	exported := false
	if name == "export" && (p.peek() == ' ' || p.peek() == '\t') {
		p.skipBlanks()
		if isNameByte(p.peek(), true) {
			exported = true
			name = p.word()
		}
	}
	if name == "" || !isNameByte(name[0], true) {
		return e, p.errorf("", msgBadName)
	}
	if c := p.peek(); c != '=' && c != ' ' && c != '\t' && c != '\n' && !p.atEnd() {
		return e, p.errorf("", msgBadName)
	}
	p.skipBlanks()
	if p.peek() != '=' {
		if exported && (p.atEnd() || p.peek() == '\n' || p.peek() == '#') {
			return e, p.errorf(name, msgExportNoValue)
		}
		// "NAME" alone, or "some words": the text may be a value, so
		// the name is not repeated.
		return e, p.errorf("", msgNoEquals)
	}
	p.pos++ // '='
	e.Name = name
	valueStart := p.pos
	p.skipBlanks()
	var err error
	switch p.peek() {
	case '\'':
		e.Value, err = p.singleQuoted(name)
	case '"':
		e.Value, err = p.doubleQuoted(name)
	default:
		p.pos = valueStart
		e.Value, err = p.unquoted(name)
		return e, err
	}
	if err != nil {
		return e, err
	}
	p.skipBlanks()
	switch p.peek() {
	case '#':
		p.skipRestOfLine()
	case '\n', 0:
		if p.peek() == 0 && !p.atEnd() {
			return e, p.errorf(name, msgAfterQuote)
		}
	default:
		return e, p.errorf(name, msgAfterQuote)
	}
	p.endLine()
	return e, nil
}

func (p *parser) unquoted(name string) (string, error) {
	end := strings.IndexByte(p.s[p.pos:], '\n')
	if end < 0 {
		end = len(p.s) - p.pos
	}
	text := p.s[p.pos : p.pos+end]
	for i := 1; i < len(text); i++ {
		if text[i] == '#' && (text[i-1] == ' ' || text[i-1] == '\t') {
			text = text[:i]
			break
		}
	}
	text = strings.Trim(text, " \t")
	for i := 0; i < len(text); i++ {
		if c := text[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return "", p.errorf(name, msgControlChar)
		}
	}
	p.pos += end
	p.endLine()
	return text, nil
}

func (p *parser) singleQuoted(name string) (string, error) {
	start := p.line
	p.pos++
	end := strings.IndexByte(p.s[p.pos:], '\'')
	if end < 0 {
		p.line = start
		return "", p.errorf(name, msgUnclosedSQ)
	}
	v := p.s[p.pos : p.pos+end]
	p.line += strings.Count(v, "\n")
	p.pos += end + 1
	return v, nil
}

func (p *parser) doubleQuoted(name string) (string, error) {
	start := p.line
	p.pos++
	var b strings.Builder
	for {
		if p.atEnd() {
			p.line = start
			return "", p.errorf(name, msgUnclosedDQ)
		}
		c := p.s[p.pos]
		switch c {
		case '"':
			p.pos++
			return b.String(), nil
		case '\\':
			if p.pos+1 >= len(p.s) {
				p.line = start
				return "", p.errorf(name, msgUnclosedDQ)
			}
			var r byte
			switch p.s[p.pos+1] {
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			case '\\', '"', '\'', '$', '`':
				r = p.s[p.pos+1]
			default:
				return "", p.errorf(name, msgBadEscape)
			}
			b.WriteByte(r)
			p.pos += 2
		default:
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
			p.pos++
		}
	}
}

// Quote returns value as a dotenv value that Parse reads back byte for byte.
// A value without single quotes and carriage returns is single-quoted and
// kept literally (so the output can also be sourced by a POSIX shell);
// other values are double-quoted with \\, \", \$, \` and \r escaped.
// Newlines are kept as they are in both forms.
func Quote(value string) string {
	if !strings.ContainsAny(value, "'\r") {
		return "'" + value + "'"
	}
	var b strings.Builder
	b.Grow(len(value) + 8)
	b.WriteByte('"')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\', '"', '$', '`':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
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

// Write writes vars to w as a dotenv document, one NAME=VALUE line per
// variable sorted by name, each value quoted with Quote. Parse reads the
// output back to the same names and values byte for byte. An invalid name
// or a value that is not UTF-8 is an error (naming the variable only), and
// nothing is written.
func Write(w io.Writer, vars map[string]string) error {
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
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(Quote(vars[name]))
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}
