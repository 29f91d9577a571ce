package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
)

// runEnv runs the CLI with an explicit base environment for the child.
func (h *harness) runEnv(base []string, stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Params{
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errb,
		Getenv:  func(k string) string { return h.vars[k] },
		Environ: base,
		HomeDir: h.home,
		Dir:     h.repo,
	})
	r := result{out.String(), errb.String(), code}
	if strings.Contains(r.stderr, marker) {
		h.t.Errorf("stderr of %q contains a secret value", args)
	}
	return r
}

// parseEnv0 parses the output of "env -0".
func parseEnv0(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(out, "\x00"), "\x00") {
		if kv == "" {
			continue
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("env -0 printed an entry without '='")
		}
		if _, dup := m[name]; dup {
			t.Errorf("the child's environment has %s twice", name)
		}
		m[name] = value
	}
	return m
}

func needCommands(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat("/usr/bin/" + n); err != nil {
			if _, err := os.Stat("/bin/" + n); err != nil {
				t.Skipf("no %s on this system", n)
			}
		}
	}
}

func TestRunEnvironment(t *testing.T) {
	needCommands(t, "env", "sh")
	h := newHarness(t)
	tricky := trickyWithMarker()
	tricky["SHARED"] = "from the secret"
	h.set(tricky)
	base := []string{"PATH=" + os.Getenv("PATH"), "INHERITED=kept", "SHARED=inherited", "SHARED=inherited twice"}
	for _, tc := range []struct {
		name   string
		args   []string
		shared string
	}{
		{"override", []string{"run", "--no-mask", "env", "-0"}, "from the secret"},
		{"override with --", []string{"run", "--no-mask", "--", "env", "-0"}, "from the secret"},
		{"--no-override", []string{"run", "--no-mask", "--no-override", "env", "-0"}, "inherited twice"},
		{"global flag before run", []string{"--project", "default", "run", "--no-mask", "--no-override", "--", "env", "-0"}, "inherited twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.runEnv(base, "", tc.args...)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			env := parseEnv0(t, r.stdout)
			if env["INHERITED"] != "kept" || env["PATH"] != os.Getenv("PATH") {
				t.Errorf("inherited variables lost")
			}
			if env["SHARED"] != tc.shared {
				t.Errorf("SHARED = %q, want %q", env["SHARED"], tc.shared)
			}
			for name, want := range tricky {
				if name != "SHARED" && env[name] != want {
					t.Errorf("the child sees %s with %d bytes, want the %d stored", name, len(env[name]), len(want))
				}
			}
			if len(env) != len(tricky)+2 {
				t.Errorf("the child has %d variables, want %d", len(env), len(tricky)+2)
			}
		})
	}
	// The command's own flags pass through untouched: env -u removes a
	// variable, env -i empties the environment.
	r := h.runEnv(base, "", "run", "--no-mask", "env", "-0", "-u", "TOKEN", "-u", "INHERITED")
	env := parseEnv0(t, r.stdout)
	if _, ok := env["TOKEN"]; ok || r.code != 0 {
		t.Errorf("env -u TOKEN was not passed to env: exit %d", r.code)
	}
	if r := h.runEnv(base, "", "run", "env", "-i"); r.code != 0 || r.stdout != "" {
		t.Errorf("run env -i: %+v", r)
	}
	r = h.runEnv(base, "", "run", "sh", "-c", `printf '[%s]' "$@"`, "sh", "--project", "x", "-y", "--", "-h", "--no-override")
	if r.stdout != "[--project][x][-y][--][-h][--no-override]" {
		t.Errorf("arguments after COMMAND were changed: %q", r.stdout)
	}
	// Standard input reaches the command (and what it prints is masked).
	if r := h.runEnv(base, "piped "+marker, "run", "--no-mask", "sh", "-c", "cat"); r.stdout != "piped "+marker {
		t.Errorf("stdin did not reach the command: %d bytes", len(r.stdout))
	}
	if r := h.runEnv(base, "piped "+marker, "run", "sh", "-c", "cat"); r.stdout != "piped ***" {
		t.Errorf("the command's echo of a secret was not masked: %d bytes", len(r.stdout))
	}
	// With no base environment given, the child inherits the process's.
	t.Setenv("DSTACK_SECRETS_RUN_TEST", "from the process")
	if r := h.run("", "run", "sh", "-c", `printf %s "$DSTACK_SECRETS_RUN_TEST"`); r.stdout != "from the process" {
		t.Errorf("process environment not inherited: %q", r.stdout)
	}
}

