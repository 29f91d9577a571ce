package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// setOrigin points the harness repository's origin at url, as
// "git remote add origin" or "git remote set-url origin" do (with the git
// program when it is installed).
func (h *harness) setOrigin(url string) {
	h.t.Helper()
	if _, err := exec.LookPath("git"); err == nil {
		verb := "add"
		if out, _ := exec.Command("git", "-C", h.repo, "remote").Output(); strings.Contains(string(out), "origin") {
			verb = "set-url"
		}
		if out, err := exec.Command("git", "-C", h.repo, "remote", verb, "origin", url).CombinedOutput(); err != nil {
			h.t.Fatalf("git remote %s: %v: %s", verb, err, out)
		}
		return
	}
	gitInit(h.t, h.repo, url)
}

// newLocalHarness is a harness whose repository has no remote yet.
func newLocalHarness(t *testing.T) (*harness, string) {
	t.Helper()
	h := &harness{t: t, home: t.TempDir(), repo: filepath.Join(t.TempDir(), "my-app"), vars: map[string]string{}}
	if _, err := exec.LookPath("git"); err == nil {
		if out, err := exec.Command("git", "init", "-q", h.repo).CombinedOutput(); err != nil {
			t.Fatalf("git init: %v: %s", err, out)
		}
	} else {
		gitInit(t, h.repo, "")
	}
	id, err := secrets.DetectRepository(h.repo)
	if err != nil {
		t.Fatal(err)
	}
	return h, id
}

// moveArgs splits the move command of a hint into arguments.
func moveArgs(t *testing.T, stderr string) []string {
	t.Helper()
	_, cmd, ok := strings.Cut(stderr, "move them here with: dstack-secrets ")
	if !ok {
		t.Fatalf("no move command in %q", stderr)
	}
	cmd, _, _ = strings.Cut(cmd, "\n")
	cmd, _, _ = strings.Cut(cmd, " (other candidates")
	return strings.Fields(cmd)
}

// TestIssue12RepositoryIdentity replays friction 1 of issue 12: secrets
// added in a repository without a remote seemed to vanish once "git remote
// add origin" changed its identity. Now list, run and get say where they
// are, with the command that moves them; move brings them back.
func TestIssue12RepositoryIdentity(t *testing.T) {
	h, pathID := newLocalHarness(t)
	h.want(h.run("", "add", "-y", "TOKEN", marker), 0, "Added secret TOKEN in project \"default\" (repository "+pathID+")")
	h.want(h.run("", "add", "-y", "OTHER", "v"), 0, "")
	h.setOrigin("git@github.com:org/my-app.git")

	wantCmd := "dstack-secrets move --from-repo " + shellWord(pathID)
	r := h.run("", "list")
	h.want(r, 0, `note: repository github.com/org/my-app holds no secrets in project "default", but `+pathID+" (this working tree's path, its identity without an origin remote) holds 2 secrets; if they are this repository's, move them here with: "+wantCmd+"\n")
	if r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("list: one note on stderr and nothing on stdout expected: %+v", r)
	}
	h.want(h.run("", "get", "TOKEN"), 1, "note: TOKEN is not in repository github.com/org/my-app, but "+pathID+" (this working tree's path, its identity without an origin remote) holds it and 1 more; if they are this repository's, move them here with: "+wantCmd+"\n")
	h.want(h.run("", "run", "--", "true"), 0, wantCmd)
	if h.run("", "get", "NOWHERE").stderr != "dstack-secrets: secret not found: \"NOWHERE\" in project \"default\", repository github.com/org/my-app (backend file, file "+filepath.Join(h.home, ".dstack", "secrets", "default.age")+")\n" {
		t.Errorf("a name no repository holds got a hint")
	}
	if got := h.list(); len(got) != 0 {
		t.Fatalf("the hint moved something: %q", got)
	}

	// The exact command of the note moves them, all at once.
	h.want(h.run("", moveArgs(t, r.stderr)...), 0, `Moved 2 secrets of project "default" from repository `+pathID+" to repository github.com/org/my-app: OTHER, TOKEN\n")
	if got := strings.Join(h.list(), ","); got != "OTHER,TOKEN" {
		t.Fatalf("after move: %q", got)
	}
	if r := h.run("", "list"); strings.Contains(r.stderr, "note:") {
		t.Errorf("a note with secrets present: %q", r.stderr)
	}

	// The remote is renamed: the identity recorded for this working tree
	// is found without guessing (the names differ).
	h.setOrigin("https://github.com/org/renamed.git")
	r = h.run("", "list")
	h.want(r, 0, "but github.com/org/my-app (an earlier identity of this working tree) holds 2 secrets; if they are this repository's, move them here with: dstack-secrets move --from-repo github.com/org/my-app\n")
	// Overwriting needs -y.
	h.want(h.run("", "add", "-y", "TOKEN", "newer"), 0, "")
	h.want(h.run("", "move", "--from-repo", "github.com/org/my-app"), 1, `1 secret already exists in project "default" (repository github.com/org/renamed): TOKEN; pass -y to overwrite (nothing was moved)`)
	h.want(h.run("", "move", "--from-repo", "github.com/org/my-app", "-y"), 0, "Moved 2 secrets of project \"default\" from repository github.com/org/my-app to repository github.com/org/renamed: OTHER, TOKEN (1 overwritten: TOKEN)")
	if v := h.run("", "get", "TOKEN"); v.stdout != marker {
		t.Errorf("the moved value did not overwrite")
	}
}

