package envfmt

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
)

// runnerEnvFile parses a $GITHUB_ENV file the way actions/runner's
// SetEnvFileCommand.ProcessCommand does (src/Runner.Worker/
// FileCommandManager.cs), written from its behaviour:
//
//   - lines end at LF; on Windows (windows true) a CR LF pair also ends a
//     line, and the CR is not part of it;
//   - empty lines are skipped;
//   - a line whose first '=' comes before any "<<" is NAME=VALUE, the value
//     being the rest of the line;
//   - a line whose first "<<" comes before any '=' is NAME<<DELIMITER (both
//     non-empty); the value is the text of the following lines up to the
//     first line equal to DELIMITER, without the line ending before it; no
//     such line is an error;
//   - any other non-empty line is an error;
//   - a later assignment of a name replaces an earlier one; NODE_OPTIONS
//     (in any case) is refused.
func runnerEnvFile(text string, windows bool) (map[string]string, error) {
	index := 0
	readLine := func() (line, newline string, ok bool) {
		if index >= len(text) {
			return "", "", false
		}
		start := index
		lf := strings.IndexByte(text[index:], '\n')
		if lf < 0 {
			index = len(text)
			return text[start:], "", true
		}
		lf += index
		if windows && lf > start && text[lf-1] == '\r' {
			index = lf + 1
			return text[start : lf-1], "\r\n", true
		}
		index = lf + 1
		return text[start:lf], "\n", true
	}
	vars := map[string]string{}
	for {
		line, _, ok := readLine()
		if !ok {
			return vars, nil
		}
		if line == "" {
			continue
		}
		eq := strings.Index(line, "=")
		hd := strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			name, value, _ := strings.Cut(line, "=")
			if name == "" {
				return nil, errors.New("empty name")
			}
			if strings.EqualFold(name, "NODE_OPTIONS") {
				return nil, errors.New("NODE_OPTIONS refused")
			}
			vars[name] = value
		case hd >= 0 && (eq < 0 || hd < eq):
			name, delim, _ := strings.Cut(line, "<<")
			if name == "" || delim == "" {
				return nil, errors.New("empty name or delimiter")
			}
			if strings.EqualFold(name, "NODE_OPTIONS") {
				return nil, errors.New("NODE_OPTIONS refused")
			}
			start, end := index, index
			for {
				l, nl, ok := readLine()
				if !ok {
					return nil, errors.New("matching delimiter not found")
				}
				if l == delim {
					break
				}
				end = index - len(nl)
			}
			value := ""
			if end > start {
				value = text[start:end]
			}
			vars[name] = value
		default:
			return nil, errors.New("invalid format")
		}
	}
}

func TestGitHubReadByRunnerRules(t *testing.T) {
	vars := randomVars(8, 200)
	maps.Copy(vars, trickyVars())
	vars = filterVars(vars, func(v string) bool { return !strings.HasSuffix(v, "\r") })
	vars["EMPTY"] = ""
	vars["LOOKS_HEREDOC"] = "a<<b=c"
	vars["LOOKS_ASSIGN"] = "=x<<y"
	var buf bytes.Buffer
	if err := GitHub().Write(&buf, vars, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, windows := range []bool{false, true} {
		got, err := runnerEnvFile(buf.String(), windows)
		if err != nil {
			t.Fatalf("runner (windows %v): %v", windows, err)
		}
		compareVars(t, "runner", got, vars)
	}
	// The parser is strict enough to catch a naive writer: a fixed
	// delimiter that is a line of the value ends it early.
	naive := "A<<EOF\nx\nEOF\ny\nEOF\n"
	if got, err := runnerEnvFile(naive, false); err == nil && got["A"] == "x\nEOF\ny" {
		t.Fatal("the runner parser read a value holding its delimiter")
	}
	// And a value ending with CR is lost on Windows.
	if got, _ := runnerEnvFile("A<<D\nx\r\nD\n", true); got["A"] != "x" {
		t.Fatal("the runner parser does not model Windows line ends")
	}
}

func TestGitHubWriteShape(t *testing.T) {
	src := bytes.NewReader(bytes.Repeat([]byte{0xab}, 16))
	var buf bytes.Buffer
	if err := GitHub().Write(&buf, map[string]string{"ONE": "x y", "TWO": "a\nb"}, Options{Rand: src}); err != nil {
		t.Fatal(err)
	}
	d := GitHubDelimiterPrefix + strings.Repeat("ab", 16)
	want := "ONE=x y\nTWO<<" + d + "\na\nb\n" + d + "\n"
	if buf.String() != want {
		t.Fatalf("output %q, want %q", buf.String(), want)
	}
}

// TestGitHubDelimiterNotInValue gives the writer a random source whose
// first delimiter occurs in the value: it must draw another.
func TestGitHubDelimiterNotInValue(t *testing.T) {
	first := bytes.Repeat([]byte{0x11}, 16)
	second := bytes.Repeat([]byte{0x22}, 16)
	d1 := GitHubDelimiterPrefix + hex.EncodeToString(first)
	d2 := GitHubDelimiterPrefix + hex.EncodeToString(second)
	value := "line\n" + d1 + "\nmore"
	var buf bytes.Buffer
	err := GitHub().Write(&buf, map[string]string{"A": value}, Options{Rand: io.MultiReader(bytes.NewReader(first), bytes.NewReader(second))})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "A<<"+d2+"\n") {
		t.Fatal("the writer kept a delimiter that occurs in the value")
	}
	got, err := runnerEnvFile(buf.String(), false)
	if err != nil || got["A"] != value {
		t.Fatalf("runner: %v", err)
	}
	// A source that only ever gives the colliding delimiter is refused.
	buf.Reset()
	err = GitHub().Write(&buf, map[string]string{"A": value}, Options{Rand: bytes.NewReader(bytes.Repeat(first, 8))})
	if err == nil || !strings.Contains(err.Error(), "github: cannot write A: every random heredoc delimiter") || buf.Len() != 0 {
		t.Fatalf("colliding source: %v", err)
	}
	err = GitHub().Write(&buf, map[string]string{"A": value}, Options{Rand: bytes.NewReader(nil)})
	if err == nil || !strings.Contains(err.Error(), "cannot draw a random heredoc delimiter") || buf.Len() != 0 {
		t.Fatalf("empty source: %v", err)
	}
}

func TestGitHubRefuses(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"NODE_OPTIONS", marker, "refuses to set NODE_OPTIONS"},
		{"node_options", marker, "refuses to set NODE_OPTIONS"},
		{"A", marker + "\r", "ends with a carriage return"},
		{"A", "x\n" + marker + "\r", "ends with a carriage return"},
		{"A", marker + "\x00", "NUL"},
	} {
		var buf bytes.Buffer
		err := GitHub().Write(&buf, map[string]string{tc.name: tc.value, "B": "ok"}, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "cannot write "+tc.name+":") {
			t.Fatalf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		checkNoValue(t, err)
		if buf.Len() != 0 {
			t.Fatal("partial write")
		}
	}
}
