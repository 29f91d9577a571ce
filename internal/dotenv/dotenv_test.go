package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// marker stands for a secret value: it must never appear in an error.
const marker = "MARKER-5e1f-do-not-print"

func toMap(entries []Entry) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.Name] = e.Value
	}
	return m
}

func TestParse(t *testing.T) {
	cases := []struct {
		name, in string
		want     []Entry
	}{
		{"empty", "", nil},
		{"only blanks and comments", "\n  \n\t\n# comment\n   # indented comment\n", nil},
		{"no trailing newline", "A=1", []Entry{{"A", "1", 1}}},
		{"trailing newline", "A=1\n", []Entry{{"A", "1", 1}}},
		{"several trailing newlines", "A=1\n\n\n", []Entry{{"A", "1", 1}}},
		{"CRLF", "A=1\r\nB=two words\r\n", []Entry{{"A", "1", 1}, {"B", "two words", 2}}},
		{"CR", "A=1\rB=two words\r\rC='x'\r", []Entry{{"A", "1", 1}, {"B", "two words", 2}, {"C", "x", 4}}},
		{"CR mid line", "A=1\rB=2\n", []Entry{{"A", "1", 1}, {"B", "2", 2}}},
		{"CR after a comment at the end", "A=1\n# c\r\r \r", []Entry{{"A", "1", 1}}},
		{"CR and CRLF", "A=1\r\r\nB=2", []Entry{{"A", "1", 1}, {"B", "2", 3}}},
		{"CR after an unquoted comment", "A=1 # c\rB=2", []Entry{{"A", "1", 1}, {"B", "2", 2}}},
		{"empty value before CR at the end", "A=\r\r\n", []Entry{{"A", "", 1}}},
		{"export", "export A=1\nexport\tB=2\n", []Entry{{"A", "1", 1}, {"B", "2", 2}}},
		{"variables named like the keyword", "export=1\nexportA=2\nexport exported=3\n", []Entry{{"export", "1", 1}, {"exportA", "2", 2}, {"exported", "3", 3}}},
		{"export export", "export\texport=4", []Entry{{"export", "4", 1}}},
		{"blanks around", "  A \t=\t value with  spaces \t\n", []Entry{{"A", "value with  spaces", 1}}},
		{"inline comment", "A=value # comment\nB=value\t# comment#1\n", []Entry{{"A", "value", 1}, {"B", "value", 2}}},
		{"empty values", "A=\nB=''\nC=\"\"\nD=  \n", []Entry{{"A", "", 1}, {"B", "", 2}, {"C", "", 3}, {"D", "", 4}}},
		{"empty quoted value and comment", "A='' # c\nB=\"\"#c", []Entry{{"A", "", 1}, {"B", "", 2}}},
		{"quotes inside unquoted value", `A=it's "fine"`, []Entry{{"A", `it's "fine"`, 1}}},
		{"backslashes unquoted", `A=C:\dir\ and \n`, []Entry{{"A", `C:\dir\ and \n`, 1}}},
		{"dollars that no peer expands", "A=$hOME_lower$ $x $(cmd) ${\nB='$HOME $(X) ${'\nC=\"$x ${ $\"", []Entry{{"A", "$hOME_lower$ $x $(cmd) ${", 1}, {"B", "$HOME $(X) ${", 2}, {"C", "$x ${ $", 3}}},
		{"single quotes are literal", `A='a \n "b" \ $c #d'`, []Entry{{"A", `a \n "b" \ $c #d`, 1}}},
		{"double quote escapes", `A="n\n r\r t"`, []Entry{{"A", "n\n r\r t", 1}}},
		{"quoted keeps blanks and hash", `A="  x # y  "  # comment`, []Entry{{"A", "  x # y  ", 1}}},
		{"quoted keeps unicode spaces", "A=\"\u00a0x\u2003\"\nB='\u3000'", []Entry{{"A", "\u00a0x\u2003", 1}, {"B", "\u3000", 2}}},
		{"multi-line single", "A='one\ntwo\n'\nB=3\n", []Entry{{"A", "one\ntwo\n", 1}, {"B", "3", 4}}},
		{"multi-line double", "A=\"one\ntwo\\n\"\nB=3", []Entry{{"A", "one\ntwo\n", 1}, {"B", "3", 3}}},
		{"multi-line CRLF", "A=\"one\r\ntwo\"\r\nB=3\r\n", []Entry{{"A", "one\ntwo", 1}, {"B", "3", 3}}},
		{"tab in unquoted", "A=a\tb", []Entry{{"A", "a\tb", 1}}},
		{"unicode", "A=pässwörd-秘密-🔑\n", []Entry{{"A", "pässwörd-秘密-🔑", 1}}},
		{"unicode space inside", "A=a\u00a0b\u2028c", []Entry{{"A", "a\u00a0b\u2028c", 1}}},
		{"equals in value", "A=a=b==\n", []Entry{{"A", "a=b==", 1}}},
		{"lowercase and underscore names", "_a_1=x\n", []Entry{{"_a_1", "x", 1}}},
		{"hash in a comment without a space", "A=x # issue#12\n", []Entry{{"A", "x", 1}}},
		{"control characters in quotes", "A='\x01\x1b[0m\v'", []Entry{{"A", "\x01\x1b[0m\v", 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// parseError is a document Parse refuses: the line and name of the error,
// and a part of its message.
type parseError struct {
	name, in string
	line     int
	varName  string
	says     string
}

// parseErrors are the documents Parse refuses. The values hold the marker,
// which must not appear in the error.
func parseErrors() []parseError {
	m := marker
	return []parseError{
		{"unclosed double", "A=1\nB=\"" + m + "\nmore\n", 2, "B", "double-quoted value is not closed"},
		{"unclosed double by escaped quote", "B=\"" + m + `\"`, 1, "B", `\\, \" or \' in the double-quoted value`},
		{"backslash at end", "B=\"" + m + `\`, 1, "B", "not closed"},
		{"unclosed single", "\n\nC='" + m + "\n", 3, "C", "single-quoted value is not closed"},
		{"unknown escape", "D=\"" + m + "\n" + m + `\x` + m + `"`, 2, "D", "unknown escape sequence"},
		{"tab escape", `D="` + m + `\t"`, 1, "D", "unknown escape sequence"},
		{"backslash newline", "D=\"" + m + "\\\n" + m + `"`, 1, "D", "unknown escape sequence"},
		{"escaped backslash", `D="` + m + `\\"`, 1, "D", `\\, \" or \' in the double-quoted value`},
		{"escaped quote", `D="` + m + `\"x"`, 1, "D", `Node's dotenv keeps the backslash`},
		{"escaped single quote", `D="` + m + `\'"`, 1, "D", `Node's dotenv keeps the backslash`},
		{"escaped dollar", `D="` + m + `\$x"`, 1, "D", `\$ or \` + "`" + ` in the double-quoted value`},
		{"escaped backtick", "D=\"" + m + "\\`\"", 1, "D", "godotenv drops the backslash"},
		{"text after double quote", `E="` + m + `"` + m, 1, "E", "unexpected text after the closing quote"},
		{"text after single quote", `E='` + m + `' ` + m, 1, "E", "unexpected text after the closing quote"},
		{"text after multi-line quote", "E='a\nb'" + m, 2, "E", "unexpected text after the closing quote"},
		{"escaped single quote in single quotes", `E='it\'s ` + m + `'`, 1, "E", "ends with a backslash"},
		{"single quoted ending with backslash", "A=1\nE='" + m + `\'`, 2, "E", "ends with a backslash"},
		{"two backslashes in single quotes", "E='" + m + "\n" + m + `\\` + m + "'", 2, "E", `\\ in the single-quoted value`},
		{"no equals", "TOKEN " + m + "\n", 1, "", "expected '=' after the name"},
		{"marker alone", m + "\n", 1, "", "expected NAME=VALUE"},
		{"words without equals", "A=1\nghp_" + strings.ReplaceAll(m, "-", "_") + " and more\n", 2, "", "expected '='"},
		{"name only", "A=1\nTOKEN\n", 2, "", "expected '='"},
		{"name only before CR", "A=1\rTOKEN\r", 2, "", "expected '='"},
		{"digit first", "1A=" + m, 1, "", "does not start with a digit"},
		{"dash in name", "A-B=" + m, 1, "", "letters, digits and underscores"},
		{"dot in name", "A.B=" + m, 1, "", "letters, digits and underscores"},
		{"colon form", "A: " + m, 1, "", "letters, digits and underscores"},
		{"empty name", "=" + m, 1, "", "expected NAME=VALUE"},
		{"non-ASCII name", "Ä=" + m, 1, "", "expected NAME=VALUE"},
		{"unicode space before name", "\u00a0A=" + m, 1, "", "expected NAME=VALUE"},
		{"export without value", "export A\n", 1, "A", "'export NAME' without a value"},
		{"export blank equals", "export =" + m, 1, "", "a variable named export must be followed directly by '='"},
		{"duplicate", "A=1\n\nA=" + m + "\n", 3, "A", "assigned more than once (also on line 1)"},
		{"control character", "A=" + m + "\x1b" + m, 1, "A", "control character"},
		{"C1 control character", "A=" + m + "\u0090" + m, 1, "A", "control character"},
		{"NUL in unquoted", "A=" + m + "\x00", 1, "A", "control character"},
		{"NUL at line start", "\x00A=" + m, 1, "", "expected NAME=VALUE"},
		{"invalid UTF-8", "A=1\nB=2\nC=" + m + "\xff\n", 3, "", "not valid UTF-8"},
		{"invalid UTF-8 after CRs", "A=1\rB=2\r\nC=" + m + "\xff\n", 3, "", "not valid UTF-8"},
		{"byte order mark", "\ufeffA=" + m, 1, "", "byte order mark"},

		// Comments and '#'.
		{"comment after empty value", "A=1\nB= # " + m, 2, "B", "a '#' right after '='"},
		{"hash right after equals", "B=#" + m, 1, "B", "a '#' right after '='"},
		{"hash without blank", "B=" + m + "#" + m, 1, "B", "contains '#', where Node's dotenv ends the value"},
		{"hash after unicode space", "B=" + m + "\u00a0#" + m, 1, "B", "contains '#'"},
		{"second hash in comment", "B=" + m + " # " + m + " #" + m, 1, "B", "contains another '#' after a space"},
		{"second hash after NBSP in comment", "B=" + m + " # " + m + "\u00a0#" + m, 1, "B", "another '#'"},
		{"line separator in comment", "B=" + m + " # " + m + "\u2028" + m, 1, "B", "U+2028"},
		{"line separator in comment line", "# " + m + "\u2029B=" + m, 1, "", "U+2028"},
		{"line separator after quoted value", "B='" + m + "' # " + m + "\u2028C=1", 1, "B", "U+2028"},

		// White space and quotes around unquoted values.
		{"NBSP before value", "B=\u00a0" + m, 1, "B", "white space character other than space and tab"},
		{"NBSP after value", "B=" + m + "\u00a0 ", 1, "B", "white space character other than space and tab"},
		{"em space around value", "B=\u2003" + m + "\u2003", 1, "B", "trim differently"},
		{"ideographic space", "B=" + m + "\u3000", 1, "B", "trim differently"},
		{"BOM character after value", "B=" + m + "\ufeff", 1, "B", "trim differently"},
		{"line separator at the end", "B=" + m + "\u2028", 1, "B", "trim differently"},
		{"NBSP before a quote", "B=\u00a0'" + m + "'", 1, "B", "trim differently"},
		{"backtick", "B=`" + m + "`", 1, "B", "starts with a backtick"},

		// Expansion.
		{"brace reference unquoted", "A=1\nB=${A}", 2, "B", "${...}"},
		{"brace reference double", "B=\"" + m + "\n${A}\"", 1, "B", "even in single quotes"},
		{"brace reference single", "B='" + m + "${HOME}'", 1, "B", "--literal"},
		{"lower-case brace reference", "B='${home}'", 1, "B", "${...}"},
		{"brace reference with default", "B=${X:-" + m + "}", 1, "B", "${...}"},
		{"dollar name unquoted", "B=" + m + "$HOME", 1, "B", "$NAME"},
		{"dollar name double", "B=\"" + m + "$A1\"", 1, "B", "put the value in single quotes"},
		{"dollar digit", "B=" + m + "$1", 1, "B", "$NAME"},
		{"dollar underscore", "B=\"" + m + "$_x\"", 1, "B", "$NAME"},
		{"dollar paren name", "B=$(" + m + ")", 1, "B", "$(NAME"},
		{"dollar brace without end", "B=" + m + "${A", 1, "B", "$NAME"},
		{"escaped dollar unquoted", "B=" + m + `\$x`, 1, "B", `\$ in the unquoted value`},

		// Lone CR.
		{"CR in double quotes", "B=\"" + m + "\n" + m + "\r" + m + "\"", 2, "B", "lone carriage return (CR) inside the quoted value"},
		{"CR in single quotes", "A=1\nB='" + m + "\r" + m + "'", 2, "B", "lone carriage return (CR) inside the quoted value"},
		{"CR after comment line", "# " + m + "\rA=" + m + "\r", 1, "", "the comment ends with a lone carriage return"},
		{"CR after comment after quote", "A='" + m + "' # c\rB=" + m, 1, "A", "the comment ends with a lone carriage return"},
		{"CR after empty value", "A=\rB=" + m, 1, "A", "the empty value ends with a lone carriage return"},
		{"CR after blank value", "A= \t\r\rB=" + m + "\n", 1, "A", "godotenv reads the next line as the value"},
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrors() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d entries, want an error", len(got))
			}
			if got != nil {
				t.Errorf("Parse returned entries with an error")
			}
			checkError(t, []byte(tc.in), err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if e.Line != tc.line || e.Name != tc.varName {
				t.Errorf("error %q: line %d name %q, want line %d name %q", err, e.Line, e.Name, tc.line, tc.varName)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

func TestParseLiteral(t *testing.T) {
	in := "A=1\nB=${A}\nC=\"$A ${A} $(A\"\nD='${HOME}'\nE=x$1\n"
	want := []Entry{{"A", "1", 1}, {"B", "${A}", 2}, {"C", "$A ${A} $(A", 3}, {"D", "${HOME}", 4}, {"E", "x$1", 5}}
	got, err := ParseWith([]byte(in), Options{Literal: true})
	if err != nil {
		t.Fatalf("ParseWith Literal: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := Parse([]byte(in)); err == nil {
		t.Fatalf("Parse accepted references")
	}
	// Literal changes nothing else.
	for _, tc := range parseErrors() {
		var e *Error
		if _, err := Parse([]byte(tc.in)); errors.As(err, &e) && (e.Msg == msgBraceRef || e.Msg == msgDollarRef) {
			continue
		}
		if _, err := ParseWith([]byte(tc.in), Options{Literal: true}); err == nil {
			t.Errorf("%s: accepted with Literal", tc.name)
		}
	}
}

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `'plain'`},
		{"", `''`},
		{"a\nb", "'a\nb'"},
		{`$HOME "x" \n`, `'$HOME "x" \n'`},
		{"it's", `"it's"`},
		{"a\r\nb", "\"a\\r\nb\""},
		{"it's $x `y` #z", "\"it's $x `y` #z\""},
		{`it's C:\dir\`, `it's C:\dir\`},
		{`C:\dir\`, `C:\dir\`},
		{`a\\b`, `a\\b`},
		{`it's "quoted"`, `it's "quoted"`},
	} {
		got, err := Quote(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Quote(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestQuoteRefuses checks values that no quoting of FormatDotenv holds:
// the error says why in terms of characters and names no value.
func TestQuoteRefuses(t *testing.T) {
	m := marker
	for _, tc := range []struct{ in, says string }{
		{"${" + m + "}", "${...}, which python-dotenv replaces with another variable's value in every kind of quotes; write it in the format dotenv-node or dotenv-godotenv"},
		{"'" + m + "${HOME}", "${...}"},
		{`it's "` + m + `"` + "\n", "single quotes cannot hold a value with a single quote, double quotes one with a double quote, and no quotes one with a line break"},
		{`it's \` + m + "\n", "double quotes one with a backslash"},
		{"it's $" + m, "a $NAME reference that godotenv would expand"},
		{m + `\` + "\r", "single quotes cannot hold a value with a carriage return, double quotes one with a backslash"},
		{" it's $" + m, "no quotes one with white space at its start or end"},
		{"'" + m + `"`, "no quotes one with a quote or backtick at its start"},
		{"it's #" + m + `\`, "no quotes one with a '#'"},
		{`it's \$` + m, "no quotes one with a backslash before '$'"},
	} {
		got, err := Quote(tc.in)
		if err == nil {
			t.Errorf("Quote(value %d bytes) = %d bytes, want an error", len(tc.in), len(got))
			continue
		}
		var we *WriteError
		if !errors.As(err, &we) || we.Format != FormatDotenv {
			t.Fatalf("error %T %v is not a *WriteError for FormatDotenv", err, err)
		}
		if strings.Contains(err.Error(), "MARKER") {
			t.Fatalf("error contains the value: %q", err)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("error %q does not say %q", err, tc.says)
		}
	}
}

func TestQuoteFormats(t *testing.T) {
	for _, tc := range []struct {
		f        Format
		in, want string
	}{
		{FormatPython, `it's "q" \ $x` + "\r\n", `"it's \"q\" \\ $x\r` + "\n\""},
		{FormatPython, `C:\dir\`, `C:\dir\`},
		{FormatNode, "plain", "'plain'"},
		{FormatNode, "it's\r", `"it's\r"`},
		{FormatNode, `it's "q"`, "`it's \"q\"`"},
		{FormatNode, "it's \"q\" `x`", "it's \"q\" `x`"},
		{FormatNode, `C:\dir\`, `C:\dir\`},
		{FormatGodotenv, `it's "q" \ $HOME` + "\r\n", `"it's \"q\" \\ \$HOME\r` + "\n\""},
		{FormatGodotenv, `ends with "q"`, `'ends with "q"'`},
		{FormatGodotenv, `C:\dir\`, `C:\dir\`},
	} {
		got, err := QuoteFormat(tc.in, tc.f)
		if err != nil || got != tc.want {
			t.Errorf("QuoteFormat(%q, %s) = %q, %v; want %q", tc.in, tc.f, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		f    Format
		in   string
		says string
	}{
		{FormatPython, "${X}", "${...}"},
		{FormatPython, "a\nb\\", "python-dotenv reads \\\" as an escaped quote"},
		{FormatNode, "'\"`\n", "backticks one with a backtick"},
		{FormatNode, "\"\r", "double quotes one with a double quote"},
		{FormatGodotenv, "'\n\"", "double quotes cannot hold a value with a trailing backslash or double quote"},
	} {
		got, err := QuoteFormat(tc.in, tc.f)
		if err == nil {
			t.Errorf("QuoteFormat(%q, %s) = %q, want an error", tc.in, tc.f, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "write it as JSON") {
			t.Errorf("QuoteFormat(%q, %s): error %q does not say %q", tc.in, tc.f, err, tc.says)
		}
	}
}

// TestRoundTrip writes values with Write and reads them back with Parse.
func TestRoundTrip(t *testing.T) {
	vars := secretstest.TrickyValues()
	delete(vars, "SHELL") // ${HOME}: see TestWriteRejects
	vars["SINGLE_QUOTE"] = "'"
	vars["QUOTES_AND_CR"] = "'\r$`\r\n"
	vars["TRAILING_BACKSLASH"] = `C:\path\`
	vars["HASHES"] = " # not a comment #"
	vars["EMPTY_LINES"] = "\n\n\n"
	vars["CRLF_ONLY"] = "\r\n"
	vars["BOM"] = "\ufeffx"
	vars["UNICODE_SPACES"] = "\u00a0\u2003\u2028\u3000"
	vars["ALL_ASCII_BUT_QUOTE_AND_CR"] = strings.NewReplacer("'", "", "\r", "").Replace(allASCII())
	var buf bytes.Buffer
	if err := Write(&buf, vars); err != nil {
		t.Fatal(err)
	}
	entries, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("Parse of Write's output: %v", err)
	}
	got := toMap(entries)
	if len(got) != len(vars) {
		t.Fatalf("got %d variables, want %d", len(got), len(vars))
	}
	for name, want := range vars {
		if got[name] != want {
			t.Errorf("%s differs after the round trip (%d bytes, want %d)", name, len(got[name]), len(want))
		}
	}
	var again bytes.Buffer
	if err := Write(&again, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("writing the parsed variables again gives different bytes")
	}
	// The same document with CRLF line endings reads the same, except
	// for raw newlines inside quoted values, which become LF.
	crlf := bytes.ReplaceAll(buf.Bytes(), []byte("\n"), []byte("\r\n"))
	entries, err = Parse(crlf)
	if err != nil {
		t.Fatalf("Parse of the CRLF document: %v", err)
	}
	got = toMap(entries)
	for name, want := range vars {
		if got[name] != want {
			t.Errorf("CRLF document: %s differs", name)
		}
	}
}

func allASCII() string {
	var b strings.Builder
	for c := 1; c < 128; c++ {
		b.WriteByte(byte(c))
	}
	return b.String()
}

func TestWriteOutput(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, map[string]string{"B": "two\nlines", "A": "it's", "C": "007", "D": `it's \`}); err != nil {
		t.Fatal(err)
	}
	want := "A=\"it's\"\nB='two\nlines'\nC='007'\nD=it's \\\n"
	if buf.String() != want {
		t.Errorf("Write = %q, want %q", buf.String(), want)
	}
	buf.Reset()
	if err := Write(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("Write(nil) = %q, %v", buf.String(), err)
	}
	for _, f := range Formats() {
		buf.Reset()
		if err := WriteFormat(&buf, map[string]string{"B": "b", "A": "a"}, f); err != nil || !strings.HasPrefix(buf.String(), "A=") || strings.Count(buf.String(), "\n") != 2 {
			t.Errorf("WriteFormat(%s) = %q, %v", f, buf.String(), err)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	for _, vars := range []map[string]string{
		{"BAD-NAME": "x"},
		{"1A": "x"},
		{"": "x"},
		{"OK": "x", "A": marker + "\xff"},
		{"OK": "x", "SHELL": "${" + marker + "}"},
	} {
		var buf bytes.Buffer
		err := Write(&buf, vars)
		if err == nil {
			t.Errorf("Write(%q names) succeeded", slices.Collect(maps.Keys(vars)))
			continue
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("error contains the value: %q", err)
		}
		if buf.Len() != 0 {
			t.Errorf("Write wrote %d bytes before failing", buf.Len())
		}
	}
	var buf bytes.Buffer
	err := Write(&buf, map[string]string{"A": "'\"\n" + marker, "C": "${" + marker + "}", "OK": "x", "B": "'$" + marker})
	var we *WriteError
	if !errors.As(err, &we) || we.Name != "A" || !slices.Equal(we.More, []string{"B", "C"}) || buf.Len() != 0 {
		t.Fatalf("Write = %v (%d bytes), want a *WriteError for A and then B, C", err, buf.Len())
	}
	for _, s := range []string{"variable A so that python-dotenv, Node's dotenv and godotenv read it back exactly", "dotenv-python, dotenv-node or dotenv-godotenv", "(2 more cannot be written either: B, C)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// checkError checks that a Parse error is a well-formed *Error: a line
// within the document, a valid name or none, and one of the fixed messages.
func checkError(t *testing.T, data []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if strings.Contains(err.Error(), "MARKER") || strings.Contains(err.Error(), "do_not") {
		t.Fatalf("error message contains part of a value: %q", err)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if e.Line < 1 || e.Line > countLineEnds(text)+1 {
		t.Fatalf("error line %d outside the document", e.Line)
	}
	if e.Name != "" && !ValidName(e.Name) {
		t.Fatalf("error names an invalid variable")
	}
	for _, msg := range allMessages {
		if e.Msg == msg {
			return
		}
	}
	if !strings.HasPrefix(e.Msg, "assigned more than once (also on line ") {
		t.Fatalf("error message is not one of the fixed texts")
	}
}

var allMessages = []string{
	msgNotUTF8, msgBOM, msgBadName, msgNoEquals, msgExportName, msgUnclosedSQ, msgUnclosedDQ,
	msgBadEscape, msgDQBackslash, msgDQDollarEsc, msgSQBackslash, msgSQBackslashes, msgAfterQuote,
	msgControlChar, msgExportNoValue, msgEmptyComment, msgHash, msgCommentHash, msgUnicodeSpace,
	msgBacktick, msgEscapedDollar, msgBraceRef, msgDollarRef, msgQuotedCR, msgCommentCR, msgEmptyCR,
	msgLineSep,
}

// TestMessagesTested checks that every message has a case in parseErrors.
func TestMessagesTested(t *testing.T) {
	tested := map[string]bool{}
	for _, tc := range parseErrors() {
		_, err := Parse([]byte(tc.in))
		var e *Error
		if errors.As(err, &e) {
			tested[e.Msg] = true
		}
	}
	for _, msg := range allMessages {
		if !tested[msg] {
			t.Errorf("no case in parseErrors gives %q", msg)
		}
	}
}

// FuzzParse checks that Parse never panics, that its errors carry no text
// of the document but a name, and that whatever it accepts is written back
// by Write (which must not refuse it) into a document that parses to the
// same variables. With Literal, whatever Parse accepts is accepted too.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"A=1\n", "export A='x'\r\nB=\"y\\n\"\n", "# c\n\nA=\"multi\nline\"", "A=a # c", "A='unterminated",
		"A=\"\\q\"", "1=2", "A=1\nA=2", "\ufeffA=\xff", "A=\"x\" y", "export A", "A=\r", "A='\n'\n\nB='\n'",
		"A=${B}", "A=\"$X\"", "A='\\\\'", "A=x\rB=y", "# c\rA=1", "A=\u00a0x", "A=`x`", "A=it's \\",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		literal, lerr := ParseWith(data, Options{Literal: true})
		if err != nil {
			checkError(t, data, err)
			if lerr != nil {
				checkError(t, data, lerr)
			}
			return
		}
		if lerr != nil || !slices.Equal(entries, literal) {
			t.Fatalf("Literal reading differs from the strict one on a document the strict one accepts")
		}
		lines := countLineEnds(strings.ReplaceAll(string(data), "\r\n", "\n")) + 1
		vars := map[string]string{}
		prev := 0
		for _, e := range entries {
			if !ValidName(e.Name) || !utf8.ValidString(e.Value) {
				t.Fatalf("Parse returned an invalid entry")
			}
			if e.Line <= prev || e.Line > lines {
				t.Fatalf("entry line %d after %d (document has %d lines)", e.Line, prev, lines)
			}
			prev = e.Line
			vars[e.Name] = e.Value
		}
		if len(vars) != len(entries) {
			t.Fatalf("Parse returned a name twice")
		}
		var buf bytes.Buffer
		if err := Write(&buf, vars); err != nil {
			t.Fatalf("Write refused what Parse accepted: %v", err)
		}
		back, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of Write's output: %v", err)
		}
		if !maps.Equal(vars, toMap(back)) {
			t.Fatalf("round trip changed the variables")
		}
	})
}

// FuzzRoundTrip checks that any two UTF-8 values either survive Write and
// Parse byte for byte, or are refused by Write with a *WriteError that
// names the variable and holds no part of either value; and that Quote
// agrees with Write.
func FuzzRoundTrip(f *testing.F) {
	for name, v := range secretstest.TrickyValues() {
		if name != "LONG" {
			f.Add(v, "x")
		}
	}
	f.Add("'\r\n", `\"`)
	f.Add(`it's \`, "$HOME")
	f.Add("${X}", "'\"")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		vars := map[string]string{"A": a, "B_2": b}
		var buf bytes.Buffer
		err := Write(&buf, vars)
		_, errA := Quote(a)
		_, errB := Quote(b)
		if err != nil {
			var we *WriteError
			if !errors.As(err, &we) {
				t.Fatalf("Write: %v", err)
			}
			if buf.Len() != 0 {
				t.Fatalf("Write wrote before refusing")
			}
			if want := map[bool]string{true: "A", false: "B_2"}[errA != nil]; we.Name != want || errA == nil && errB == nil {
				t.Fatalf("Write refused %s, Quote refused A: %v, B_2: %v", we.Name, errA != nil, errB != nil)
			}
			msg := err.Error()
			for _, v := range []string{a, b} {
				if len(v) >= 4 && strings.Contains(msg, v) && !strings.Contains(errorTexts, v) {
					t.Fatalf("the error holds a value")
				}
			}
			return
		}
		if errA != nil || errB != nil {
			t.Fatalf("Write accepted what Quote refused")
		}
		entries, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of Write's output: %v", err)
		}
		if !maps.Equal(vars, toMap(entries)) {
			t.Fatalf("round trip changed a value")
		}
	})
}

// errorTexts holds every fixed text a WriteError may contain, so that
// FuzzRoundTrip does not mistake a value that happens to be a part of it
// for a leak.
var errorTexts = func() string {
	var b strings.Builder
	for _, f := range Formats() {
		b.WriteString((&WriteError{Format: f, Name: "A", Reason: "r", More: []string{"B_2"}}).Error())
		b.WriteString((&WriteError{Format: f, Name: "A", Reason: whyBraceRef}).Error())
	}
	for _, s := range []string{whyBraceRef, whySingleQuote, whyDoubleQuote, whyCR, whyBackslashes, whyEndBackslsh, whyBackslash,
		whyDollarRef, whyLineBreak, whyHash, whyEndSpace, whyStartQuote, whyEmpty, whyControl, whyEscDollar, whyEscN,
		whyBacktick, whyCRLF, whyHashSpace, whyLineSep, whyDollar, whyEndDQ} {
		b.WriteString(s)
	}
	b.WriteString(cannot([]string{"single quotes", "double quotes", "backticks", "no quotes", "quotes"}, []string{"", "", "", "", ""}))
	return b.String()
}()

// benchVars returns n variables with values that need quoting.
func benchVars(n int) map[string]string {
	vars := make(map[string]string, n)
	for i := 0; i < n; i++ {
		vars[fmt.Sprintf("SECRET_%05d", i)] = fmt.Sprintf("value %d with 'quotes', $dollars and\na second line", i)
	}
	return vars
}

func BenchmarkWrite1000(b *testing.B) {
	vars := benchVars(1000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, vars); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkParse1000(b *testing.B) {
	var buf bytes.Buffer
	if err := Write(&buf, benchVars(1000)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	for b.Loop() {
		if _, err := Parse(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
