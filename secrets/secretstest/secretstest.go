// Package secretstest is the conformance suite for secrets.Store
// implementations. A backend's test file calls Run with a function that
// gives fresh, empty storage for each test; the suite then checks every rule
// of the secrets.Store contract against it, including that the shared
// checks of secrets.Wrap apply (validation, closed store, messages,
// fallbacks), so a backend's Open must return its store through Wrap.
//
//	func TestConformance(t *testing.T) {
//		secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
//			dir := t.TempDir()
//			return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
//				return mybackend.Open(ctx, dir, scope)
//			}
//		}, secretstest.Options{})
//	}
package secretstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// OpenFunc opens a store for scope. All stores opened through one OpenFunc
// share the same underlying storage (one directory, one keychain service,
// one Vault path prefix), so that the suite can check that scopes are
// isolated from each other.
type OpenFunc func(ctx context.Context, scope secrets.Scope) (secrets.Store, error)

// Options says what a backend cannot do, so the suite skips those checks,
// and tunes the suite's load.
type Options struct {
	// Concurrency is how many goroutines the concurrency tests use;
	// 0 means 8.
	Concurrency int
	// OpsPerWorker is how many writes each of those goroutines makes;
	// 0 means 5.
	OpsPerWorker int
	// NoCreate says the backend has no atomic Create (it does not implement
	// secrets.Creator, or answers errors.ErrUnsupported); the suite then
	// checks the fallback of secrets.Wrap instead of atomic Create.
	NoCreate bool
	// NoBulk says the backend does not implement secrets.BulkGetter; GetAll
	// is then checked through the concurrent fallback of secrets.Wrap.
	NoBulk bool
	// NoConcurrentStores skips the check that several stores opened on the
	// same storage can write concurrently without losing updates.
	NoConcurrentStores bool
}

// NewFunc returns fresh, empty storage for one test, registering any
// cleanup with t.
type NewFunc func(t *testing.T) OpenFunc

// Scope returns the scope most checks use.
func Scope() secrets.Scope {
	return secrets.Scope{Project: "conformance", Repository: "example.com/org/repo"}
}

// TrickyValues are values every backend must store byte for byte.
func TrickyValues() map[string]string {
	return map[string]string{
		"MULTI_LINE":    "line one\nline two\r\nline three\n",
		"UNICODE":       "pässwörd-秘密-🔑",
		"EQUALS":        "a=b=c==",
		"QUOTES":        `it's "quoted" \ and \n not a newline`,
		"SPACES":        "  leading and trailing  ",
		"SHELL":         "$(rm -rf /) `x` ${HOME} ; | & > <",
		"JSONISH":       `{"key": ["v", 1, null]}`,
		"LONG":          strings.Repeat("0123456789abcdef", secrets.MaxValueSize/16),
		"SINGLE":        "x",
		"TAB_AND_CTRL":  "\t\x01\x1b[31m",
		"PERCENT_SLASH": "%2F/../..%00x",
	}
}

// Run runs the conformance suite. newStorage is called once per test.
func Run(t *testing.T, newStorage NewFunc, opts Options) {
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	if opts.OpsPerWorker == 0 {
		opts.OpsPerWorker = 5
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, open OpenFunc, opts Options)
	}{
		{"EmptyList", testEmptyList},
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"TrickyValues", testTrickyValues},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"ListSorted", testListSorted},
		{"Persistence", testPersistence},
		{"ScopeIsolation", testScopeIsolation},
		{"InvalidNames", testInvalidNames},
		{"InvalidValues", testInvalidValues},
		{"Create", testCreate},
		{"GetAll", testGetAll},
		{"SetMany", testSetMany},
		{"Closed", testClosed},
		{"Messages", testMessages},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentOneStore", testConcurrentOneStore},
		{"ConcurrentStores", testConcurrentStores},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := newStorage(t)
			tc.fn(t, open, opts)
		})
	}
}

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

