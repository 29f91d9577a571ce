// Package dotenv reads and writes the dotenv files of "dstack-secrets import"
// and "dstack-secrets export": one NAME=VALUE assignment per line.
//
// dotenv has no standard: python-dotenv, Node's dotenv and godotenv (the
// "peers") read many files differently. This package reads and writes the
// part of the syntax on which all three agree, so that a secret imported
// from a file is exactly what each peer would load from it, and an exported
// file loads back to exactly the stored values in each of them (and in
// Parse). Whatever the peers would read differently is refused, with the
// line and the fix; nothing is guessed, and an import is all or nothing.
// interop_test.go checks this against the real programs.
//
// Parse accepts exactly this syntax:
//
//   - The document is UTF-8 without a byte order mark. Lines end with LF,
//     CRLF or a lone CR; the last line may lack a line ending. CRLF is read
//     as LF everywhere, also inside quoted values.
//   - Blank lines and lines whose first non-blank character is '#' are
//     ignored (blanks are spaces and tabs).
//   - An assignment is [export ]NAME=VALUE, with optional blanks before NAME,
//     around '=' and after "export". NAME is ASCII letters, digits and
//     underscores, not starting with a digit, and may be assigned only once;
//     a variable named export is written export=VALUE, without a blank
//     before '='.
//   - An unquoted VALUE runs to the end of the line and loses the blanks at
//     both ends; a '#' after a blank starts a comment, which may not contain
//     another '#' after a white space character. The value may not be empty
//     before a comment, may not contain '#', control characters other than
//     tab, or a backslash right before '$', may not start with a backtick,
//     and may not start or end with any other white space (such as U+00A0).
//   - A single-quoted VALUE ('...') is taken literally and may span lines. It
//     cannot contain a single quote or two backslashes in a row, and cannot
//     end with a backslash.
//   - A double-quoted VALUE ("...") may span lines. Its only escapes are \n
//     (LF) and \r (CR); it cannot contain a double quote, and any other
//     backslash is refused.
//   - After a closing quote only blanks and a '#' comment may follow.
//   - A lone CR may not occur inside a quoted value, end a comment line or a
//     comment after a quoted value when more text follows before the next
//     LF, or end an empty unquoted value followed by more text before the
//     next LF. A comment may not contain U+2028 or U+2029.
//   - Nothing is expanded, and what a peer would expand is refused: "${...}"
//     anywhere (python-dotenv expands it even in single quotes), and outside
//     single quotes '$' followed by an optional '(', an optional '{' and one
//     of A-Z, 0-9 and '_' (godotenv expands it). With Options.Literal these
//     are accepted and kept as written, as Node's dotenv (and python-dotenv
//     with interpolate=False) reads them.
//
// Write, WriteFormat and Quote produce files in this syntax (FormatDotenv),
// or in a form exact for one peer only (FormatPython, FormatNode,
// FormatGodotenv) for values that the common syntax cannot hold.
//
// Errors are *Error (reading) and *WriteError (writing) values naming the
// line or the variable, never any part of a value: a dotenv file holds
// secrets.
package dotenv

