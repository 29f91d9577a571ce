package secretstest

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The checks of secrets.Repositories and secrets.Move: the scopes of one
// project, and secrets following a repository whose identity changed.

// repoScope returns a scope of the suite's project for repository.
func repoScope(repository string) secrets.Scope {
	return secrets.Scope{Project: Scope().Project, Repository: repository}
}

func testRepositories(t *testing.T, open OpenFunc, opts Options) {
	ctx := ctxFor(t)
	main := mustOpen(t, open, Scope())
	mustSet(t, main, "FIRST", "1")
	mustSet(t, main, "SECOND", "2")
	layout := map[string][]string{
		"example.org/other/repo":   {"OTHER"},
		"example.com/org/repo/sub": {"NESTED"}, // below another repository
		"/home/me/src/repo":        {"L1", "L2", "L3"},
	}
	for repo, names := range layout {
		s := mustOpen(t, open, repoScope(repo))
		for _, n := range names {
			mustSet(t, s, n, "v")
		}
	}
	// A repository whose last secret was deleted is not listed.
	emptied := mustOpen(t, open, repoScope("example.com/org/emptied"))
	mustSet(t, emptied, "GONE", "g")
	if err := emptied.Delete(ctx, "GONE"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// Another project's repositories are not listed.
	other := mustOpen(t, open, secrets.Scope{Project: Scope().Project + "-other", Repository: "example.com/org/elsewhere"})
	mustSet(t, other, "FOREIGN", "f")

	got, err := secrets.Repositories(ctx, emptied)
	if opts.NoRepositories {
		if !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("Repositories with Options.NoRepositories: got %v, want an error wrapping errors.ErrUnsupported", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Repositories: %v (set Options.NoRepositories if the backend cannot list them)", err)
	}
	want := map[string]int{Scope().Repository: 2}
	for repo, names := range layout {
		want[repo] = len(names)
	}
	if !maps.Equal(got, want) {
		t.Fatalf("Repositories = %v, want %v", got, want)
	}
	got, err = secrets.Repositories(ctx, other)
	if err != nil || !maps.Equal(got, map[string]int{"example.com/org/elsewhere": 1}) {
		t.Fatalf("Repositories of the other project = %v, %v; want only its own repository", got, err)
	}
}

func testMove(t *testing.T, open OpenFunc, opts Options) {
	ctx := ctxFor(t)
	oldScope, newScope := repoScope("/home/me/src/repo"), Scope()
	src := mustOpen(t, open, oldScope)
	dst := mustOpen(t, open, newScope)
	values := TrickyValues()
	values["SHARED"] = "from the old identity"
	for n, v := range values {
		mustSet(t, src, n, v)
	}
	mustSet(t, dst, "SHARED", "already here")
	mustSet(t, dst, "KEPT", "k")

	// An existing name is refused, naming it, and nothing changes.
	moved, err := secrets.Move(ctx, src, dst, false)
	if !errors.Is(err, secrets.ErrExists) || len(moved) != 0 {
		t.Fatalf("Move onto an existing name: got %q, %v; want an error wrapping secrets.ErrExists", moved, err)
	}
	if !strings.Contains(err.Error(), "SHARED") {
		t.Errorf("the refusal does not name SHARED: %v", err)
	}
	checkList(t, src, secrets.SortedNames(values)...)
	checkValue(t, dst, "SHARED", "already here")
	checkList(t, dst, "KEPT", "SHARED")

	// With overwrite everything moves; the destination keeps its others.
	moved, err = secrets.Move(ctx, src, dst, true)
	if err != nil {
		t.Fatalf("Move with overwrite: %v", err)
	}
	if !slices.Equal(moved, secrets.SortedNames(values)) {
		t.Errorf("Move returned %q, want %q", moved, secrets.SortedNames(values))
	}
	checkList(t, mustOpen(t, open, oldScope))
	fresh := mustOpen(t, open, newScope)
	checkList(t, fresh, withKept(values)...)
	for n, v := range values {
		checkValue(t, fresh, n, v)
	}
	checkValue(t, fresh, "KEPT", "k")

	// Into an empty repository, and nothing left to move afterwards.
	renamed := repoScope("example.org/renamed/repo")
	third := mustOpen(t, open, renamed)
	moved, err = secrets.Move(ctx, fresh, third, false)
	if err != nil || len(moved) != len(values)+1 {
		t.Fatalf("Move into an empty repository: %d names, %v; want %d", len(moved), err, len(values)+1)
	}
	checkValue(t, third, "LONG", values["LONG"])
	if moved, err := secrets.Move(ctx, fresh, third, false); err != nil || len(moved) != 0 {
		t.Fatalf("Move of an empty repository: %q, %v; want nothing and no error", moved, err)
	}
	if !opts.NoRepositories {
		got, err := secrets.Repositories(ctx, third)
		if err != nil || !maps.Equal(got, map[string]int{"example.org/renamed/repo": len(values) + 1}) {
			t.Errorf("Repositories after the moves = %v, %v", got, err)
		}
	}

	// A repository cannot be moved onto itself.
	if _, err := secrets.Move(ctx, third, mustOpen(t, open, renamed), true); !errors.Is(err, secrets.ErrInvalidScope) {
		t.Errorf("Move onto the same repository: got %v, want an error wrapping secrets.ErrInvalidScope", err)
	}
	checkList(t, third, withKept(values)...)
}

// withKept returns the names of values and KEPT, sorted.
func withKept(values map[string]string) []string {
	return slices.Sorted(slices.Values(append(secrets.SortedNames(values), "KEPT")))
}
