package envfmt

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/pkg/kvfile"
)

// dockerRead reads an env file the way "docker run --env-file FILE" does:
// the docker CLI's opts.ReadKVEnvStrings calls kvfile.Parse on each file
// and passes the NAME=value strings on as the container's environment.
// (The opts package itself is not imported: it pulls in the moby API
// modules; kvfile is the parser it delegates to.)
func dockerRead(t *testing.T, doc []byte) (map[string]string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	lines, err := kvfile.Parse(path, nil)
	if err != nil {
		return nil, errors.New("docker refused the file")
	}
	vars := map[string]string{}
	for _, l := range lines {
		name, value, _ := strings.Cut(l, "=")
		vars[name] = value
	}
	return vars, nil
}

func TestDockerWriteReadByDocker(t *testing.T) {
	for _, set := range []map[string]string{
		filterVars(trickyVars(), dockerCarries),
		filterVars(randomVars(7, 300), dockerCarries),
		{"MAX": strings.Repeat("x", DockerMaxLine-len("MAX="))},
		{"LEADING": " \t value with leading blanks", "QUOTED": `"kept"`, "SQ": "'kept'", "HASH": "#not a comment", "CR": "a\rb"},
	} {
		var buf bytes.Buffer
		if err := Docker().Write(&buf, set, Options{}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		got, err := dockerRead(t, buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		compareVars(t, "docker's kvfile", got, set)
	}
}

func TestDockerWriteRefuses(t *testing.T) {
	cases := []struct {
		name, value, want string
	}{
		{"line feed", "one\ntwo" + marker, "line break"},
		{"trailing CR", marker + "\r", "carriage return"},
		{"NUL", marker + "\x00", "NUL"},
		{"too long", marker + strings.Repeat("x", DockerMaxLine), "at most 65535 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Docker().Write(&buf, map[string]string{"A": "fine", "SECRET": tc.value}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("Write error = %v, want one naming SECRET and %q", err, tc.want)
			}
			checkNoValue(t, err, tc.value)
			if buf.Len() != 0 {
				t.Fatal("Write wrote part of the document")
			}
			// The refusal is needed: written naively, docker does not
			// read the value back (or refuses the file).
			naive := "SECRET=" + tc.value + "\n"
			got, err := dockerRead(t, []byte(naive))
			if err == nil && got["SECRET"] == tc.value && tc.name != "NUL" {
				t.Fatalf("docker reads a naively written value back; the refusal is not needed")
			}
		})
	}
}

func TestDockerRead(t *testing.T) {
	ok := []struct {
		name, in string
		want     map[string]string
	}{
		{"plain", "A=1\nB=two words \n", map[string]string{"A": "1", "B": "two words "}},
		{"quotes literal", `A="x"` + "\nB='y'\n", map[string]string{"A": `"x"`, "B": "'y'"}},
		{"comments and blanks", "# c\n\n  \t# indented\n  A=1\r\nB=\n", map[string]string{"A": "1", "B": ""}},
		{"bom", "\ufeffA=1", map[string]string{"A": "1"}},
		{"equals", "A=b=c", map[string]string{"A": "b=c"}},
		{"one CR dropped", "A=x\r\r\n", map[string]string{"A": "x\r"}},
	}
	for _, tc := range ok {
		got, err := Docker().Read([]byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		compareVars(t, tc.name, got, tc.want)
		fromDocker, err := dockerRead(t, []byte(tc.in))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		compareVars(t, tc.name+" (docker)", fromDocker, tc.want)
	}
	bad := []struct {
		name, in, want string
	}{
		{"no equals", "A=1\nB\n", "line 2: B: no '='"},
		{"bad name", "A-B=" + marker + "\n", "line 1: expected NAME=value"},
		{"space in name", "A B=" + marker + "\n", "line 1: expected NAME=value"},
		{"duplicate", "A=1\nA=" + marker + "\n", "line 2: A: assigned more than once (also on line 1)"},
		{"not utf8", "A=1\nB=\xff" + marker, "line 2: not valid UTF-8"},
		{"too long", "A=" + strings.Repeat("x", DockerMaxLine), "line 1: the line is 65537 bytes long"},
	}
	for _, tc := range bad {
		_, err := Docker().Read([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		checkNoValue(t, err)
	}
}

// TestDockerReadAgreesWithDocker reads random env files with both readers:
// whatever ours accepts, docker reads to the same variables.
func TestDockerReadAgreesWithDocker(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	linePieces := []string{"A=1", "B=x y ", "  C=\t'q'", "# c", "", "   ", "D", "E=\r", "F==", "G=#", "=x", "H I=1", "\ufeffJ=1", "K=é\r", "L= ", "\tM=v"}
	accepted := 0
	for range 2000 {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(linePieces[r.IntN(len(linePieces))])
			b.WriteString([]string{"\n", "\r\n"}[r.IntN(2)])
		}
		doc := []byte(b.String())
		ours, err := Docker().Read(doc)
		if err != nil {
			continue
		}
		accepted++
		theirs, err := dockerRead(t, doc)
		if err != nil {
			t.Fatalf("docker refuses a file our reader accepts (%d bytes)", len(doc))
		}
		compareVars(t, "docker vs ours", ours, theirs)
	}
	if accepted < 100 {
		t.Fatalf("only %d random files accepted; the test checks too little", accepted)
	}
}