// TestHintSameName checks the last rule: an identity whose last path
// segments match (another host, another owner) is suggested, and with
// --project and --repo the command carries them.
func TestHintSameName(t *testing.T) {
	h := newHarness(t) // origin github.com/org/repo
	h.want(h.run("", "add", "-y", "--repo", "gitlab.com/org/repo", "A", "a"), 0, "")
	h.want(h.run("", "add", "-y", "--repo", "github.com/fork/repo", "B", "b"), 0, "")
	h.want(h.run("", "add", "-y", "--repo", "github.com/org/unrelated", "C", "c"), 0, "")
	r := h.run("", "list")
	h.want(r, 0, "but gitlab.com/org/repo (a repository of the same name) holds 1 secret; if they are this repository's, move them here with: dstack-secrets move --from-repo gitlab.com/org/repo (other candidates: github.com/fork/repo (1 secret); dstack-secrets repos lists every repository)\n")
	if strings.Contains(r.stderr, "unrelated") {
		t.Errorf("an unrelated repository was suggested: %q", r.stderr)
	}
	r = h.run("", "list", "--project", "default", "--repo", "bitbucket.org/x/repo")
	h.want(r, 0, "move them here with: dstack-secrets move --from-repo github.com/fork/repo --project default --to-repo bitbucket.org/x/repo (other")
	h.want(h.run("", moveArgs(t, r.stderr)...), 0, "Moved 1 secret of project \"default\" from repository github.com/fork/repo to repository bitbucket.org/x/repo: B")
}

// countingRepos is the file store with its Repositories calls counted.
type countingRepos struct {
	*file.Store
	calls *atomic.Int32
}

func (c countingRepos) Repositories(ctx context.Context) (map[string]int, error) {
	c.calls.Add(1)
	return c.Store.Repositories(ctx)
}

// TestHintCostsNothingWithSecrets checks that list, run and get do not
// list the project's repositories when the current one has secrets.
func TestHintCostsNothingWithSecrets(t *testing.T) {
	h := newHarness(t)
	var calls atomic.Int32
	reg := secrets.NewRegistry(secrets.NewBackend("file", "counted", func(ctx context.Context, scope secrets.Scope, opts file.Options) (secrets.Store, error) {
		s, err := file.Open(ctx, scope, opts)
		if err != nil {
			return nil, err
		}
		return secrets.Wrap(countingRepos{secrets.Unwrap(s).(*file.Store), &calls}, secrets.Info{Backend: "file", Scope: scope}), nil
	}))
	run := func(args ...string) result {
		var out, errb bytes.Buffer
		code := Run(context.Background(), args, Params{Stdout: &out, Stderr: &errb, HomeDir: h.home, Dir: h.repo, Registry: reg, Getenv: func(string) string { return "" }})
		return result{out.String(), errb.String(), code}
	}
	run("add", "-y", "--repo", "/old/repo", "X", "x")
	if r := run("list"); r.code != 0 || calls.Load() != 1 {
		t.Fatalf("an empty list: %d listings of the repositories (%+v)", calls.Load(), r)
	}
	run("add", "-y", "HERE", "h")
	calls.Store(0)
	for _, args := range [][]string{{"list"}, {"get", "HERE"}, {"run", "true"}, {"add", "-y", "MORE", "m"}, {"export"}} {
		if r := run(args...); r.code != 0 {
			t.Errorf("%q: %+v", args, r)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d listings of the repositories with secrets present, want 0", n)
	}
}

func TestReposCommand(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "repos"), 0, "No repository holds secrets in project \"default\"\n")
	for i, repo := range []string{"github.com/org/repo", "file:///home/me/old", "github.com/org/repo"} {
		h.want(h.run("", "add", "-y", "--repo", repo, "K"+strings.Repeat("X", i), "v"), 0, "")
	}
	r := h.run("", "repos")
	want := "/home/me/old         1 secret\ngithub.com/org/repo  2 secrets  (current)\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("repos: %+v, want stdout %q", r, want)
	}
	var rows []repoRow
	r = h.run("", "repos", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || !slices.Equal(rows, []repoRow{{"/home/me/old", 1, false}, {"github.com/org/repo", 2, true}}) {
		t.Errorf("repos --json: %q, %v", r.stdout, err)
	}
	// Outside any repository it still lists the project's.
	outside := t.TempDir()
	if r := h.runIn(outside, "", "repos"); r.code != 0 || r.stdout != "/home/me/old         1 secret\ngithub.com/org/repo  2 secrets\n" {
		t.Errorf("repos outside a repository: %+v", r)
	}
	h.want(h.run("", "repos", "extra"), 2, "repos: too many arguments")
}

