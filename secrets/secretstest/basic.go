package secretstest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func testEmptyList(t *testing.T, open OpenFunc, _ Options) {
	checkList(t, mustOpen(t, open, Scope()))
}

func testGetMissing(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	checkNotFound(t, s, "MISSING")
	mustSet(t, s, "PRESENT", "v")
	checkNotFound(t, s, "MISSING")
	checkNotFound(t, s, "present") // names are case-sensitive
}

func testSetGet(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	mustSet(t, s, "API_TOKEN", "s3cr3t")
	checkValue(t, s, "API_TOKEN", "s3cr3t")
	mustSet(t, s, "_UNDERSCORE_1", "u")
	mustSet(t, s, "lower_case", "l")
	checkValue(t, s, "_UNDERSCORE_1", "u")
	checkValue(t, s, "lower_case", "l")
	long := strings.Repeat("N", secrets.MaxNameLength)
	mustSet(t, s, long, "long name")
	checkValue(t, s, long, "long name")
}

func testTrickyValues(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	values := TrickyValues()
	for name, v := range values {
		mustSet(t, s, name, v)
	}
	for name, v := range values {
		checkValue(t, s, name, v)
	}
	// A second store on the same storage reads the same bytes.
	s2 := mustOpen(t, open, Scope())
	for name, v := range values {
		checkValue(t, s2, name, v)
	}
}

func testOverwrite(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	mustSet(t, s, "KEY", "first value")
	mustSet(t, s, "KEY", "second")
	checkValue(t, s, "KEY", "second")
	checkList(t, s, "KEY")
}

func testDelete(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	mustSet(t, s, "KEEP", "k")
	mustSet(t, s, "DROP", "d")
	if err := s.Delete(ctxFor(t), "DROP"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkNotFound(t, s, "DROP")
	checkList(t, s, "KEEP")
	checkValue(t, s, "KEEP", "k")
	// A deleted name can be set again.
	mustSet(t, s, "DROP", "again")
	checkValue(t, s, "DROP", "again")
}

func testDeleteMissing(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	if err := s.Delete(ctxFor(t), "MISSING"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Delete of a missing secret: got %v, want an error wrapping secrets.ErrNotFound", err)
	}
	mustSet(t, s, "OTHER", "o")
	if err := s.Delete(ctxFor(t), "MISSING"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Delete of a missing secret: got %v, want an error wrapping secrets.ErrNotFound", err)
	}
	checkList(t, s, "OTHER")
}

func testListSorted(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	names := []string{"b", "B", "_z", "A1", "a", "A", "Z9", "A_"}
	for _, n := range names {
		mustSet(t, s, n, "value-"+n)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	checkList(t, s, want...)
	for _, n := range names {
		checkValue(t, s, n, "value-"+n)
	}
}

func testPersistence(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	mustSet(t, s, "PERSISTED", "p")
	if err := secrets.Close(s); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2 := mustOpen(t, open, Scope())
	checkValue(t, s2, "PERSISTED", "p")
	checkList(t, s2, "PERSISTED")
}

func testScopeIsolation(t *testing.T, open OpenFunc, _ Options) {
	base := Scope()
	otherRepo := base
	otherRepo.Repository = "example.com/org/other"
	prefixRepo := base
	prefixRepo.Repository = base.Repository + "2" // a prefix of another identity
	nestedRepo := base
	nestedRepo.Repository = base.Repository + "/sub"
	localRepo := base
	localRepo.Repository = "/home/user/example.com/org/repo"
	otherProject := base
	otherProject.Project = "conformance-other"
	scopes := []secrets.Scope{base, otherRepo, prefixRepo, nestedRepo, localRepo, otherProject}
	stores := make([]secrets.Store, len(scopes))
	for i, sc := range scopes {
		stores[i] = mustOpen(t, open, sc)
	}
	for i, s := range stores {
		mustSet(t, s, "SHARED_NAME", fmt.Sprintf("value for scope %d", i))
		mustSet(t, s, fmt.Sprintf("ONLY_%d", i), "only")
	}
	for i, s := range stores {
		checkValue(t, s, "SHARED_NAME", fmt.Sprintf("value for scope %d", i))
		checkList(t, s, fmt.Sprintf("ONLY_%d", i), "SHARED_NAME")
	}
	if err := stores[0].Delete(ctxFor(t), "SHARED_NAME"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for i, s := range stores[1:] {
		checkValue(t, s, "SHARED_NAME", fmt.Sprintf("value for scope %d", i+1))
	}
}

// InvalidNames are names every store must refuse with secrets.ErrInvalidName.
func InvalidNames() []string {
	return []string{"", "1ABC", "WITH-DASH", "WITH SPACE", "DOT.NAME", "SLASH/NAME", "../ESCAPE",
		"NAME=VALUE", "ÜMLAUT", "NUL\x00", "NEW\nLINE", strings.Repeat("N", secrets.MaxNameLength+1), "*", "$HOME"}
}

func testInvalidNames(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	mustSet(t, s, "VALID", "v")
	ctx := ctxFor(t)
	for _, name := range InvalidNames() {
		if err := s.Set(ctx, name, "value"); !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("Set(%q): got %v, want an error wrapping secrets.ErrInvalidName", name, err)
		}
		if _, err := s.Get(ctx, name); !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("Get(%q): got %v, want an error wrapping secrets.ErrInvalidName", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("Delete(%q): got %v, want an error wrapping secrets.ErrInvalidName", name, err)
		}
		if err := secrets.Create(ctx, s, name, "value"); !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("Create(%q): got %v, want an error wrapping secrets.ErrInvalidName", name, err)
		}
	}
	// "NAME=value" is a natural mistake: the error must not repeat the value.
	if err := s.Set(ctx, "TOKEN=leaked-part", "v"); !errors.Is(err, secrets.ErrInvalidName) || strings.Contains(err.Error(), "leaked-part") {
		t.Errorf("Set(\"TOKEN=...\"): got %v, want secrets.ErrInvalidName without the text after '='", err)
	}
	checkList(t, s, "VALID")
	checkValue(t, s, "VALID", "v")
}

func testInvalidValues(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	mustSet(t, s, "KEY", "original")
	ctx := ctxFor(t)
	bad := map[string]string{
		"empty":    "",
		"too long": strings.Repeat("x", secrets.MaxValueSize+1),
		"NUL":      "before\x00after",
		"not UTF8": "bad\xff\xfebytes",
	}
	for what, v := range bad {
		err := s.Set(ctx, "KEY", v)
		if !errors.Is(err, secrets.ErrInvalidValue) {
			t.Errorf("Set with a %s value: got %v, want an error wrapping secrets.ErrInvalidValue", what, err)
		}
		if err != nil && len(v) > 3 && strings.Contains(err.Error(), v) {
			t.Errorf("Set with a %s value: the error message contains the value", what)
		}
		if err := s.Set(ctx, "NEW_KEY", v); !errors.Is(err, secrets.ErrInvalidValue) {
			t.Errorf("Set of a new name with a %s value: got %v, want secrets.ErrInvalidValue", what, err)
		}
	}
	checkValue(t, s, "KEY", "original")
	checkList(t, s, "KEY")
}
