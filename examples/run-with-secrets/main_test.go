package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// TestRunWithSecrets stores secrets for a fresh repository through the
// library and runs the example, which starts real child processes.
func TestRunWithSecrets(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	t.Setenv("HOME", t.TempDir())
	for _, v := range []string{"DSTACK_SECRETS_CONFIG", "DSTACK_SECRETS_PROJECT", "DSTACK_SECRETS_REPO"} {
		t.Setenv(v, "")
	}
	repo := filepath.Join(t.TempDir(), "repo")
	os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	os.WriteFile(filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(repo, ".git", "config"), []byte("[remote \"origin\"]\n\turl = git@github.com:org/example.git\n"), 0o644)
	t.Chdir(repo)

	ctx := context.Background()
	store, _, err := backends.Open(ctx, secrets.Target{})
	if err != nil {
		t.Fatal(err)
	}
	tricky := secretstest.TrickyValues()
	for name, v := range tricky {
		if err := store.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SINGLE", "inherited") // a secret of the same name wins

	for name, want := range tricky {
		if name == "LONG" {
			continue // checked by length below
		}
		var out, errb bytes.Buffer
		code := run(ctx, []string{"sh", "-c", `printf %s "$` + name + `"`}, strings.NewReader(""), &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if out.String() != want {
			t.Errorf("the child sees %s with %d bytes, want %d", name, out.Len(), len(want))
		}
		if !strings.Contains(errb.String(), `project "default", repository github.com/org/example`) {
			t.Errorf("stderr %q", errb.String())
		}
	}
	var out bytes.Buffer
	if code := run(ctx, []string{"sh", "-c", `printf %s "${#LONG}"`}, nil, &out, &out); code != 0 || !strings.HasSuffix(out.String(), "65536") {
		t.Errorf("LONG: exit %d, %q", code, out.String())
	}

	// The child's exit code is passed on; usage and lookup errors are not 0.
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"sh", "-c", "exit 7"}, 7},
		{nil, 2},
		{[]string{"-project", "nope", "true"}, 1},
		{[]string{"no-such-command-for-the-example"}, 127},
	} {
		if code := run(ctx, tc.args, nil, &out, &out); code != tc.code {
			t.Errorf("%q: exit %d, want %d", tc.args, code, tc.code)
		}
	}
}