func TestMoveRefusals(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "move"), 2, "move: missing --from-repo OLD")
	h.want(h.run("", "move", "--from-repo", "github.com/org/repo"), 2, "--from-repo and the destination are both repository github.com/org/repo")
	h.want(h.run("", "move", "--from-repo", "github.com/none/such"), 1, `repository github.com/none/such holds no secrets in project "default" ('dstack-secrets repos' lists the repositories that do); nothing was moved`)
	h.want(h.run("", "move", "--from-repo", "not a url"), 1, "--from-repo: invalid scope")
	// A path is an identity here, not looked up: the working tree's own
	// path names its old identity although it has a remote now.
	id, _ := secrets.DetectRepositoryInfo(h.repo)
	h.want(h.run("", "add", "-y", "--repo", "github.com/org/old", "A", "a"), 0, "")
	h.want(h.run("", "move", "--from-repo", "github.com/org/old", "--to-repo", id.PathIdentity), 0, "to repository "+id.PathIdentity+": A")
	if got := h.run("", "list", "--repo", id.WorkTree); got.stdout != "" {
		t.Errorf("--repo DIR is the detected identity, not the path one: %q", got.stdout)
	}
}

func TestRepositoryIndex(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "list"), 0, "")
	path := filepath.Join(h.home, ".dstack", repoIndexFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("index: %v %v", fi, err)
	}
	before, _ := os.ReadFile(path)
	h.want(h.run("", "list"), 0, "")
	if fi2, _ := os.Stat(path); !fi2.ModTime().Equal(fi.ModTime()) {
		t.Errorf("an unchanged index was written again")
	}
	// --repo records nothing.
	h.want(h.run("", "list", "--repo", "github.com/else/where"), 0, "")
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("--repo changed the index")
	}
	// A damaged index is ignored with a warning, then rewritten.
	os.WriteFile(path, []byte("{not json"), 0o600)
	r := h.run("", "list")
	h.want(r, 0, "dstack-secrets: warning: ignoring the repository index "+path+" (not valid JSON); it is rewritten when a working tree gets a new identity\n")
	if r := h.run("", "list"); r.stderr != "" {
		t.Errorf("the index was not rewritten: %q", r.stderr)
	}
	// Bounded: trees and identities per tree.
	a := &app{Params: Params{HomeDir: h.home, Stderr: &bytes.Buffer{}}}
	a.env = secrets.Env{HomeDir: h.home}
	for i := range indexTrees + 20 {
		a.remember(secrets.RepositoryInfo{WorkTree: "/w/" + strings.Repeat("t", i%5) + string(rune('a'+i%26)) + strings.Repeat("x", i), Identity: "github.com/o/r"})
	}
	for i := range indexIdentities + 3 {
		a.remember(secrets.RepositoryInfo{WorkTree: h.repo, Identity: "github.com/o/r" + strings.Repeat("x", i)})
	}
	idx := a.loadIndex(path)
	if len(idx.WorkTrees) != indexTrees {
		t.Errorf("%d working trees kept, want %d", len(idx.WorkTrees), indexTrees)
	}
	if ids := a.recorded(h.repo); len(ids) != indexIdentities || ids[0] != "github.com/o/r"+strings.Repeat("x", indexIdentities+2) {
		t.Errorf("identities of a tree: %q", ids)
	}
}

