package secrets_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// deleteFailing is a mem store whose Delete fails after allow successful
// calls, and, with setsFail, whose Set fails too (the undo then fails).
type deleteFailing struct {
	*mem
	allow    int
	deletes  int
	setsFail bool
}

func (d *deleteFailing) Delete(ctx context.Context, name string) error {
	d.deletes++
	if d.deletes > d.allow {
		return errors.New("backend gone")
	}
	return d.mem.Delete(ctx, name)
}

func (d *deleteFailing) Set(ctx context.Context, name, value string) error {
	if d.setsFail {
		return errors.New("backend still gone")
	}
	return d.mem.Set(ctx, name, value)
}

var oldScope = secrets.Scope{Project: "p", Repository: "/home/me/repo"}

func TestMoveUndoesAFailedDelete(t *testing.T) {
	ctx := context.Background()
	for allow := range 3 {
		src := &deleteFailing{mem: newMem(), allow: allow}
		src.data = map[string]string{"A": "a", "B": "b", "C": "c"}
		dst := newMem()
		dst.data = map[string]string{"B": "old b", "D": "d"}
		from := secrets.Wrap(src, secrets.Info{Backend: "mem", Scope: oldScope})
		to := secrets.Wrap(dst, secrets.Info{Backend: "mem", Scope: memScope})
		moved, err := secrets.Move(ctx, from, to, true)
		if err == nil || len(moved) != 0 {
			t.Fatalf("allow %d: Move with a failing delete: %q, %v", allow, moved, err)
		}
		if !strings.Contains(err.Error(), "backend gone") || !strings.Contains(err.Error(), "the move was undone, nothing changed") {
			t.Errorf("allow %d: %v", allow, err)
		}
		if !maps.Equal(src.data, map[string]string{"A": "a", "B": "b", "C": "c"}) {
			t.Errorf("allow %d: the source was not restored: %v", allow, slices.Sorted(maps.Keys(src.data)))
		}
		if !maps.Equal(dst.data, map[string]string{"B": "old b", "D": "d"}) {
			t.Errorf("allow %d: the destination was not restored (names %v)", allow, slices.Sorted(maps.Keys(dst.data)))
		}
	}

	// When the undo fails too, the error says which names to check.
	src := &deleteFailing{mem: newMem(), allow: 1, setsFail: true}
	src.data = map[string]string{"A": "a", "B": "b"}
	dst := newMem()
	from := secrets.Wrap(src, secrets.Info{Backend: "mem", Scope: oldScope})
	to := secrets.Wrap(dst, secrets.Info{Backend: "mem", Scope: memScope})
	_, err := secrets.Move(ctx, from, to, false)
	if err == nil || !strings.Contains(err.Error(), "undoing the move failed too") || !strings.Contains(err.Error(), "check A, B in both repositories") {
		t.Errorf("failed undo: %v", err)
	}
}

func TestMoveRefusesWithoutWriting(t *testing.T) {
	ctx := context.Background()
	src, dst := newMem(), newMem()
	src.data = map[string]string{"A": "a", "B": "b"}
	dst.data = map[string]string{"B": "kept"}
	from := secrets.Wrap(src, secrets.Info{Backend: "mem", Scope: oldScope})
	to := secrets.Wrap(dst, secrets.Info{Backend: "mem", Scope: memScope})
	_, err := secrets.Move(ctx, from, to, false)
	if !errors.Is(err, secrets.ErrExists) || !strings.Contains(err.Error(), "B in project \"p\", repository github.com/org/repo (backend mem); nothing was moved") {
		t.Fatalf("got %v", err)
	}
	if len(src.data) != 2 || len(dst.data) != 1 || dst.data["B"] != "kept" {
		t.Errorf("a refused move changed something")
	}
	// An unsafe name is refused before anything is written.
	src.data["LD_PRELOAD"] = "/tmp/x.so"
	if _, err := secrets.Move(ctx, from, to, true); err == nil || !strings.Contains(err.Error(), "LD_PRELOAD") || len(dst.data) != 1 {
		t.Errorf("move of an unsafe name: %v", err)
	}
}

// atomicMem is a mem store with an atomic mover into other atomicMem
// stores of the same shelf.
type atomicMem struct {
	*mem
	shelf string
	moves *int
}

func (a *atomicMem) MoveTo(ctx context.Context, dst secrets.Store, overwrite bool) ([]string, error) {
	d, ok := dst.(*atomicMem)
	if !ok || d.shelf != a.shelf {
		return nil, errors.ErrUnsupported
	}
	*a.moves++
	names := secrets.SortedNames(a.data)
	for _, n := range names {
		if _, exists := d.data[n]; exists && !overwrite {
			return nil, secrets.ErrExists
		}
	}
	for _, n := range names {
		d.data[n] = a.data[n]
		delete(a.data, n)
	}
	return names, nil
}

func TestMoveUsesTheAtomicMover(t *testing.T) {
	ctx := context.Background()
	moves := 0
	src := &atomicMem{mem: newMem(), shelf: "one", moves: &moves}
	src.data = map[string]string{"A": "a"}
	same := &atomicMem{mem: newMem(), shelf: "one", moves: &moves}
	other := &atomicMem{mem: newMem(), shelf: "two", moves: &moves}
	from := secrets.Wrap(src, secrets.Info{Scope: oldScope})
	if moved, err := secrets.Move(ctx, from, secrets.Wrap(same, secrets.Info{Scope: memScope}), false); err != nil || !slices.Equal(moved, []string{"A"}) || moves != 1 || same.data["A"] != "a" {
		t.Fatalf("atomic move: %q, %v, %d moves", moved, err, moves)
	}
	// Another shelf: the mover declines and the fallback moves.
	src.data["B"] = "b"
	if moved, err := secrets.Move(ctx, from, secrets.Wrap(other, secrets.Info{Scope: memScope}), false); err != nil || !slices.Equal(moved, []string{"B"}) || moves != 1 || other.data["B"] != "b" || len(src.data) != 0 {
		t.Fatalf("fallback move: %q, %v, %d moves", moved, err, moves)
	}
}

// lister is a mem store that lists repositories, some of them not valid.
type lister struct{ *mem }

func (lister) Repositories(context.Context) (map[string]int, error) {
	return map[string]int{"github.com/org/repo": 2, "/home/me/repo": 1, "empty.example/repo": 0, "bad/../x": 3, "": 1}, nil
}

func TestRepositories(t *testing.T) {
	ctx := context.Background()
	got, err := secrets.Repositories(ctx, secrets.Wrap(lister{newMem()}, secrets.Info{Backend: "lister", Scope: memScope}))
	if err != nil || !maps.Equal(got, map[string]int{"github.com/org/repo": 2, "/home/me/repo": 1}) {
		t.Errorf("Repositories = %v, %v", got, err)
	}
	_, err = secrets.Repositories(ctx, secrets.Wrap(newMem(), secrets.Info{Backend: "mem", Scope: memScope}))
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "the mem backend cannot list the repositories") {
		t.Errorf("a backend without Repositories: %v", err)
	}
	s := secrets.Wrap(lister{newMem()}, secrets.Info{Scope: memScope})
	secrets.Close(s)
	if _, err := secrets.Repositories(ctx, s); !errors.Is(err, secrets.ErrClosed) {
		t.Errorf("closed store: %v", err)
	}
}
