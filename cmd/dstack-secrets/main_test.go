package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runMain runs the whole CLI in-process the way main does, in a fresh HOME
// and inside a git repository whose origin is origin. It returns the exit
// code, stdout and stderr. Tests using it must not run in parallel: it sets
// process-wide environment and working directory.
func runMain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb, false)
	return code, out.String(), errb.String()
}

// enterRepo makes a fresh HOME and git repository and changes into it.
func enterRepo(t *testing.T, origin string) string {
	t.Helper()
	t.Setenv("HOME", t.TempDir())
	t.Setenv("DSTACK_SECRETS_CONFIG", "")
	t.Setenv("DSTACK_SECRETS_PROJECT", "")
	t.Setenv("DSTACK_SECRETS_REPO", "")
	repo := filepath.Join(t.TempDir(), "repo")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(repo, ".git", "config"), []byte("[remote \"origin\"]\n\turl = "+origin+"\n"), 0o644)
	t.Chdir(repo)
	return repo
}

func TestMainZeroConfig(t *testing.T) {
	enterRepo(t, "git@github.com:org/repo.git")
	if code, _, stderr := runMain(t, "", "add", "TOKEN", "value"); code != 0 {
		t.Fatalf("add: %d %s", code, stderr)
	}
	if code, out, _ := runMain(t, "", "list"); code != 0 || out != "TOKEN\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("HOME"), ".dstack", "secrets", "default.age")); err != nil {
		t.Fatalf("default store not created: %v", err)
	}
	if code, _, stderr := runMain(t, "", "delete", "-y", "TOKEN"); code != 0 {
		t.Fatalf("delete: %d %s", code, stderr)
	}
	if code, _, stderr := runMain(t, "", "frobnicate"); code != 2 || !strings.HasPrefix(stderr, "dstack-secrets: ") {
		t.Fatalf("unknown command: %d %q", code, stderr)
	}
}
