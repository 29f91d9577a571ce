package envfmt

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
	k8syaml "sigs.k8s.io/yaml"
)

// yamlVars is the value set of the YAML reader tests: the tricky values,
// 200 random ones and every name that YAML 1.1 takes for a boolean.
func yamlVars() map[string]string {
	vars := randomVars(99, 200)
	maps.Copy(vars, trickyVars())
	for _, n := range []string{"y", "Y", "yes", "n", "N", "No", "true", "FALSE", "on", "OFF", "null", "Null"} {
		vars[n] = "v_" + n
	}
	return vars
}

func writeYAMLDoc(t *testing.T, vars map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := YAML().Write(&buf, vars, Options{}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestYAMLReadByYAML12 reads the output with go.yaml.in/yaml/v3 (YAML 1.2)
// into a map of interface values: every value must come back a string.
func TestYAMLReadByYAML12(t *testing.T) {
	vars := yamlVars()
	var got map[string]any
	if err := yaml.Unmarshal(writeYAMLDoc(t, vars), &got); err != nil {
		t.Fatalf("yaml/v3: %v", err)
	}
	compareVars(t, "yaml/v3", stringsOnly(t, got), vars)
}

// TestYAMLReadByYAML11 reads the output with go.yaml.in/yaml/v2, whose
// implicit types are YAML 1.1's (yes/no/on/off booleans, 0777 octal, ...).
func TestYAMLReadByYAML11(t *testing.T) {
	vars := yamlVars()
	var got map[any]any
	if err := yaml2.Unmarshal(writeYAMLDoc(t, vars), &got); err != nil {
		t.Fatalf("yaml/v2: %v", err)
	}
	m := map[string]any{}
	for k, v := range got {
		ks, ok := k.(string)
		if !ok {
			t.Fatalf("yaml/v2 read a key as %T", k)
		}
		m[ks] = v
	}
	compareVars(t, "yaml/v2", stringsOnly(t, m), vars)
}

// TestYAMLReadByKubectlYAML reads the output the way kubectl does:
// sigs.k8s.io/yaml converts YAML (1.1 rules) to JSON.
func TestYAMLReadByKubectlYAML(t *testing.T) {
	vars := yamlVars()
	j, err := k8syaml.YAMLToJSON(writeYAMLDoc(t, vars))
	if err != nil {
		t.Fatalf("sigs.k8s.io/yaml: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(j, &got); err != nil {
		t.Fatal(err)
	}
	compareVars(t, "sigs.k8s.io/yaml", stringsOnly(t, got), vars)
}

// pythonYAML returns the python3 that has PyYAML (a YAML 1.1 reader):
// $DSTACK_SECRETS_TEST_PYTHON, else /usr/bin/python3, else python3.
func pythonYAML(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("DSTACK_SECRETS_TEST_PYTHON"), "/usr/bin/python3", "python3"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		path, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import yaml").Run() == nil {
			return path
		}
	}
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatal("no python3 with PyYAML (DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set): apt-get install -y python3-yaml")
	}
	t.Skip("no python3 with PyYAML; apt-get install -y python3-yaml (scripts/test does)")
	return ""
}