func testCreate(t *testing.T, open OpenFunc, opts Options) {
	s := mustOpen(t, open, Scope())
	if _, ok := secrets.Unwrap(s).(secrets.Creator); !ok && !opts.NoCreate {
		t.Errorf("store %T does not implement secrets.Creator; set Options.NoCreate if that is intended", secrets.Unwrap(s))
	}
	ctx := ctxFor(t)
	if err := secrets.Create(ctx, s, "NEW", "first"); err != nil {
		t.Fatalf("Create of a new name: %v", err)
	}
	if err := secrets.Create(ctx, s, "NEW", "second"); !errors.Is(err, secrets.ErrExists) {
		t.Fatalf("Create of an existing name: got %v, want an error wrapping secrets.ErrExists", err)
	}
	checkValue(t, s, "NEW", "first")
	if err := secrets.Create(ctx, s, "NEW2", ""); !errors.Is(err, secrets.ErrInvalidValue) {
		t.Fatalf("Create with an empty value: got %v, want secrets.ErrInvalidValue", err)
	}
	checkList(t, s, "NEW")
	if opts.NoCreate || opts.NoConcurrentStores {
		return
	}
	// Atomicity: of many concurrent creators of one name exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan int, opts.Concurrency)
	errs := make(chan error, opts.Concurrency)
	for i := range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := open(ctx, Scope())
			if err != nil {
				errs <- err
				return
			}
			defer secrets.Close(st)
			err = secrets.Create(ctx, st, "RACE", fmt.Sprintf("writer %d", i))
			switch {
			case err == nil:
				wins <- i
			case !errors.Is(err, secrets.ErrExists) && !errors.Is(err, secrets.ErrConflict):
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(wins)
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Create: %v", err)
	}
	var winners []int
	for w := range wins {
		winners = append(winners, w)
	}
	if len(winners) != 1 {
		t.Fatalf("concurrent Create of one name: %d writers succeeded, want exactly 1", len(winners))
	}
	checkValue(t, s, "RACE", fmt.Sprintf("writer %d", winners[0]))
}

func testGetAll(t *testing.T, open OpenFunc, opts Options) {
	s := mustOpen(t, open, Scope())
	if _, ok := secrets.Unwrap(s).(secrets.BulkGetter); !ok && !opts.NoBulk {
		t.Errorf("store %T does not implement secrets.BulkGetter; set Options.NoBulk if that is intended", secrets.Unwrap(s))
	}
	all, err := secrets.GetAll(ctxFor(t), s)
	if err != nil {
		t.Fatalf("GetAll of an empty scope: %v", err)
	}
	if len(all) != 0 {
		t.Fatalf("GetAll of an empty scope returned %d secrets", len(all))
	}
	want := TrickyValues()
	for i := range 40 {
		want[fmt.Sprintf("BULK_%02d", i)] = fmt.Sprintf("bulk value %d", i)
	}
	for n, v := range want {
		mustSet(t, s, n, v)
	}
	other := Scope()
	other.Repository = "example.com/org/other"
	mustSet(t, mustOpen(t, open, other), "FOREIGN", "f")
	all, err = secrets.GetAll(ctxFor(t), s)
	if err != nil {
		t.Fatalf("GetAll: %v", err)
	}
	if len(all) != len(want) {
		t.Errorf("GetAll returned %d secrets, want %d (names %q)", len(all), len(want), secrets.SortedNames(all))
	}
	for n, v := range want {
		if got, ok := all[n]; !ok {
			t.Errorf("GetAll lacks %q", n)
		} else if got != v {
			t.Errorf("GetAll[%q]: value differs from what was set (%d bytes, want %d)", n, len(got), len(v))
		}
	}
}

func testCancelledContext(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	mustSet(t, s, "EXISTING", "e")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Set(ctx, "NEW", "n"); !errors.Is(err, context.Canceled) {
		t.Errorf("Set with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, "EXISTING"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := s.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context: got %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, "EXISTING"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with a cancelled context: got %v, want context.Canceled", err)
	}
	if _, err := secrets.GetAll(ctx, s); !errors.Is(err, context.Canceled) {
		t.Errorf("GetAll with a cancelled context: got %v, want context.Canceled", err)
	}
	checkList(t, s, "EXISTING")
	checkValue(t, s, "EXISTING", "e")
}

