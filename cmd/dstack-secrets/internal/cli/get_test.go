package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// set stores secrets through the library, as another dstack tool would.
func (h *harness) set(vars map[string]string) {
	h.t.Helper()
	s := h.open()
	for name, v := range vars {
		if err := s.Set(context.Background(), name, v); err != nil {
			h.t.Fatal(err)
		}
	}
}

func TestGet(t *testing.T) {
	h := newHarness(t)
	tricky := secretstest.TrickyValues()
	tricky["TOKEN"] = marker
	tricky["TRAILING_NEWLINES"] = "value\n\n"
	h.set(tricky)
	for name, want := range tricky {
		r := h.run("", "get", name)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("get %s: exit %d, stderr %q", name, r.code, r.stderr)
		}
		if r.stdout != want {
			t.Errorf("get %s printed %d bytes, want exactly the %d stored", name, len(r.stdout), len(want))
		}
	}
	// Global flags work before and after the name.
	if r := h.run("", "--project", "default", "get", "TOKEN"); r.stdout != marker {
		t.Errorf("get with --project before: %+v", r)
	}
	if r := h.run("", "get", "TOKEN", "--project", "default"); r.stdout != marker {
		t.Errorf("get with --project after: %+v", r)
	}
}

func TestGetErrors(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"TOKEN": marker})
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"get", "MISSING"}, 1, `secret not found: "MISSING"`},
		{[]string{"get", "bad-name"}, 1, "invalid secret name"},
		{[]string{"get", "--project", "nope", "TOKEN"}, 1, `unknown project "nope"`},
		{[]string{"get"}, 2, "get: missing NAME"},
		{[]string{"get", "TOKEN", "OTHER"}, 2, "get: too many arguments"},
		{[]string{"get", "-x", "TOKEN"}, 2, "get: unknown flag"},
		{[]string{"get", "-" + marker}, 2, "get: unknown flag"},
	} {
		r := h.run("", tc.args...)
		h.want(r, tc.code, tc.says)
		if r.stdout != "" {
			t.Errorf("%q printed %q on stdout", tc.args, r.stdout)
		}
	}
	r := h.runIn(t.TempDir(), "", "get", "TOKEN")
	h.want(r, 1, "not inside a git repository")
}

func TestGetHelp(t *testing.T) {
	h := newHarness(t)
	r := h.run("", "get", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "Usage: dstack-secrets get [-h] [--project PROJECT] [--version VERSION] NAME") || !strings.Contains(r.stdout, "exactly as stored") {
		t.Errorf("get -h: %+v", r)
	}
	if r := h.run("", "-h"); !strings.Contains(r.stdout, "get ") {
		t.Errorf("root help does not list get")
	}
}

// TestGetTerminal checks that on a terminal the value is still printed
// unchanged and the newline for the prompt goes to stderr.
func TestGetTerminal(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"TOKEN": "value", "NL": "value\n"})
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	for _, tc := range []struct{ name, stderr string }{{"TOKEN", "\n"}, {"NL", ""}} {
		var errb bytes.Buffer
		code := Run(context.Background(), []string{"get", tc.name}, Params{
			Stdout:  tty,
			Stderr:  &errb,
			Getenv:  func(string) string { return "" },
			HomeDir: h.home,
			Dir:     h.repo,
		})
		if code != 0 || errb.String() != tc.stderr {
			t.Errorf("get %s on a terminal: exit %d, stderr %q, want %q", tc.name, code, errb.String(), tc.stderr)
		}
	}
}