func TestRunExitCodes(t *testing.T) {
	needCommands(t, "sh")
	h := newHarness(t)
	h.set(map[string]string{"TOKEN": marker})
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script.sh")
	os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644)
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("\x7fELF garbage"), 0o755)
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"success", []string{"run", "true"}, 0, ""},
		{"failure", []string{"run", "false"}, 1, ""},
		{"exit code 3", []string{"run", "sh", "-c", "exit 3"}, 3, ""},
		{"exit code 255", []string{"run", "sh", "-c", "exit 255"}, 255, ""},
		{"killed by SIGTERM", []string{"run", "sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"killed by SIGKILL", []string{"run", "sh", "-c", "kill -KILL $$"}, 128 + 9, ""},
		{"not in PATH", []string{"run", "no-such-command"}, 127, `run: command "no-such-command" not found (check its spelling and PATH)`},
		{"missing path", []string{"run", "/nonexistent/prog"}, 127, `run: command "/nonexistent/prog" not found`},
		{"not executable", []string{"run", notExec}, 126, "run: the command cannot be executed"},
		{"directory", []string{"run", dir}, 126, "run: the command cannot be executed"},
		{"not a program", []string{"run", garbage}, 126, "run: the command cannot be executed: exec format error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.run("", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if tc.says == "" && r.stderr != "" {
				t.Errorf("stderr %q, want nothing from dstack-secrets", r.stderr)
			}
			if tc.says != "" {
				h.want(r, tc.code, tc.says)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	needCommands(t, "sh")
	h := newHarness(t)
	h.set(map[string]string{"TOKEN": marker})
	touched := filepath.Join(t.TempDir(), "started")
	child := []string{"sh", "-c", "touch " + touched}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"run"}, 2, "run: missing COMMAND"},
		{[]string{"run", "--"}, 2, "run: missing COMMAND"},
		{append([]string{"run", "-x"}, child...), 2, "run: unknown flag"},
		{append([]string{"run", "--no-override=" + marker}, child...), 2, "yes/no flag"},
		{append([]string{"run", "--project", "nope"}, child...), 1, `unknown project "nope"`},
	} {
		h.want(h.run("", tc.args...), tc.code, tc.says)
	}
	// Secrets that cannot be read: the command is not started.
	os.WriteFile(filepath.Join(h.home, ".dstack", "secrets", "default.age"), []byte("age-encryption.org/v1\ngarbage"), 0o600)
	h.want(h.run("", append([]string{"run"}, child...)...), 1, "default.age")
	if _, err := os.Stat(touched); err == nil {
		t.Errorf("the command was started although the secrets could not be read")
	}
	h.want(h.runIn(t.TempDir(), "", append([]string{"run"}, child...)...), 1, "not inside a git repository")
	if _, err := os.Stat(touched); err == nil {
		t.Errorf("the command was started outside a repository")
	}
	if r := h.run("", "run", "-h"); r.code != 0 || !strings.Contains(r.stdout, "Usage: dstack-secrets run [-h] [--no-override] [--no-mask] [--file NAME=ENVVAR]... [--] COMMAND [ARGS...]") {
		t.Errorf("run -h: %+v", r)
	}
}