func testConcurrentOneStore(t *testing.T, open OpenFunc, opts Options) {
	s := mustOpen(t, open, Scope())
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	errs := make(chan error, opts.Concurrency*opts.OpsPerWorker*3)
	for w := range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range opts.OpsPerWorker {
				name := fmt.Sprintf("W%d_%d", w, i)
				if err := s.Set(ctx, name, name+"-value"); err != nil {
					errs <- fmt.Errorf("set %s: %w", name, err)
					continue
				}
				if v, err := s.Get(ctx, name); err != nil || v != name+"-value" {
					errs <- fmt.Errorf("value read back after Set(%s): err %v, matches: %v", name, err, v == name+"-value")
				}
				if _, err := s.List(ctx); err != nil {
					errs <- fmt.Errorf("list: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(mustList(t, s)); got != opts.Concurrency*opts.OpsPerWorker {
		t.Fatalf("after concurrent writes List has %d names, want %d", got, opts.Concurrency*opts.OpsPerWorker)
	}
}

func testConcurrentStores(t *testing.T, open OpenFunc, opts Options) {
	if opts.NoConcurrentStores {
		t.Skip("backend declares Options.NoConcurrentStores")
	}
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	errs := make(chan error, opts.Concurrency*opts.OpsPerWorker+opts.Concurrency)
	for w := range opts.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := open(ctx, Scope())
			if err != nil {
				errs <- err
				return
			}
			defer secrets.Close(s)
			for i := range opts.OpsPerWorker {
				name := fmt.Sprintf("S%d_%d", w, i)
				if err := s.Set(ctx, name, "v"); err != nil {
					errs <- fmt.Errorf("set %s: %w", name, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := mustOpen(t, open, Scope())
	if got := len(mustList(t, s)); got != opts.Concurrency*opts.OpsPerWorker {
		t.Fatalf("after concurrent writers on separate stores List has %d names, want %d: updates were lost", got, opts.Concurrency*opts.OpsPerWorker)
	}
}

func testSetMany(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	ctx := ctxFor(t)
	mustSet(t, s, "EXISTING", "old")
	batch := map[string]string{"B1": "one", "B2": "two\nlines", "EXISTING": "new"}
	if err := secrets.SetMany(ctx, s, batch, false); !errors.Is(err, secrets.ErrExists) {
		t.Fatalf("SetMany without overwrite over an existing name: got %v, want secrets.ErrExists", err)
	}
	checkList(t, s, "EXISTING")
	bad := map[string]string{"B1": "one", "B2": ""}
	if err := secrets.SetMany(ctx, s, bad, true); !errors.Is(err, secrets.ErrInvalidValue) {
		t.Fatalf("SetMany with an empty value: got %v, want secrets.ErrInvalidValue", err)
	}
	badName := map[string]string{"B1": "one", "BAD-NAME": "x"}
	if err := secrets.SetMany(ctx, s, badName, true); !errors.Is(err, secrets.ErrInvalidName) {
		t.Fatalf("SetMany with an invalid name: got %v, want secrets.ErrInvalidName", err)
	}
	checkList(t, s, "EXISTING")
	checkValue(t, s, "EXISTING", "old")
	if err := secrets.SetMany(ctx, s, batch, true); err != nil {
		t.Fatalf("SetMany: %v", err)
	}
	checkList(t, s, "B1", "B2", "EXISTING")
	for n, v := range batch {
		checkValue(t, s, n, v)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := secrets.SetMany(cctx, s, map[string]string{"C": "c"}, true); !errors.Is(err, context.Canceled) {
		t.Errorf("SetMany with a cancelled context: got %v, want context.Canceled", err)
	}
	checkList(t, s, "B1", "B2", "EXISTING")
}

// testClosed checks the shared closed-store check: after Close every call
// answers secrets.ErrClosed and a second Close does no harm.
func testClosed(t *testing.T, open OpenFunc, _ Options) {
	ctx := ctxFor(t)
	s, err := open(ctx, Scope())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	mustSet(t, s, "KEPT", "v")
	if err := secrets.Close(s); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, errList := s.List(ctx)
	_, errGet := s.Get(ctx, "KEPT")
	_, errAll := secrets.GetAll(ctx, s)
	for op, err := range map[string]error{
		"List":    errList,
		"Get":     errGet,
		"Set":     s.Set(ctx, "NEW", "v"),
		"Delete":  s.Delete(ctx, "KEPT"),
		"Create":  secrets.Create(ctx, s, "NEW", "v"),
		"GetAll":  errAll,
		"SetMany": secrets.SetMany(ctx, s, map[string]string{"NEW": "v"}, true),
	} {
		if !errors.Is(err, secrets.ErrClosed) {
			t.Errorf("%s on a closed store: got %v, want secrets.ErrClosed (is the store behind secrets.Wrap?)", op, err)
		}
	}
	if err := secrets.Close(s); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkList(t, mustOpen(t, open, Scope()), "KEPT")
}

// testMessages checks the shared messages: a missing or existing secret's
// error names the secret, the project and the repository.
func testMessages(t *testing.T, open OpenFunc, _ Options) {
	s := mustOpen(t, open, Scope())
	ctx := ctxFor(t)
	_, errGet := s.Get(ctx, "MISSING_ONE")
	mustSet(t, s, "PRESENT", "v")
	for op, err := range map[string]error{
		"Get of a missing secret":    errGet,
		"Delete of a missing secret": s.Delete(ctx, "MISSING_ONE"),
		"Create of an existing one":  secrets.Create(ctx, s, "PRESENT", "w"),
	} {
		name := "MISSING_ONE"
		if strings.HasPrefix(op, "Create") {
			name = "PRESENT"
		}
		if err == nil {
			t.Errorf("%s: no error", op)
			continue
		}
		for _, want := range []string{name, Scope().Project, Scope().Repository} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: the error %q does not name %q (is the store behind secrets.Wrap?)", op, err, want)
			}
		}
	}
}
