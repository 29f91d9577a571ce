package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// mem is a minimal in-memory store with only the four required methods and
// no checks of its own: behind secrets.Wrap it proves that the conformance
// suite, the shared checks and the fallbacks serve a third-party backend
// without the optional interfaces.
type mem struct {
	mu     sync.Mutex
	data   map[string]string
	gets   atomic.Int32
	active atomic.Int32
	peak   atomic.Int32
	failOn string
}

func newMem() *mem { return &mem{data: map[string]string{}} }

func (m *mem) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return secrets.SortedNames(m.data), nil
}

func (m *mem) Get(ctx context.Context, name string) (string, error) {
	n := m.active.Add(1)
	defer m.active.Add(-1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			break
		}
	}
	m.gets.Add(1)
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == m.failOn {
		return "", secrets.ErrNotFound
	}
	v, ok := m.data[name]
	if !ok {
		return "", secrets.ErrNotFound
	}
	return v, nil
}

func (m *mem) Set(ctx context.Context, name, value string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[name] = value
	return nil
}

func (m *mem) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data[name]; !ok {
		return secrets.ErrNotFound
	}
	delete(m.data, name)
	return nil
}

// TestConformanceMinimalStore runs the suite against the four-method store:
// the helpers' fallbacks (Create via Get+Set, GetAll via concurrent Gets)
// must satisfy the contract.
func TestConformanceMinimalStore(t *testing.T) {
	secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
		var mu sync.Mutex
		stores := map[secrets.Scope]*mem{}
		return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
			mu.Lock()
			defer mu.Unlock()
			if stores[scope] == nil {
				stores[scope] = newMem()
			}
			return secrets.Wrap(stores[scope], secrets.Info{Backend: "mem", Scope: scope}), nil
		}
	}, secretstest.Options{NoCreate: true, NoBulk: true, NoConcurrentStores: true, NoRepositories: true})
}

func TestGetAllFallbackIsBoundedAndConcurrent(t *testing.T) {
	m := newMem()
	ctx := context.Background()
	for i := range 200 {
		if err := m.Set(ctx, fmt.Sprintf("S%03d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	all, err := secrets.GetAll(ctx, m)
	if err != nil || len(all) != 200 || all["S042"] != "42" {
		t.Fatalf("GetAll: %d secrets, %v", len(all), err)
	}
	if p := m.peak.Load(); p > secrets.MaxConcurrentReads {
		t.Errorf("peak concurrent Gets %d > %d", p, secrets.MaxConcurrentReads)
	}
	// A secret that disappears between List and Get is left out.
	m.failOn = "S100"
	all, err = secrets.GetAll(ctx, m)
	if _, has := all["S100"]; err != nil || has || len(all) != 199 {
		t.Errorf("GetAll with a vanished secret: %d secrets, %v; want 199 without S100", len(all), err)
	}
}

func TestCreateFallback(t *testing.T) {
	m := newMem()
	ctx := context.Background()
	if err := secrets.Create(ctx, m, "A", "1"); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Create(ctx, m, "A", "2"); !errors.Is(err, secrets.ErrExists) {
		t.Errorf("Create of an existing name: %v", err)
	}
	if err := secrets.Close(m); err != nil {
		t.Errorf("Close of a store without Close: %v", err)
	}
}