import (
	"bytes"
	"fmt"
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
	msgBOM           = "the file starts with a UTF-8 byte order mark, which godotenv refuses and python-dotenv before 1.0 reads as part of the first name; save the file as UTF-8 without a byte order mark"
	msgBadName       = "expected NAME=VALUE with a name of letters, digits and underscores that does not start with a digit"
	msgNoEquals      = "expected '=' after the name (NAME=VALUE)"
	msgExportName    = "a variable named export must be followed directly by '=' (export=VALUE): python-dotenv refuses 'export =' and godotenv reads it as an empty name"
	msgDuplicate     = "assigned more than once (also on line %d); keep one of the assignments"
	msgUnclosedSQ    = "the single-quoted value is not closed; add the closing ' (a single-quoted value cannot contain ')"
	msgUnclosedDQ    = "the double-quoted value is not closed; add the closing \" (a double-quoted value cannot contain \"; put such a value in single quotes)"
	msgBadEscape     = "unknown escape sequence in the double-quoted value; only \\n and \\r are read alike by python-dotenv, Node's dotenv and godotenv (put a value with backslashes in single quotes)"
	msgDQBackslash   = "\\\\, \\\" or \\' in the double-quoted value: python-dotenv and godotenv read them as \\, \" and ', Node's dotenv keeps the backslash; put the value in single quotes"
	msgDQDollarEsc   = "\\$ or \\` in the double-quoted value: godotenv drops the backslash, python-dotenv and Node's dotenv keep it; put the value in single quotes"
	msgSQBackslash   = "the single-quoted value ends with a backslash, which the peers read as an escaped quote (\\') rather than as the end of the value; a single-quoted value cannot contain ' or end with \\ (put a value with ' in double quotes, write a value ending with \\ unquoted)"
	msgSQBackslashes = "\\\\ in the single-quoted value: python-dotenv reads it as one backslash, Node's dotenv and godotenv as two; write the value unquoted"
	msgAfterQuote    = "unexpected text after the closing quote; only a # comment may follow a quoted value"
	msgControlChar   = "the unquoted value contains a control character; put the value in double quotes and use an escape such as \\r"
	msgExportNoValue = "'export NAME' without a value; write export NAME=VALUE"
	msgEmptyComment  = "a '#' right after '=' is read as the value by python-dotenv and godotenv but as a comment (an empty value) by Node's dotenv; write NAME='' # comment for an empty value, or quote a value that starts with #"
	msgHash          = "the unquoted value contains '#', where Node's dotenv ends the value (python-dotenv and godotenv keep it); put the value in quotes"
	msgCommentHash   = "the comment after the unquoted value contains another '#' after a space, and godotenv reads everything before the last such '#' as the value; remove that '#' or put the value in quotes"
	msgUnicodeSpace  = "the unquoted value starts or ends with a white space character other than space and tab (such as a non-breaking space), which the peers trim differently; put the value in quotes"
	msgBacktick      = "the unquoted value starts with a backtick, which Node's dotenv reads as a quote (python-dotenv and godotenv keep it); put the value in single or double quotes"
	msgEscapedDollar = "\\$ in the unquoted value: godotenv reads it as $, python-dotenv and Node's dotenv as \\$; put the value in single quotes"
	msgBraceRef      = "the value contains ${...}, which python-dotenv replaces with another variable's value even in single quotes (and godotenv outside them); import it with --literal to keep it as written"
	msgDollarRef     = "the value contains $NAME, ${NAME} or $(NAME (NAME of A-Z, 0-9 and _), which godotenv replaces with another variable's value outside single quotes; put the value in single quotes, or import it with --literal to keep it as written"
	msgQuotedCR      = "a lone carriage return (CR) inside the quoted value, which python-dotenv and Node's dotenv read as a line break and godotenv as a CR; use LF or CRLF line endings (write \\r in double quotes for a CR)"
	msgCommentCR     = "the comment ends with a lone carriage return (CR), and godotenv reads everything up to the next LF as part of the comment; use LF or CRLF line endings"
	msgEmptyCR       = "the empty value ends with a lone carriage return (CR), and godotenv reads the next line as the value; write NAME='' or use LF or CRLF line endings"
	msgLineSep       = "the comment contains a line or paragraph separator (U+2028, U+2029), after which Node's dotenv reads a new line; remove it"
)

// Options change how ParseWith reads a document. The zero value is Parse's
// strict reading.
type Options struct {
	// Literal keeps "${...}" and "$NAME" references as written instead of
	// refusing them: the values are then what Node's dotenv, and
	// python-dotenv with interpolate=False, read, but python-dotenv's
	// default loading and godotenv replace such references (godotenv not
	// in single quotes). Every other check stays.
	Literal bool
}

// Parse parses a dotenv document into its assignments, in document order.
// It either returns every assignment or an *Error and no assignments.
func Parse(data []byte) ([]Entry, error) {
	return ParseWith(data, Options{})
}

// ParseWith is Parse with options.
func ParseWith(data []byte, opts Options) ([]Entry, error) {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return nil, &Error{Line: 1, Msg: msgBOM}
	}
	if !utf8.Valid(data) {
		return nil, &Error{Line: invalidUTF8Line(data), Msg: msgNotUTF8}
	}
	// After this every CR left is a lone CR.
	p := parser{s: strings.ReplaceAll(string(data), "\r\n", "\n"), line: 1, literal: opts.Literal}
	return p.parse()
}

