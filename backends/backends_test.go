package backends_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/secrets"
)

func gitRepo(t *testing.T, origin string) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	os.WriteFile(filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".git", "config"), []byte("[remote \"origin\"]\n\turl = "+origin+"\n"), 0o644)
	return dir
}

func TestRegistryKnowsBuiltins(t *testing.T) {
	names := backends.Registry().Names()
	if len(names) == 0 || !strings.Contains(strings.Join(names, ","), "file") {
		t.Fatalf("Registry().Names() = %q", names)
	}
	// Each call returns an independent registry.
	r := backends.Registry()
	r.Register(secrets.Backend{Name: "custom", Open: func(context.Context, secrets.OpenRequest) (secrets.Store, error) { return nil, errors.New("x") }})
	for _, n := range backends.Registry().Names() {
		if n == "custom" {
			t.Fatalf("registries share state")
		}
	}
}

func TestOpenZeroConfig(t *testing.T) {
	home := t.TempDir()
	repo := gitRepo(t, "https://github.com/org/repo.git")
	env := secrets.Env{HomeDir: home, Getenv: func(string) string { return "" }}
	ctx := context.Background()
	store, r, err := backends.Open(ctx, secrets.Target{Dir: repo, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(store)
	if r.Scope != (secrets.Scope{Project: "default", Repository: "github.com/org/repo"}) || r.Backend != "file" || r.ConfigPath != "" {
		t.Errorf("resolved %+v", r)
	}
	if err := store.Set(ctx, "K", "v"); err != nil {
		t.Fatal(err)
	}
	// The same repository by URL sees the secret.
	s2, _, err := backends.Open(ctx, secrets.Target{Repository: "git@github.com:org/repo", Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s2.Get(ctx, "K"); err != nil || v != "v" {
		t.Errorf("Get through the URL: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	home := t.TempDir()
	env := secrets.Env{HomeDir: home, Getenv: func(string) string { return "" }}
	ctx := context.Background()
	_, _, err := backends.Open(ctx, secrets.Target{Dir: t.TempDir(), Env: env})
	if !errors.Is(err, secrets.ErrNotInRepository) {
		t.Errorf("outside a repository: %v", err)
	}
	cfg := &secrets.Config{Projects: map[string]secrets.ProjectConfig{"p": {Backend: "nope"}}}
	_, _, err = backends.Open(ctx, secrets.Target{Config: cfg, Repository: "github.com/o/r", Env: env})
	if !errors.Is(err, secrets.ErrUnknownBackend) || !strings.Contains(err.Error(), `project "p"`) {
		t.Errorf("unknown backend: %v", err)
	}
	_, _, err = backends.Open(ctx, secrets.Target{Project: "q", Config: cfg, Repository: "github.com/o/r", Env: env})
	if !errors.Is(err, secrets.ErrUnknownProject) {
		t.Errorf("unknown project: %v", err)
	}
}

func TestResolveRepositoryPathsAndIdentities(t *testing.T) {
	repo := gitRepo(t, "https://github.com/org/repo")
	sub := filepath.Join(repo, "github.com", "org", "other")
	os.MkdirAll(sub, 0o755)
	// A directory named like an identity does not shadow the identity.
	if got, err := secrets.ResolveRepository("github.com/org/other", repo); err != nil || got != "github.com/org/other" {
		t.Errorf("identity shadowed by a directory: %q %v", got, err)
	}
	// Path-like arguments are directories, relative to dir.
	for _, arg := range []string{".", "./github.com/org/other", repo} {
		if got, err := secrets.ResolveRepository(arg, repo); err != nil || got != "github.com/org/repo" {
			t.Errorf("ResolveRepository(%q) = %q %v", arg, got, err)
		}
	}
	if _, err := secrets.ResolveRepository("./missing", repo); !errors.Is(err, secrets.ErrNotInRepository) {
		t.Errorf("missing directory: %v", err)
	}
}