// pyYAMLLoad loads doc with PyYAML's safe_load and returns it as JSON
// (non-string values stay non-strings).
func pyYAMLLoad(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	py := pythonYAML(t)
	path := filepath.Join(t.TempDir(), "doc.yaml")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	const script = `import sys, json, yaml
with open(sys.argv[1], encoding="utf-8") as f:
    d = yaml.safe_load(f)
json.dump({str(k) if not isinstance(k, str) else k: (v if isinstance(v, str) else ["not a string", type(v).__name__]) for k, v in d.items()}, sys.stdout)
`
	cmd := exec.Command(py, "-c", script, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("PyYAML: %v (%d bytes on stderr)", err, stderr.Len())
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestYAMLReadByPyYAML reads the output with PyYAML (YAML 1.1, the reader
// of Ansible and most Python tools).
func TestYAMLReadByPyYAML(t *testing.T) {
	vars := yamlVars()
	got := pyYAMLLoad(t, writeYAMLDoc(t, vars))
	compareVars(t, "PyYAML", stringsOnly(t, got), vars)
}

func stringsOnly(t *testing.T, m map[string]any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s: read as %T, not a string", k, v)
		}
		out[k] = s
	}
	return out
}

func TestYAMLWriteShape(t *testing.T) {
	doc := string(writeYAMLDoc(t, map[string]string{
		"NO":    "x",
		"PEM":   "-----BEGIN-----\nabc\n-----END-----\n",
		"TWO":   "a\nb",
		"KEEP":  "a\n\n",
		"PLAIN": "NO",
		"CTRL":  "\x01\u2028",
	}))
	want := "CTRL: \"\\x01\\u2028\"\nKEEP: |2+\n  a\n\n\"NO\": \"x\"\nPEM: |2\n  -----BEGIN-----\n  abc\n  -----END-----\nPLAIN: \"NO\"\nTWO: |2-\n  a\n  b\n"
	if doc != want {
		t.Fatalf("YAML output:\n%s\nwant:\n%s", doc, want)
	}
	if got := string(writeYAMLDoc(t, nil)); got != "{}\n" {
		t.Fatalf("empty YAML output %q", got)
	}
}

func TestYAMLRead(t *testing.T) {
	ok := []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"# only a comment\n", map[string]string{}},
		{"---\n", map[string]string{}},
		{"{}\n", map[string]string{}},
		{"A: plain text\nB: 'single'\nC: \"dq\\n\"\n", map[string]string{"A": "plain text", "B": "single", "C": "dq\n"}},
		{"A: |\n  one\n  two\n", map[string]string{"A": "one\ntwo\n"}},
		{"A: !!str 123\nB: '0x1'\n", map[string]string{"A": "123", "B": "0x1"}},
		{"---\nA: x\n...\n", map[string]string{"A": "x"}},
		{"A: &anchor x\n", map[string]string{"A": "x"}},
		{"{A: x, B: z}", map[string]string{"A": "x", "B": "z"}},
	}
	for _, tc := range ok {
		got, err := YAML().Read([]byte(tc.in))
		if err != nil {
			t.Fatalf("Read(%q): %v", tc.in, err)
		}
		compareVars(t, "yaml", got, tc.want)
	}
	m := marker
	bad := []struct{ in, want string }{
		{"A: 1\n", "line 1, column 4: A: the value is an integer, not a string; quote it"},
		{"A: x\nB: 1.5\n", "line 2, column 4: B: the value is a number"},
		{"A: true\n", "A: the value is a boolean"},
		{"A:\n", "A: the value is null"},
		{"A: ~\n", "A: the value is null"},
		{"A: 2001-12-14\n", "A: the value is a date"},
		{"A: [" + m + "]\n", "A: the value is a sequence"},
		{"A: {b: " + m + "}\n", "A: the value is a mapping"},
		{"A: !!binary " + "aGVsbG8=\n", "A: the value is binary data"},
		{"A: !custom " + m + "\n", "A: the value is a value with a custom tag"},
		{"A: yes\n", "line 1, column 4: A: the unquoted value is read as a boolean, number, null or date by YAML 1.1"},
		{"A: on\n", "YAML 1.1"},
		{"A: Off\n", "YAML 1.1"},
		{"A: 1:20\n", "YAML 1.1"},
		{"A: x\nA: " + m + "\n", "line 2, column 1: A: given more than once (also at line 1)"},
		{"A-B: " + m + "\n", "line 1, column 1: a key is not a variable name"},
		{"1: " + m + "\n", "line 1, column 1: a key is not a variable name"},
		{"? [a]\n: " + m + "\n", "complex keys"},
		{"A: &x " + m + "\nB: *x\n", "line 2, column 4: B: aliases"},
		{"<<: {A: " + m + "}\n", "merge keys (<<)"},
		{"- " + m + "\n", "expected a mapping of NAME: value, found a sequence"},
		{m + "\n", "expected a mapping of NAME: value, found a string"},
		{"A: x\n---\nB: " + m + "\n", "line 2: a second YAML document"},
		{"A: \"" + m + "\n", "not valid YAML"},
		{"A: '" + m + "\n", "not valid YAML"},
		{"A: x\n  B: " + m + "\n", "not valid YAML"},
		{"A: \"\\q" + m + "\"\n", "not valid YAML"},
		{"A: " + m + "\xff\n", "line 1: not valid UTF-8"},
		{"\tA: " + m + "\n", "not valid YAML"},
	}
	for _, tc := range bad {
		_, err := YAML().Read([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read(%q): error %v, want %q", tc.in, err, tc.want)
		}
		checkNoValue(t, err)
	}
}

// TestYAMLPlainScalarsAgree checks the reader's YAML 1.1 guard against the
// real YAML 1.1 readers: every plain scalar the reader accepts as a string
// is the same string for PyYAML and gopkg.in/yaml.v2's successor, and the
// guard is not a blanket refusal.
func TestYAMLPlainScalarsAgree(t *testing.T) {
	scalars := strings.Fields(`yes no y n on off true false null Null NULL ~ 0 1 -1 +1 017 0o17 0x1F 0b101 1_000 1:20 1:20.5
		1.5 .5 5. 1e3 1E3 1e+3 1.0e+3 -.inf .NaN .nan 2001-12-14 2001-12-14t21:59:43.10-05:00 = <<
		abc a1 1a 0x 0xg 1_ _1 1:2:3 1:60 .a a.b 1.2.3 +a -a 1e e3 1.e3 Yes,  yess nope NaN inf Inf
		12:30 127.0.0.1 v1.2 0.0.1 1,000 $1 1% 1/2 0777 0999 08 09 1__0 -0 +0 0.`)
	var doc strings.Builder
	names := map[string]string{}
	accepted := 0
	for i, s := range scalars {
		name := "S" + strings.Repeat("_", 1) + string(rune('A'+i/26)) + string(rune('A'+i%26))
		if _, err := YAML().Read([]byte(name + ": " + s + "\n")); err != nil {
			continue
		}
		accepted++
		names[name] = s
		doc.WriteString(name + ": " + s + "\n")
	}
	if accepted < 20 || accepted == len(scalars) {
		t.Fatalf("the reader accepted %d of %d plain scalars; the guard is wrong", accepted, len(scalars))
	}
	var v2 map[string]any
	if err := yaml2.Unmarshal([]byte(doc.String()), &v2); err != nil {
		t.Fatal(err)
	}
	compareVars(t, "yaml/v2 on accepted plain scalars", stringsOnly(t, v2), names)
	compareVars(t, "PyYAML on accepted plain scalars", stringsOnly(t, pyYAMLLoad(t, []byte(doc.String()))), names)
}
