package secretstest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The checks of the optional interfaces, concurrency and the shared checks of secrets.Wrap.

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