// TestManySecrets imports 1,000 secrets (100 with -short), runs a command that gets all
// of them in its environment, and exports them back.
func TestManySecrets(t *testing.T) {
	needCommands(t, "env")
	h := newHarness(t)
	n := 1000
	if testing.Short() {
		n = 100
	}
	var doc strings.Builder
	want := map[string]string{}
	for i := 0; i < n; i++ {
		name, value := fmt.Sprintf("SECRET_%04d", i), fmt.Sprintf("value %d\nwith \"quotes\" and %s", i, marker)
		want[name] = value
		fmt.Fprintf(&doc, "export %s='%s'\n", name, value)
	}
	h.want(h.run(doc.String(), "import", "-"), 0, fmt.Sprintf("Imported %d secrets", n))
	if got := h.all(); !maps.Equal(got, want) {
		t.Fatalf("imported %d secrets, want %d with the same values", len(got), len(want))
	}

	r := h.runEnv([]string{"PATH=" + os.Getenv("PATH")}, "", "run", "--no-mask", "env", "-0")
	if r.code != 0 {
		t.Fatalf("run: exit %d, stderr %q", r.code, r.stderr)
	}
	env := parseEnv0(t, r.stdout)
	delete(env, "PATH")
	if !maps.Equal(env, want) {
		t.Errorf("the command got %d variables, want the %d secrets byte for byte", len(env), len(want))
	}

	exp := h.run("", "export")
	entries, err := dotenv.Parse([]byte(exp.stdout))
	if err != nil || len(entries) != n {
		t.Fatalf("export of %d secrets: %d entries, %v", n, len(entries), err)
	}
	for _, e := range entries {
		if want[e.Name] != e.Value {
			t.Errorf("export changed %s", e.Name)
		}
	}
	if names := h.list(); !slices.IsSorted(names) || len(names) != n {
		t.Errorf("list: %d names", len(names))
	}
}

func TestRunFileErrors(t *testing.T) {
	needCommands(t, "sh")
	h := newHarness(t)
	h.set(map[string]string{"KEY": marker})
	touched := filepath.Join(t.TempDir(), "started")
	child := []string{"--", "sh", "-c", "touch " + touched}
	for _, tc := range []struct {
		flag string
		code int
		msg  string
	}{
		{"MISSING=CRED", 1, "MISSING (the command was not started)"},
		{"KEY", 2, "expected NAME=ENVVAR"},
		{"KEY=", 2, "expected NAME=ENVVAR"},
		{"KEY=BAD-VAR", 2, "expected NAME=ENVVAR"},
		{"1KEY=CRED", 2, "digit"},
	} {
		r := h.run("", append([]string{"run", "--file", tc.flag}, child...)...)
		h.want(r, tc.code, tc.msg)
		if _, err := os.Stat(touched); err == nil {
			t.Fatalf("--file %s: the command was started", tc.flag)
		}
	}
	r := h.run("", "run", "--file", "KEY=CRED", "--file", "KEY=CRED2", "--", "sh", "-c", `test "$(cat "$CRED")" = "$(cat "$CRED2")" && test "$(cat "$CRED")" = "$KEY"`)
	h.want(r, 0, "")
}

// TestRunMasks: the command's stdout and stderr show no secret value, nor
// its base64, URL or JSON forms; short values are named on stderr.
func TestRunMasks(t *testing.T) {
	needCommands(t, "sh")
	h := newHarness(t)
	h.set(map[string]string{"TOKEN": marker, "SHORT": "abc"})
	script := `printf 'out %s\n' "$TOKEN"; printf 'err %s\n' "$TOKEN" >&2; printf '%s' "$TOKEN" | base64; printf 'short %s\n' "$SHORT"`
	r := h.run("", "run", "sh", "-c", script)
	if r.code != 0 || strings.Contains(r.stdout, marker) || strings.Contains(r.stderr, marker) {
		t.Fatalf("exit %d; a value reached the output", r.code)
	}
	if !strings.Contains(r.stdout, "out ***\n") || !strings.Contains(r.stderr, "err ***\n") {
		t.Errorf("stdout %q, stderr %q: want the value shown as ***", r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout, base64.StdEncoding.EncodeToString([]byte(marker))[:12]) {
		t.Errorf("the base64 form of a value reached the output: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "short abc") || !strings.Contains(r.stderr, "not masked in the output (shorter than 6 bytes): SHORT") {
		t.Errorf("a short value: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	r = h.run("", "run", "--mask-format", "name", "sh", "-c", `printf '%s' "$TOKEN"`)
	if r.stdout != "<TOKEN>" {
		t.Errorf("--mask-format name: %q", r.stdout)
	}
	h.want(h.run("", "run", "--mask-format", "dots", "true"), 2, "use stars or name")
}
