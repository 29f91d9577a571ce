package dotenv

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// marker stands for a secret value: it must never appear in an error.
const marker = "MARKER-5e1f-do-not-print"

func toMap(t *testing.T, entries []Entry) map[string]string {
	t.Helper()
	m := map[string]string{}
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
		{"byte order mark", "\ufeffA=1\n", []Entry{{"A", "1", 1}}},
		{"export", "export A=1\nexport\tB=2\n", []Entry{{"A", "1", 1}, {"B", "2", 2}}},
		{"variables named like the keyword", "export=1\nexportA=2\nexport exported=3\n", []Entry{{"export", "1", 1}, {"exportA", "2", 2}, {"exported", "3", 3}}},
		{"blanks around", "  A \t=\t value with  spaces \t\n", []Entry{{"A", "value with  spaces", 1}}},
		{"inline comment", "A=value # comment\nB=value\t# comment\n", []Entry{{"A", "value", 1}, {"B", "value", 2}}},
		{"hash without blank is kept", "A=abc#def\nB=#start\n", []Entry{{"A", "abc#def", 1}, {"B", "#start", 2}}},
		{"comment only value", "A= # nothing\n", []Entry{{"A", "", 1}}},
		{"empty values", "A=\nB=''\nC=\"\"\n", []Entry{{"A", "", 1}, {"B", "", 2}, {"C", "", 3}}},
		{"quotes inside unquoted value", `A=it's "fine"`, []Entry{{"A", `it's "fine"`, 1}}},
		{"dollar is literal", "A=$HOME\nB=\"${HOME}\"\nC='$(x)'\n", []Entry{{"A", "$HOME", 1}, {"B", "${HOME}", 2}, {"C", "$(x)", 3}}},
		{"single quotes are literal", `A='a \n "b" \\ $c #d'`, []Entry{{"A", `a \n "b" \\ $c #d`, 1}}},
		{"double quote escapes", `A="n\n r\r t\t b\\ q\" s\' d\$ g` + "\\`" + `"`, []Entry{{"A", "n\n r\r t\t b\\ q\" s' d$ g`", 1}}},
		{"quoted keeps blanks and hash", `A="  x # y  "  # comment`, []Entry{{"A", "  x # y  ", 1}}},
		{"multi-line single", "A='one\ntwo\n'\nB=3\n", []Entry{{"A", "one\ntwo\n", 1}, {"B", "3", 4}}},
		{"multi-line double", "A=\"one\ntwo\\n\"\nB=3", []Entry{{"A", "one\ntwo\n", 1}, {"B", "3", 3}}},
		{"multi-line CRLF", "A=\"one\r\ntwo\"\r\nB=3\r\n", []Entry{{"A", "one\ntwo", 1}, {"B", "3", 3}}},
		{"lone CR inside quotes", "A=\"x\ry\"", []Entry{{"A", "x\ry", 1}}},
		{"tab in unquoted", "A=a\tb", []Entry{{"A", "a\tb", 1}}},
		{"unicode", "A=pässwörd-秘密-🔑\n", []Entry{{"A", "pässwörd-秘密-🔑", 1}}},
		{"equals in value", "A=a=b==\n", []Entry{{"A", "a=b==", 1}}},
		{"lowercase and underscore names", "_a_1=x\n", []Entry{{"_a_1", "x", 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	m := marker
	cases := []struct {
		name, in string
		line     int
		varName  string
		says     string
	}{
		{"unclosed double", "A=1\nB=\"" + m + "\nmore\n", 2, "B", "double-quoted value is not closed"},
		{"unclosed double by escaped quote", "B=\"" + m + `\"`, 1, "B", "not closed"},
		{"backslash at end", "B=\"" + m + `\`, 1, "B", "not closed"},
		{"unclosed single", "\n\nC='" + m + "\n", 3, "C", "single-quoted value is not closed"},
		{"unknown escape", "D=\"" + m + "\n" + m + `\x` + m + `"`, 2, "D", "unknown escape sequence"},
		{"backslash newline", "D=\"" + m + "\\\n" + m + `"`, 1, "D", "unknown escape sequence"},
		{"text after double quote", `E="` + m + `"` + m, 1, "E", "unexpected text after the closing quote"},
		{"text after single quote", `E='` + m + `' ` + m, 1, "E", "unexpected text after the closing quote"},
		{"text after multi-line quote", "E='a\nb'" + m, 2, "E", "unexpected text after the closing quote"},
		{"no equals", "TOKEN " + m + "\n", 1, "", "expected '=' after the name"},
		{"marker alone", m + "\n", 1, "", "expected NAME=VALUE"},
		{"words without equals", "A=1\nghp_" + strings.ReplaceAll(m, "-", "_") + " and more\n", 2, "", "expected '='"},
		{"name only", "A=1\nTOKEN\n", 2, "", "expected '='"},
		{"digit first", "1A=" + m, 1, "", "does not start with a digit"},
		{"dash in name", "A-B=" + m, 1, "", "letters, digits and underscores"},
		{"dot in name", "A.B=" + m, 1, "", "letters, digits and underscores"},
		{"colon form", "A: " + m, 1, "", "letters, digits and underscores"},
		{"empty name", "=" + m, 1, "", "expected NAME=VALUE"},
		{"non-ASCII name", "Ä=" + m, 1, "", "expected NAME=VALUE"},
		{"export without value", "export A\n", 1, "A", "'export NAME' without a value"},
		{"duplicate", "A=1\n\nA=" + m + "\n", 3, "A", "assigned more than once (also on line 1)"},
		{"control character", "A=" + m + "\x1b" + m, 1, "A", "control character"},
		{"lone CR at line end", "A=" + m + "\r", 1, "A", "control character"},
		{"lone CR mid line", "A=" + m + "\rB=2\n", 1, "A", "control character"},
		{"NUL in unquoted", "A=" + m + "\x00", 1, "A", "control character"},
		{"NUL at line start", "\x00A=" + m, 1, "", "expected NAME=VALUE"},
		{"invalid UTF-8", "A=1\nB=2\nC=" + m + "\xff\n", 3, "", "not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d entries, want an error", len(got))
			}
			if got != nil {
				t.Errorf("Parse returned entries with an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if strings.Contains(err.Error(), "MARKER") || strings.Contains(err.Error(), "do_not") {
				t.Fatalf("error message contains part of a value: %q", err)
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

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `'plain'`},
		{"", `''`},
		{"a\nb", "'a\nb'"},
		{`$HOME "x" \n`, `'$HOME "x" \n'`},
		{"it's", `"it's"`},
		{"a\r\nb", "\"a\\r\nb\""},
		{"it's $x `y` \\ \"z\"", "\"it's \\$x \\`y\\` \\\\ \\\"z\\\"\""},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestRoundTrip writes values with Write and reads them back with Parse.
func TestRoundTrip(t *testing.T) {
	vars := secretstest.TrickyValues()
	vars["SINGLE_QUOTE"] = "'"
	vars["QUOTES_AND_CR"] = "'\r\"\\$`\r\n"
	vars["TRAILING_BACKSLASH"] = `C:\path\`
	vars["HASHES"] = " # not a comment #"
	vars["ALL_ASCII"] = allASCII()
	vars["EMPTY_LINES"] = "\n\n\n"
	vars["CRLF_ONLY"] = "\r\n"
	vars["BOM"] = "\ufeffx"
	var buf bytes.Buffer
	if err := Write(&buf, vars); err != nil {
		t.Fatal(err)
	}
	entries, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatalf("Parse of Write's output: %v", err)
	}
	got := toMap(t, entries)
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
	got = toMap(t, entries)
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
	if err := Write(&buf, map[string]string{"B": "two\nlines", "A": "it's", "C": "007"}); err != nil {
		t.Fatal(err)
	}
	want := "A=\"it's\"\nB='two\nlines'\nC='007'\n"
	if buf.String() != want {
		t.Errorf("Write = %q, want %q", buf.String(), want)
	}
	buf.Reset()
	if err := Write(&buf, nil); err != nil || buf.Len() != 0 {
		t.Errorf("Write(nil) = %q, %v", buf.String(), err)
	}
}

func TestWriteRejects(t *testing.T) {
	for _, vars := range []map[string]string{
		{"BAD-NAME": "x"},
		{"1A": "x"},
		{"": "x"},
		{"OK": "x", "A": marker + "\xff"},
	} {
		var buf bytes.Buffer
		err := Write(&buf, vars)
		if err == nil {
			t.Errorf("Write(%q names) succeeded", slicesOf(vars))
			continue
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("error contains the value: %q", err)
		}
		if buf.Len() != 0 {
			t.Errorf("Write wrote %d bytes before failing", buf.Len())
		}
	}
}

func slicesOf(m map[string]string) []string {
	var out []string
	for k := range maps.Keys(m) {
		out = append(out, k)
	}
	return out
}

// checkError checks that a Parse error is a well-formed *Error: a line
// within the document, a valid name or none, and one of the fixed messages.
func checkError(t *testing.T, data []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *Error", err)
	}
	if e.Line < 1 || e.Line > bytes.Count(data, []byte("\n"))+1 {
		t.Fatalf("error line %d outside the document", e.Line)
	}
	if e.Name != "" && !ValidName(e.Name) {
		t.Fatalf("error names an invalid variable")
	}
	for _, msg := range []string{msgNotUTF8, msgBadName, msgNoEquals, msgUnclosedSQ, msgUnclosedDQ, msgBadEscape, msgAfterQuote, msgControlChar, msgExportNoValue} {
		if e.Msg == msg {
			return
		}
	}
	if !strings.HasPrefix(e.Msg, "assigned more than once (also on line ") {
		t.Fatalf("error message is not one of the fixed texts")
	}
}

// FuzzParse checks that Parse never panics, that its errors carry no text
// of the document but a name, and that whatever it accepts is written back
// by Write into a document that parses to the same variables.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"A=1\n", "export A='x'\r\nB=\"y\\n\"\n", "# c\n\nA=\"multi\nline\"", "A=a # c", "A='unterminated",
		"A=\"\\q\"", "1=2", "A=1\nA=2", "\ufeffA=\xff", "A=\"x\" y", "export A", "A=\r", "A='\n'\n\nB='\n'",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Parse(data)
		if err != nil {
			checkError(t, data, err)
			return
		}
		lines := bytes.Count(data, []byte("\n")) + 1
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
			t.Fatalf("Write: %v", err)
		}
		back, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of Write's output: %v", err)
		}
		if !maps.Equal(vars, toMapNoHelper(back)) {
			t.Fatalf("round trip changed the variables")
		}
	})
}

// FuzzRoundTrip checks that any two UTF-8 values survive Write and Parse
// byte for byte.
func FuzzRoundTrip(f *testing.F) {
	for name, v := range secretstest.TrickyValues() {
		if name != "LONG" {
			f.Add(v, "x")
		}
	}
	f.Add("'\r\n", `\"`)
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		vars := map[string]string{"A": a, "B_2": b}
		var buf bytes.Buffer
		if err := Write(&buf, vars); err != nil {
			t.Fatalf("Write: %v", err)
		}
		entries, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("Parse of Write's output: %v", err)
		}
		if !maps.Equal(vars, toMapNoHelper(entries)) {
			t.Fatalf("round trip changed a value")
		}
	})
}

func toMapNoHelper(entries []Entry) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.Name] = e.Value
	}
	return m
}

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
