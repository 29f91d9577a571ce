package envfmt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// dockerCarries reports whether the docker format can hold v.
func dockerCarries(v string) bool {
	return !strings.Contains(v, "\n") && !strings.HasSuffix(v, "\r") && len(v) < DockerMaxLine-300
}

func TestRoundTrip(t *testing.T) {
	reg := Builtin()
	for _, name := range reg.ReadableNames() {
		f, _ := reg.Lookup(name)
		for _, set := range []struct {
			what string
			vars map[string]string
		}{
			{"tricky", trickyVars()},
			{"random", randomVars(1, 200)},
			{"empty", map[string]string{}},
		} {
			t.Run(name+"/"+set.what, func(t *testing.T) {
				vars := carried(name, set.vars)
				var buf bytes.Buffer
				if err := f.Write(&buf, vars, Options{Project: "demo"}); err != nil {
					t.Fatalf("Write: %v", err)
				}
				got, err := f.Read(buf.Bytes())
				if err != nil {
					t.Fatalf("Read of Write's output: %v", err)
				}
				compareVars(t, name, got, vars)
				// Registry.Read with the name gives the same.
				got, used, err := reg.Read(name, buf.Bytes())
				if err != nil || used != name {
					t.Fatalf("Registry.Read(%q) = format %q, %v", name, used, err)
				}
				compareVars(t, name, got, vars)
			})
		}
	}
}

// TestRoundTripDetected checks that what export writes in the formats that
// Detect knows is detected as that format and read back.
func TestRoundTripDetected(t *testing.T) {
	reg := Builtin()
	for _, name := range []string{"dotenv", "json", "yaml", "k8s"} {
		f, _ := reg.Lookup(name)
		for seed := range uint64(20) {
			vars := randomVars(seed, 1+int(seed)*3)
			if seed == 0 {
				vars = trickyVars()
			}
			vars = carried(name, vars)
			var buf bytes.Buffer
			if err := f.Write(&buf, vars, Options{}); err != nil {
				t.Fatalf("%s: Write: %v", name, err)
			}
			got, used, err := reg.Read("", buf.Bytes())
			if err != nil {
				t.Fatalf("%s: Read with detection: %v", name, err)
			}
			if used != name {
				t.Fatalf("%s output detected as %s", name, used)
			}
			compareVars(t, name, got, vars)
		}
	}
}

func TestWritersRefuseBadNamesAndValues(t *testing.T) {
	reg := Builtin()
	for _, name := range reg.Names() {
		f, _ := reg.Lookup(name)
		t.Run(name, func(t *testing.T) {
			for _, vars := range []map[string]string{
				{"BAD-NAME": "x"},
				{"1X": "x"},
				{"": "x"},
				{"OK": "ab\xff" + marker},
			} {
				var buf bytes.Buffer
				err := f.Write(&buf, vars, Options{})
				if err == nil {
					t.Fatalf("Write accepted %d bytes of bad input", buf.Len())
				}
				var e *Error
				if !errors.As(err, &e) && !strings.HasPrefix(name, "dotenv") {
					t.Fatalf("error %T is not *Error", err)
				}
				checkNoValue(t, err)
				if buf.Len() != 0 {
					t.Fatalf("Write wrote %d bytes before failing", buf.Len())
				}
			}
		})
	}
}

// failWriter fails the test on a second Write: every writer must write its
// document in one call.
type failWriter struct {
	t     *testing.T
	calls int
	buf   bytes.Buffer
}

func (w *failWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls > 1 {
		w.t.Fatalf("a writer called Write %d times", w.calls)
	}
	return w.buf.Write(p)
}

func TestWritersWriteOnce(t *testing.T) {
	reg := Builtin()
	for _, name := range reg.Names() {
		f, _ := reg.Lookup(name)
		w := &failWriter{t: t}
		if err := f.Write(w, carried(name, randomVars(3, 50)), Options{}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !utf8.Valid(w.buf.Bytes()) {
			t.Fatalf("%s: output is not UTF-8", name)
		}
	}
}

func TestRegistry(t *testing.T) {
	reg := Builtin()
	if got := strings.Join(reg.Names(), ","); got != "docker,dotenv,dotenv-godotenv,dotenv-node,dotenv-python,github,json,k8s,shell,yaml" {
		t.Fatalf("Names() = %s", got)
	}
	if got := strings.Join(reg.ReadableNames(), ","); got != "docker,dotenv,json,k8s,shell,yaml" {
		t.Fatalf("ReadableNames() = %s", got)
	}
	if _, err := reg.Lookup("toml"); err == nil || !strings.Contains(err.Error(), "docker, dotenv, dotenv-godotenv") {
		t.Fatalf("Lookup of an unknown format: %v", err)
	}
	if _, _, err := reg.Read("github", []byte("A=1\n")); err == nil || !strings.Contains(err.Error(), "cannot be imported") {
		t.Fatalf("Read of a write-only format: %v", err)
	}
	// A variant registers beside the built-ins; a duplicate panics.
	reg.Register(Format{Name: "dotenv-custom", Write: Dotenv().Write, Read: Dotenv().Read})
	if _, err := reg.Lookup("dotenv-custom"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Format{{Name: "dotenv", Write: Dotenv().Write}, {Name: "", Write: Dotenv().Write}, {Name: "x"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", bad.Name)
				}
			}()
			reg.Register(bad)
		}()
	}
	// Builtin returns a new registry each time: no global state.
	if _, err := Builtin().Lookup("dotenv-custom"); err == nil {
		t.Fatal("a format registered on one registry appeared in another")
	}
}
