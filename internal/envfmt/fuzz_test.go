package envfmt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
	yaml2 "go.yaml.in/yaml/v2"
)

// FuzzRead feeds every reader (and Detect) a document with a marker value
// in the middle: no reader may panic or put the marker into an error, an
// error is an *Error (dotenv's own *dotenv.Error for dotenv) with its line
// inside the document, and whatever a reader accepts is written back by
// the same format's writer into a document that reads back the same.
func FuzzRead(f *testing.F) {
	for _, s := range [][2]string{
		{"A='", "'\n"}, {"A=\"", "\"\n"}, {"A: ", "\n"}, {"A: \"", "\"\n"}, {"{\"A\": \"", "\"}"},
		{"export A='", "'\\''x'\n"}, {"apiVersion: v1\nkind: Secret\nstringData:\n  A: ", "\n"},
		{"A: |\n  ", "\n"}, {"{\"A\": ", "}"}, {"A: [", "]"}, {"- ", ""}, {"A<<", "\n"}, {"", ""},
		{"A: \"\\", "\""}, {"A: &a x\nB: *", ""}, {"\ufeff{\"A\":\"\\ud800", "\"}"}, {"A: !!binary ", ""},
	} {
		f.Add(s[0], s[1])
	}
	reg := Builtin()
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		data := []byte(prefix + marker + suffix)
		// YAML also ends lines at CR, NEL, LS and PS.
		lines := 1
		for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
			lines += bytes.Count(data, []byte(sep))
		}
		if _, err := Detect(data); err != nil {
			checkNoValue(t, err)
		}
		for _, name := range reg.ReadableNames() {
			format, _ := reg.Lookup(name)
			vars, err := format.Read(data)
			if err != nil {
				checkNoValue(t, err)
				var e *Error
				var de *dotenv.Error
				switch {
				case errors.As(err, &e):
					if e.Line < 0 || e.Line > lines || e.Name != "" && !ValidName(e.Name) {
						t.Fatalf("%s: error place or name out of the document", name)
					}
				case name == "dotenv" && errors.As(err, &de):
				default:
					t.Fatalf("%s: error %T is not *Error", name, err)
				}
				continue
			}
			for k, v := range vars {
				if !ValidName(k) || !utf8.ValidString(v) {
					t.Fatalf("%s: reader returned an invalid name or value", name)
				}
			}
			var buf bytes.Buffer
			if err := format.Write(&buf, vars, Options{}); err != nil {
				checkNoValue(t, err)
				continue // e.g. docker refuses a NUL that its reader passes on
			}
			back, err := format.Read(buf.Bytes())
			if err != nil {
				t.Fatalf("%s: reading what the writer wrote: %v", name, err)
			}
			compareVars(t, name+" rewrite", back, vars)
		}
	})
}

// FuzzRoundTrip writes two arbitrary values in every readable format and
// reads them back; the yaml output is also read by a YAML 1.1 reader.
func FuzzRoundTrip(f *testing.F) {
	for _, v := range trickyVars() {
		if len(v) < 1000 {
			f.Add(v, "x")
		}
	}
	f.Add("'\r\n", `\"`)
	f.Add("a\n\n\n", "\n b")
	reg := Builtin()
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || strings.Contains(a+b, "\x00") {
			return
		}
		all := map[string]string{"A": a, "B_2": b}
		for _, name := range reg.ReadableNames() {
			format, _ := reg.Lookup(name)
			vars := carried(name, all)
			var buf bytes.Buffer
			if err := format.Write(&buf, vars, Options{}); err != nil {
				t.Fatalf("%s: Write: %v", name, err)
			}
			got, err := format.Read(buf.Bytes())
			if err != nil {
				t.Fatalf("%s: Read of Write's output: %v", name, err)
			}
			compareVars(t, name, got, vars)
			if name == "yaml" {
				var v2 map[string]any
				if err := yaml2.Unmarshal(buf.Bytes(), &v2); err != nil {
					t.Fatalf("yaml/v2: %v", err)
				}
				compareVars(t, "yaml/v2", stringsOnly(t, v2), vars)
			}
		}
	})
}
