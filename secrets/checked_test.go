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

var memScope = secrets.Scope{Project: "p", Repository: "github.com/org/repo"}

// flaky is a mem store whose Set fails once, after allow successful calls, and
// whose optional methods answer errors.ErrUnsupported.
type flaky struct {
	*mem
	allow int
	sets  int
	calls []string
}

func (f *flaky) Set(ctx context.Context, name, value string) error {
	f.calls = append(f.calls, "Set "+name)
	f.sets++
	if f.sets == f.allow+1 {
		return errors.New("disk on fire")
	}
	return f.mem.Set(ctx, name, value)
}

func (f *flaky) Get(ctx context.Context, name string) (string, error) {
	f.calls = append(f.calls, "Get "+name)
	return f.mem.Get(ctx, name)
}

func (f *flaky) Create(context.Context, string, string) error {
	return errors.ErrUnsupported
}

func (f *flaky) SetMany(context.Context, map[string]string, bool) error {
	return errors.ErrUnsupported
}

func (f *flaky) GetAll(context.Context) (map[string]string, error) {
	return nil, errors.ErrUnsupported
}

func TestSetManyFallbackUndoes(t *testing.T) {
	ctx := context.Background()
	for allow := range 4 {
		m := newMem()
		m.data["B"] = "old b"
		f := &flaky{mem: m, allow: 1 << 30}
		s := secrets.Wrap(f, secrets.Info{Backend: "flaky", Scope: memScope})
		f.allow = allow
		err := secrets.SetMany(ctx, s, map[string]string{"A": "new a", "B": "new b", "C": "new c", "D": "new d"}, true)
		if err == nil {
			t.Fatalf("allow %d: SetMany did not fail", allow)
		}
		if !strings.Contains(err.Error(), "disk on fire") || strings.Contains(err.Error(), "new ") {
			t.Errorf("allow %d: error %q should give the cause and no value", allow, err)
		}
		if allow > 0 && !strings.Contains(err.Error(), "rolled back") {
			t.Errorf("allow %d: error %q does not say the writes were rolled back", allow, err)
		}
		if want := map[string]string{"B": "old b"}; !maps.Equal(m.data, want) {
			t.Errorf("allow %d: after the failed batch the store holds %q, want only B with its old value", allow, secrets.SortedNames(m.data))
		}
	}
}

func TestSetManyFallbackRefusesExisting(t *testing.T) {
	m := newMem()
	m.data["B"] = "old"
	s := secrets.Wrap(m, secrets.Info{Backend: "mem", Scope: memScope})
	err := secrets.SetMany(context.Background(), s, map[string]string{"A": "a", "B": "b"}, false)
	if !errors.Is(err, secrets.ErrExists) || !strings.Contains(err.Error(), "B") || !strings.Contains(err.Error(), memScope.Repository) {
		t.Fatalf("SetMany over an existing name: %v; want ErrExists naming B and the repository", err)
	}
	if len(m.data) != 1 || m.data["B"] != "old" {
		t.Errorf("a refused batch changed the store")
	}
}

func TestUnsupportedFallsBack(t *testing.T) {
	ctx := context.Background()
	m := newMem()
	f := &flaky{mem: m, allow: 1 << 30}
	s := secrets.Wrap(f, secrets.Info{Backend: "flaky", Scope: memScope})
	if err := secrets.Create(ctx, s, "A", "a"); err != nil {
		t.Fatalf("Create through the fallback: %v", err)
	}
	if err := secrets.Create(ctx, s, "A", "b"); !errors.Is(err, secrets.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	all, err := secrets.GetAll(ctx, s)
	if err != nil || len(all) != 1 || all["A"] != "a" {
		t.Fatalf("GetAll through the fallback: %d secrets, %v", len(all), err)
	}
}

func TestInvalidInputNeverReachesTheBackend(t *testing.T) {
	ctx := context.Background()
	f := &flaky{mem: newMem(), allow: 1 << 30}
	s := secrets.Wrap(f, secrets.Info{Backend: "flaky", Scope: memScope})
	_, errGet := s.Get(ctx, "BAD NAME")
	for op, err := range map[string]error{
		"Get":     errGet,
		"Set":     s.Set(ctx, "1BAD", "v"),
		"SetNUL":  s.Set(ctx, "OK", "a\x00b"),
		"Delete":  s.Delete(ctx, "BAD-NAME"),
		"SetMany": secrets.SetMany(ctx, s, map[string]string{"OK": "v", "NOT OK": "v"}, true),
	} {
		if !errors.Is(err, secrets.ErrInvalidName) && !errors.Is(err, secrets.ErrInvalidValue) {
			t.Errorf("%s with bad input: %v", op, err)
		}
	}
	if len(f.calls) != 0 {
		t.Errorf("the backend was called with invalid input: %q", f.calls)
	}
}

// messy lists names unsorted, twice, and with a name other tools wrote.
type messy struct{ *mem }

func (m messy) List(context.Context) ([]string, error) {
	return []string{"B", "A", "not-a-name", "B", "C"}, nil
}

func TestListIsCleaned(t *testing.T) {
	s := secrets.Wrap(messy{newMem()}, secrets.Info{Backend: "messy", Scope: memScope})
	names, err := s.List(context.Background())
	if err != nil || !slices.Equal(names, []string{"A", "B", "C"}) {
		t.Fatalf("List = %q, %v; want A, B, C", names, err)
	}
}

func TestWrapIsIdempotent(t *testing.T) {
	m := newMem()
	s := secrets.Wrap(m, secrets.Info{Backend: "mem", Scope: memScope})
	if secrets.Wrap(s, secrets.Info{}) != s {
		t.Error("wrapping a wrapped store wrapped it again")
	}
	if secrets.Unwrap(s) != secrets.Store(m) || secrets.Unwrap(m) != secrets.Store(m) {
		t.Error("Unwrap does not give the backend's store back")
	}
}

func TestNotFoundNamesLocation(t *testing.T) {
	s := secrets.Wrap(located{newMem()}, secrets.Info{Backend: "mem", Scope: memScope})
	_, err := s.Get(context.Background(), "GONE")
	if !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get of a missing secret: %v", err)
	}
	for _, want := range []string{`"GONE"`, `project "p"`, memScope.Repository, "backend mem", "shelf 7/GONE"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

type located struct{ *mem }

func (located) Locate(name string) string { return "shelf 7/" + name }
