package secretstest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func mustOpen(t *testing.T, open OpenFunc, scope secrets.Scope) secrets.Store {
	t.Helper()
	s, err := open(ctxFor(t), scope)
	if err != nil {
		t.Fatalf("open %v: %v", scope, err)
	}
	t.Cleanup(func() {
		if err := secrets.Close(s); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func mustSet(t *testing.T, s secrets.Store, name, value string) {
	t.Helper()
	if err := s.Set(ctxFor(t), name, value); err != nil {
		t.Fatalf("Set(%q): %v", name, err)
	}
}

func mustList(t *testing.T, s secrets.Store) []string {
	t.Helper()
	names, err := s.List(ctxFor(t))
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return names
}

// checkValue compares values without printing them: test failure messages
// must not contain secret values either.
func checkValue(t *testing.T, s secrets.Store, name, want string) {
	t.Helper()
	got, err := s.Get(ctxFor(t), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	if got != want {
		t.Errorf("Get(%q): value differs from what was set (got %d bytes, want %d bytes; first difference at byte %d)", name, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func checkNotFound(t *testing.T, s secrets.Store, name string) {
	t.Helper()
	_, err := s.Get(ctxFor(t), name)
	if !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get(%q) of a missing secret: got error %v, want one wrapping secrets.ErrNotFound", name, err)
	}
}

func checkList(t *testing.T, s secrets.Store, want ...string) {
	t.Helper()
	got := mustList(t, s)
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
}
