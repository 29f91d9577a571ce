package secrets_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestNormalizeRepository(t *testing.T) {
	same := []string{
		"git@github.com:org/repo.git",
		"git@github.com:org/repo",
		"ssh://git@github.com/org/repo",
		"ssh://git@github.com:22/org/repo.git",
		"git+ssh://git@github.com/org/repo",
		"https://github.com/org/repo",
		"https://github.com/org/repo.git",
		"https://github.com/org/repo/",
		"https://user:ghp_TOKEN@github.com/org/repo.git",
		"https://oauth2:TOKEN@GitHub.COM/org/repo",
		"http://github.com:443/org/repo",
		"git://github.com/org/repo.git",
		"github.com/org/repo",
		"  github.com/org/repo.git  ",
	}
	for _, s := range same {
		got, err := secrets.NormalizeRepository(s)
		if err != nil || got != "github.com/org/repo" {
			t.Errorf("NormalizeRepository(%q) = %q, %v; want github.com/org/repo", s, got, err)
		}
		if strings.Contains(got, "TOKEN") {
			t.Errorf("credentials kept: %q", got)
		}
	}
	other := map[string]string{
		"git@gitlab.example.com:group/sub/repo.git": "gitlab.example.com/group/sub/repo",
		"https://github.com/Org/Repo":               "github.com/org/repo",
		"https://git.example.com/Org/Repo":          "git.example.com/Org/Repo",
		"git@[::1]:org/repo.git":                    "::1/org/repo",
		"ssh://git@[::1]:2222/org/repo":             "::1/org/repo",
		"localhost/org/repo":                        "localhost/org/repo",
		"file://localhost/srv/repo":                 "/srv/repo",
		"ssh://host.example/~user/repo":             "host.example/~user/repo",
		"file:///srv/git/repo.git":                  "/srv/git/repo.git",
		"/srv/git/repo":                             "/srv/git/repo",
		"/srv/git/repo/":                            "/srv/git/repo",
	}
	for in, want := range other {
		if got, err := secrets.NormalizeRepository(in); err != nil || got != want {
			t.Errorf("NormalizeRepository(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "https://github.com", "https://github.com/", "git@github.com:", "https://:pw@/x", "a\nb", "/",
		"org/repo", "https://host.example/org/repo%2Fx", "file://server/share/repo", "noslash"} {
		_, err := secrets.NormalizeRepository(bad)
		if !errors.Is(err, secrets.ErrInvalidScope) {
			t.Errorf("NormalizeRepository(%q) = %v, want ErrInvalidScope", bad, err)
		}
	}
	// A URL that fails to parse must not echo its credentials.
	_, err := secrets.NormalizeRepository("https://user:s3cr3t@exa mple.com/%zz")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("bad URL error: %v", err)
	}
}

// makeRepo creates a git repository layout (as git init does) with an
// optional origin URL, without needing the git binary.
func makeRepo(t *testing.T, top, config string) string {
	t.Helper()
	gitDir := filepath.Join(top, ".git")
	for _, d := range []string{gitDir, filepath.Join(gitDir, "objects"), filepath.Join(gitDir, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(gitDir, "HEAD"), "ref: refs/heads/main\n")
	write(t, filepath.Join(gitDir, "config"), config)
	return gitDir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const originConfig = `[core]
	repositoryformatversion = 0
	bare = false
[remote "upstream"]
	url = https://github.com/other/fork.git
[remote "origin"]
	url = git@github.com:org/repo.git
	fetch = +refs/heads/*:refs/remotes/origin/*
`

func TestDetectRepository(t *testing.T) {
	base := t.TempDir()
	top := filepath.Join(base, "work")
	gitDir := makeRepo(t, top, originConfig)
	sub := filepath.Join(top, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{top, sub} {
		if got, err := secrets.DetectRepository(dir); err != nil || got != "github.com/org/repo" {
			t.Errorf("DetectRepository(%s) = %q, %v", dir, got, err)
		}
	}

	// A linked worktree: .git is a file pointing into the main repository.
	wtGit := filepath.Join(gitDir, "worktrees", "feature")
	write(t, filepath.Join(wtGit, "HEAD"), "ref: refs/heads/feature\n")
	write(t, filepath.Join(wtGit, "commondir"), "../..\n")
	wt := filepath.Join(base, "feature-wt")
	write(t, filepath.Join(wt, ".git"), "gitdir: "+wtGit+"\n")
	if got, err := secrets.DetectRepository(filepath.Join(wt)); err != nil || got != "github.com/org/repo" {
		t.Errorf("worktree: %q, %v", got, err)
	}

	// No origin: the main working tree's path, also from a worktree.
	local := filepath.Join(base, "local")
	localGit := makeRepo(t, local, "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://x.example/a/b\n")
	want := filepath.ToSlash(local)
	if got, err := secrets.DetectRepository(local); err != nil || got != want {
		t.Errorf("no origin: %q, %v; want %q", got, err, want)
	}
	lwtGit := filepath.Join(localGit, "worktrees", "w")
	write(t, filepath.Join(lwtGit, "HEAD"), "x\n")
	write(t, filepath.Join(lwtGit, "commondir"), "../..\n")
	lwt := filepath.Join(base, "local-wt")
	write(t, filepath.Join(lwt, ".git"), "gitdir: ../local/.git/worktrees/w\n")
	if got, err := secrets.DetectRepository(lwt); err != nil || got != want {
		t.Errorf("worktree without origin: %q, %v; want %q", got, err, want)
	}

	// A relative local origin resolves against the repository.
	rel := filepath.Join(base, "rel")
	makeRepo(t, rel, "[remote \"origin\"]\n\turl = ../upstream.git\n")
	if got, err := secrets.DetectRepository(rel); err != nil || got != filepath.ToSlash(filepath.Join(base, "upstream.git")) {
		t.Errorf("relative origin: %q, %v", got, err)
	}

	// Outside any repository: the error says how to fix it.
	outside := t.TempDir()
	_, err := secrets.DetectRepository(outside)
	if !errors.Is(err, secrets.ErrNotInRepository) || !strings.Contains(err.Error(), "--repo") {
		t.Errorf("outside a repository: %v", err)
	}

	// A .git file without gitdir is reported.
	broken := filepath.Join(base, "broken")
	write(t, filepath.Join(broken, ".git"), "nonsense\n")
	if _, err := secrets.DetectRepository(broken); !errors.Is(err, secrets.ErrNotInRepository) {
		t.Errorf("broken .git file: %v", err)
	}
}

func TestGitConfigSyntax(t *testing.T) {
	cases := map[string]string{
		"[remote \"origin\"]\n\turl = \"https://github.com/org/repo\" # comment\n": "github.com/org/repo",
		"[Remote \"origin\"]\n\tURL=git@github.com:org/repo.git\n":                 "github.com/org/repo",
		"[remote.origin]\n\turl = https://github.com/org/repo\n":                   "github.com/org/repo",
		"[remote \"origin\"] url = https://github.com/org/repo\n":                  "github.com/org/repo",
		// Escapes in a quoted subsection: \" and \\ are kept as the
		// character, a backslash before any other character is dropped.
		"[remote \"ori\\\"gin\"]\n\turl = https://wrong.example/x/y\n[remote \"\\o\\r\\igin\"]\n\turl = https://github.com/org/repo\n":                                     "github.com/org/repo",
		"[remote \"origin\\\\\"]\n\turl = https://wrong.example/x/y\n[remote \"origin\"]\n\turl = https://github.com/org/repo\n":                                           "github.com/org/repo",
		"; c\n# c\n[remote \"Origin\"]\n\turl = https://wrong.example/x/y\n[remote \"origin\"]\n\turl = https://github.com/org/repo\n\turl = https://second.example/a/b\n": "github.com/org/repo",
	}
	for cfg, want := range cases {
		dir := t.TempDir()
		makeRepo(t, dir, cfg)
		if got, err := secrets.DetectRepository(dir); err != nil || got != want {
			t.Errorf("config %q: got %q, %v; want %q", cfg, got, err, want)
		}
	}
}

func FuzzNormalizeRepository(f *testing.F) {
	for _, s := range []string{"git@github.com:org/repo.git", "https://u:p@h.example/a/b", "/srv/x", "ssh://h:22/x", "file:///a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := secrets.NormalizeRepository(s)
		if err != nil {
			if !errors.Is(err, secrets.ErrInvalidScope) {
				t.Fatalf("error does not wrap ErrInvalidScope: %v", err)
			}
			return
		}
		if err := (secrets.Scope{Project: "p", Repository: id}).Validate(); err != nil {
			t.Fatalf("NormalizeRepository(%q) = %q, which is not a valid scope: %v", s, id, err)
		}
		host, rest, _ := strings.Cut(id, "/")
		if !strings.HasPrefix(id, "/") && !strings.ContainsAny(host, ".:") && host != "localhost" && !strings.Contains(rest, "/") {
			return // "h/x" from ssh://h/x: documented as not re-enterable without a scheme
		}
		again, err := secrets.NormalizeRepository(id)
		if err != nil || again != id {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", s, id, again, err)
		}
	})
}

// TestResolveDetected: Resolve returns the repository it detected on disk,
// with its working tree, so that a program need not detect it again; a
// repository named by its identity detects nothing.
func TestResolveDetected(t *testing.T) {
	top := t.TempDir()
	makeRepo(t, top, "[remote \"origin\"]\n\turl = git@github.com:org/repo.git\n")
	sub := filepath.Join(top, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(top)
	if err != nil {
		t.Fatal(err)
	}
	cfg := secrets.DefaultConfig()
	want, err := secrets.DetectRepositoryInfo(sub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ repo, dir string }{{"", sub}, {"./sub", top}, {real, ""}} {
		r, err := secrets.Resolve(secrets.Target{Repository: tc.repo, Dir: tc.dir, Config: cfg})
		if err != nil {
			t.Fatalf("repo %q dir %q: %v", tc.repo, tc.dir, err)
		}
		if r.Detected != want || r.Detected.WorkTree != real || r.Scope.Repository != "github.com/org/repo" {
			t.Errorf("repo %q dir %q: Detected %+v, repository %q; want %+v", tc.repo, tc.dir, r.Detected, r.Scope.Repository, want)
		}
	}
	r, err := secrets.Resolve(secrets.Target{Repository: "github.com/org/repo", Dir: sub, Config: cfg})
	if err != nil || r.Detected != (secrets.RepositoryInfo{}) {
		t.Errorf("a repository named by its identity: Detected %+v, %v; want zero", r.Detected, err)
	}
}