// BenchmarkRememberWorkTree measures what every command that opens a
// store pays for the repository index when nothing changes (the working
// tree's identity is known): reading the index once, in a new invocation
// (the repository itself is detected by Resolve, outside this measure).
// BenchmarkListCommand is the whole "list" it is part of.
func BenchmarkRememberWorkTree(b *testing.B) {
	h := benchHarness(b)
	info, err := secrets.DetectRepositoryInfo(h.repo)
	if err != nil {
		b.Fatal(err)
	}
	newApp := func() *app {
		a := &app{Params: Params{HomeDir: h.home, Dir: h.repo, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}}
		a.env = secrets.Env{HomeDir: h.home}
		return a
	}
	newApp().rememberWorkTree(info)
	b.ResetTimer()
	for b.Loop() {
		newApp().rememberWorkTree(info)
	}
}

// BenchmarkListCommand is "dstack-secrets list" of 20 secrets, in process.
func BenchmarkListCommand(b *testing.B) {
	h := benchHarness(b)
	run := func(args ...string) {
		var out, errb bytes.Buffer
		if code := Run(context.Background(), args, Params{Stdout: &out, Stderr: &errb, HomeDir: h.home, Dir: h.repo, Getenv: func(string) string { return "" }}); code != 0 {
			b.Fatalf("%q: %s", args, errb.String())
		}
	}
	for i := range 20 {
		run("add", "-y", "S"+strings.Repeat("X", i), "value")
	}
	b.ResetTimer()
	for b.Loop() {
		run("list")
	}
}

// benchHarness lays out a home directory and a repository for a benchmark.
func benchHarness(b *testing.B) *harness {
	h := &harness{home: b.TempDir(), repo: filepath.Join(b.TempDir(), "repo")}
	gitInit(b, h.repo, "git@github.com:org/repo.git")
	return h
}

// TestParseIndex checks the hand-written decoding of the repository index
// against what writeIndex writes, and its refusals of other shapes.
func TestParseIndex(t *testing.T) {
	when := time.Date(2026, 12, 1, 21, 18, 56, 687857483, time.UTC)
	want := &repoIndex{Version: indexVersion, WorkTrees: map[string]*indexTree{
		"/w/a": {Identities: []string{"github.com/o/a", "/w/a"}, Updated: when},
		"/w/b": {Identities: []string{"github.com/o/b"}, Updated: when.Truncate(time.Second)},
	}}
	path := filepath.Join(t.TempDir(), repoIndexFile)
	if err := writeIndex(path, want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, why := parseIndex(data)
	if got == nil {
		t.Fatalf("writeIndex's output refused: %s", why)
	}
	if len(got.WorkTrees) != len(want.WorkTrees) {
		t.Fatalf("%d trees, want %d", len(got.WorkTrees), len(want.WorkTrees))
	}
	for tree, w := range want.WorkTrees {
		g := got.WorkTrees[tree]
		if g == nil || !slices.Equal(g.Identities, w.Identities) || !g.Updated.Equal(w.Updated) {
			t.Errorf("tree %s: got %+v, want %+v", tree, g, w)
		}
	}
	if got, _ := parseIndex([]byte(`{"version": 1, "worktrees": {"/w/a": null, "/w/b": {}}}`)); got == nil || len(got.WorkTrees) != 1 || got.WorkTrees["/w/b"] == nil {
		t.Errorf("a tree without a value is dropped and an empty one kept: %+v", got)
	}
	for doc, why := range map[string]string{
		`{"version": 1, "worktrees": {`:          "not valid JSON",
		`[]`:                                     "not an index of this version",
		`{"version": 2, "worktrees": {}}`:        "not an index of this version",
		`{"version": "1", "worktrees": {}}`:      "not an index of this version",
		`{"version": 1}`:                         "not an index of this version",
		`{"version": 1, "worktrees": []}`:        "not an index of this version",
		`{"version": 1, "worktrees": {"/w": 3}}`: "not an index of this version",
		`{"version": 1, "worktrees": {"/w": {"identities": "x"}}}`:      "not an index of this version",
		`{"version": 1, "worktrees": {"/w": {"identities": [1]}}}`:      "not an index of this version",
		`{"version": 1, "worktrees": {"/w": {"updated": "yesterday"}}}`: "not an index of this version",
		`{"version": 1, "worktrees": {"/w": {"updated": 1733087936}}}`:  "not an index of this version",
	} {
		if got, gotWhy := parseIndex([]byte(doc)); got != nil || gotWhy != why {
			t.Errorf("%s: got %+v, %q; want refused as %q", doc, got, gotWhy, why)
		}
	}
}
