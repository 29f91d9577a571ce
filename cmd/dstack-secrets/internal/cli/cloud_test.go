//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCloudProgram makes dstack-secrets-cloud a shell script with body for
// the rest of the test.
func fakeCloudProgram(t *testing.T, body string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dstack-secrets-cloud")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	saved := cloudProgram
	cloudProgram = func() (string, error) { return p, nil }
	t.Cleanup(func() { cloudProgram = saved })
}

// writeCloudConfig configures the project "team" on the cloud backend, as
// the default project.
func writeCloudConfig(t *testing.T, h *harness) {
	t.Helper()
	cfg := filepath.Join(h.home, ".dstack", "secrets.yml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("default_project: team\nprojects:\n  team:\n    backend: cloud\n    options:\n      url: s3://bucket/prefix\n  local:\n    backend: file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCloudProgramMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	h := newHarness(t)
	writeCloudConfig(t, h)
	for _, args := range [][]string{{"identity"}, {"share", "list"}, {"list"}, {"add", "-y", "K", marker}} {
		r := h.run("", args...)
		h.want(r, 1, "the program dstack-secrets-cloud is not installed")
		if !strings.Contains(r.stderr, "go install ./cmd/dstack-secrets-cloud") {
			t.Errorf("%q: %q does not say how to install it", args, r.stderr)
		}
	}
}

func TestIdentityAndShareRunTheCloudProgram(t *testing.T) {
	h := newHarness(t)
	fakeCloudProgram(t, `printf '%s|' "$@"; echo; echo "home=$HOME dir=$(pwd)"; read line; echo "stdin=$line"; echo "to stderr" >&2; exit ${EXIT:-0}`)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"identity"}, "identity|"},
		{[]string{"--project", "team", "identity"}, "--project|team|identity|"},
		{[]string{"share", "list", "--config", "/c.yml"}, "--config|/c.yml|share|list|"},
		{[]string{"share", "add", "ssh-ed25519 AAAA bob@host", "--name", "Bob B"}, "share|add|--name|Bob B|--|ssh-ed25519 AAAA bob@host|"},
		{[]string{"share", "remove", "SHA256:abc"}, "share|remove|--|SHA256:abc|"},
	} {
		r := h.run("typed\n", tc.args...)
		h.want(r, 0, "to stderr")
		want := tc.want + "\nhome=" + h.home + " dir=" + h.repo + "\nstdin=typed\n"
		if r.stdout != want {
			t.Errorf("%q: the program printed %q, want %q", tc.args, r.stdout, want)
		}
	}
	h.vars[projectEnvVar] = "from-env"
	if r := h.run("", "share", "list"); !strings.HasPrefix(r.stdout, "--project|from-env|share|list|") {
		t.Errorf("$%s is not passed on: %q", projectEnvVar, r.stdout)
	}
	fakeCloudProgram(t, "echo 'dstack-secrets: not a member' >&2; exit 3")
	r := h.run("", "share", "list")
	if r.code != 3 || r.stderr != "dstack-secrets: not a member\n" {
		t.Errorf("the program's failure: exit %d, stderr %q; want its exit code and its message only", r.code, r.stderr)
	}
}

func TestShareUsage(t *testing.T) {
	h := newHarness(t)
	fakeCloudProgram(t, "echo ran; exit 0")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"share"}, "share: missing list, add KEY or remove KEY"},
		{[]string{"share", "invite", "k"}, `share: unknown action "invite" (actions: list, add, remove)`},
		{[]string{"share", "add"}, "share: add needs KEY"},
		{[]string{"share", "list", "k"}, "share: list takes no KEY"},
		{[]string{"share", "remove", "k", "--name", "n"}, "share: --name goes with add only"},
		{[]string{"share", "add", "a", "b", "c"}, "share: too many arguments"},
		{[]string{"identity", "x"}, "identity: too many arguments"},
	} {
		r := h.run("", tc.args...)
		h.want(r, 2, tc.want)
		if r.stdout != "" {
			t.Errorf("%q: the program ran on a usage error", tc.args)
		}
	}
}