func invalidUTF8Line(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			return line
		}
		if r == '\n' || r == '\r' && (len(data) < 2 || data[1] != '\n') {
			line++
		}
		data = data[size:]
	}
	return line
}

type parser struct {
	s       string
	pos     int
	line    int
	literal bool
}

func (p *parser) errorf(name, msg string) error {
	return &Error{Line: p.line, Name: name, Msg: msg}
}

// errorAt returns an error for a position inside a value that started at
// byte start on line startLine.
func (p *parser) errorAt(name, msg string, start, startLine, pos int) error {
	return &Error{Line: startLine + countLineEnds(p.s[start:pos]), Name: name, Msg: msg}
}

func countLineEnds(s string) int {
	return strings.Count(s, "\n") + strings.Count(s, "\r")
}

func isLineEnd(c byte) bool { return c == '\n' || c == '\r' }

func (p *parser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *parser) atEnd() bool { return p.pos >= len(p.s) }

func (p *parser) atLineEnd() bool { return p.atEnd() || isLineEnd(p.s[p.pos]) }

func (p *parser) skipBlanks() {
	for !p.atEnd() && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// lineEnd returns the offset of the end of the current line (LF, CR or the
// end of the document).
func (p *parser) lineEnd() int {
	if i := strings.IndexAny(p.s[p.pos:], "\n\r"); i >= 0 {
		return p.pos + i
	}
	return len(p.s)
}

// endLine consumes the line end at the current position, if any.
func (p *parser) endLine() {
	if !p.atEnd() && isLineEnd(p.s[p.pos]) {
		p.pos++
		p.line++
	}
}

// textBeforeLF reports whether anything but blanks and CRs follows the
// current position before the next LF: what godotenv skips after a
// comment, or reads as an empty value's value, when a lone CR ends the line.
func (p *parser) textBeforeLF() bool {
	for i := p.pos; i < len(p.s) && p.s[i] != '\n'; i++ {
		if c := p.s[i]; c != ' ' && c != '\t' && c != '\r' {
			return true
		}
	}
	return false
}

// comment checks and skips a comment starting at the current position (at
// its '#') up to the line end.
func (p *parser) comment(name string) error {
	end := p.lineEnd()
	if strings.ContainsFunc(p.s[p.pos:end], isLineSeparator) {
		return p.errorf(name, msgLineSep)
	}
	p.pos = end
	if p.peek() == '\r' {
		p.pos++
		more := p.textBeforeLF()
		p.pos--
		if more {
			return p.errorf(name, msgCommentCR)
		}
	}
	return nil
}

func (p *parser) parse() ([]Entry, error) {
	var entries []Entry
	seen := map[string]int{}
	for !p.atEnd() {
		p.skipBlanks()
		switch {
		case p.atEnd():
			continue
		case isLineEnd(p.peek()):
			p.endLine()
			continue
		case p.peek() == '#':
			if err := p.comment(""); err != nil {
				return nil, err
			}
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
		switch {
		case isNameByte(p.peek(), true):
			exported = true
			name = p.word()
		case p.peek() == '=':
			return e, p.errorf("", msgExportName)
		}
	}
	if name == "" || !isNameByte(name[0], true) {
		return e, p.errorf("", msgBadName)
	}
	if c := p.peek(); c != '=' && c != ' ' && c != '\t' && !p.atLineEnd() {
		return e, p.errorf("", msgBadName)
	}
	p.skipBlanks()
	if p.peek() != '=' {
		if exported && (p.atLineEnd() || p.peek() == '#') {
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
	switch {
	case p.peek() == '#':
		if err := p.comment(name); err != nil {
			return e, err
		}
	case !p.atLineEnd():
		return e, p.errorf(name, msgAfterQuote)
	}
	p.endLine()
	return e, nil
}

func (p *parser) unquoted(name string) (string, error) {
	end := p.lineEnd()
	text := p.s[p.pos:end]
	value, comment := text, ""
	for i := 1; i < len(text); i++ {
		if text[i] == '#' && (text[i-1] == ' ' || text[i-1] == '\t') {
			value, comment = text[:i], text[i:]
			break
		}
	}
	value = strings.Trim(value, " \t")
	switch {
	case value == "" && comment != "" || strings.HasPrefix(value, "#"):
		return "", p.errorf(name, msgEmptyComment)
	case strings.IndexByte(value, '#') >= 0:
		return "", p.errorf(name, msgHash)
	case endsInSpace(value, isTrimSpace):
		return "", p.errorf(name, msgUnicodeSpace)
	case strings.ContainsFunc(value, func(r rune) bool { return isControl(r) && r != '\t' }):
		return "", p.errorf(name, msgControlChar)
	case strings.HasPrefix(value, "`"):
		return "", p.errorf(name, msgBacktick)
	case hashAfterSpace(comment, isGodotenvSpace):
		return "", p.errorf(name, msgCommentHash)
	case strings.ContainsFunc(comment, isLineSeparator):
		return "", p.errorf(name, msgLineSep)
	case strings.Contains(value, `\$`):
		return "", p.errorf(name, msgEscapedDollar)
	}
	if err := p.checkReferences(name, value, true); err != nil {
		return "", err
	}
	p.pos = end
	if value == "" && p.peek() == '\r' {
		p.pos++
		more := p.textBeforeLF()
		p.pos--
		if more {
			return "", p.errorf(name, msgEmptyCR)
		}
	}
	p.endLine()
	return value, nil
}

// checkReferences refuses, unless reading literally, the references to
// other variables that a peer would expand in value.
func (p *parser) checkReferences(name, value string, godotenvExpands bool) error {
	switch {
	case p.literal:
		return nil
	case hasBraceReference(value):
		return p.errorf(name, msgBraceRef)
	case godotenvExpands && hasGodotenvReference(value):
		return p.errorf(name, msgDollarRef)
	}
	return nil
}

func (p *parser) singleQuoted(name string) (string, error) {
	start, startLine := p.pos, p.line
	p.pos++
	end := strings.IndexByte(p.s[p.pos:], '\'')
	if end < 0 {
		return "", p.errorf(name, msgUnclosedSQ)
	}
	v := p.s[p.pos : p.pos+end]
	if i := strings.IndexByte(v, '\r'); i >= 0 {
		return "", p.errorAt(name, msgQuotedCR, start, startLine, p.pos+i)
	}
	p.line += countLineEnds(v)
	p.pos += end + 1
	switch {
	case strings.HasSuffix(v, `\`):
		return "", p.errorf(name, msgSQBackslash)
	case strings.Contains(v, `\\`):
		return "", p.errorAt(name, msgSQBackslashes, start, startLine, start+1+strings.Index(v, `\\`))
	}
	// Report a reference on the line where the value starts.
	line := p.line
	p.line = startLine
	err := p.checkReferences(name, v, false)
	p.line = line
	return v, err
}

func (p *parser) doubleQuoted(name string) (string, error) {
	start, startLine := p.pos, p.line
	p.pos++
	var b strings.Builder
	for {
		if p.atEnd() {
			p.line = startLine
			return "", p.errorf(name, msgUnclosedDQ)
		}
		c := p.s[p.pos]
		switch c {
		case '"':
			p.pos++
			line := p.line
			p.line = startLine
			err := p.checkReferences(name, b.String(), true)
			p.line = line
			return b.String(), err
		case '\\':
			if p.pos+1 >= len(p.s) {
				p.line = startLine
				return "", p.errorf(name, msgUnclosedDQ)
			}
			switch p.s[p.pos+1] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case '\\', '"', '\'':
				return "", p.errorf(name, msgDQBackslash)
			case '$', '`':
				return "", p.errorf(name, msgDQDollarEsc)
			default:
				return "", p.errorf(name, msgBadEscape)
			}
			p.pos += 2
		case '\r':
			return "", p.errorAt(name, msgQuotedCR, start, startLine, p.pos)
		default:
			if c == '\n' {
				p.line++
			}
			b.WriteByte(c)
			p.pos++
		}
	}
}
