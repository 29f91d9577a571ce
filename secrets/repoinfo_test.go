package secrets_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestDetectRepositoryInfo(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	top := filepath.Join(base, "work")
	gitDir := makeRepo(t, top, originConfig)
	// A linked worktree belongs to the main working tree.
	wtGit := filepath.Join(gitDir, "worktrees", "feature")
	write(t, filepath.Join(wtGit, "HEAD"), "ref: refs/heads/feature\n")
	write(t, filepath.Join(wtGit, "commondir"), "../..\n")
	wt := filepath.Join(base, "feature-wt")
	write(t, filepath.Join(wt, ".git"), "gitdir: "+wtGit+"\n")
	want := secrets.RepositoryInfo{Identity: "github.com/org/repo", WorkTree: top, PathIdentity: filepath.ToSlash(top)}
	for _, dir := range []string{top, filepath.Join(top, "sub"), wt} {
		if dir != wt {
			write(t, filepath.Join(dir, "f"), "")
		}
		if got, err := secrets.DetectRepositoryInfo(dir); err != nil || got != want {
			t.Errorf("DetectRepositoryInfo(%s) = %+v, %v; want %+v", dir, got, err, want)
		}
	}
	// Without origin, the identity is the path identity.
	local := filepath.Join(base, "local")
	makeRepo(t, local, "[core]\n\tbare = false\n")
	if got, err := secrets.DetectRepositoryInfo(local); err != nil || got.Identity != filepath.ToSlash(local) || got.PathIdentity != got.Identity || got.WorkTree != local {
		t.Errorf("no origin: %+v, %v", got, err)
	}
	if _, err := secrets.DetectRepositoryInfo(t.TempDir()); !errors.Is(err, secrets.ErrNotInRepository) {
		t.Errorf("outside a repository: %v", err)
	}
}
