package secrets

import (
	"context"
	"io"
	"sort"
	"sync"
)

// Store holds the secrets of one Scope. Implementations must be safe for
// concurrent use by multiple goroutines, and every method must return
// promptly with the context's error (unwrapped or wrapped with %w) once ctx
// is done.
//
// A backend implements Store for its storage and nothing more: its Open
// returns the store through Wrap, which checks names and values, reports a
// done context or a closed store, writes the not-found and already-exists
// messages and provides the optional interfaces' fallbacks. So a backend's
// methods are only called with valid names and values, and a backend
// reports a missing secret with a plain ErrNotFound (or an error wrapping
// it). The rules below are what a wrapped store guarantees to its callers.
type Store interface {
	// List returns the names of the secrets in the store's scope, sorted in
	// ascending byte order, without duplicates. An empty scope gives an empty
	// (possibly nil) slice and a nil error. List never returns values.
	List(ctx context.Context) ([]string, error)

	// Get returns the value stored under name, byte for byte as it was set.
	// A missing name gives an error that wraps ErrNotFound.
	Get(ctx context.Context, name string) (string, error)

	// Set stores value under name, creating the secret or replacing its
	// value. When Set returns nil the value is durable: a later Get, from
	// this process or another one, returns it. When Set fails, the previous
	// value (or absence) of name is left as it was.
	Set(ctx context.Context, name, value string) error

	// Delete removes the secret name, so that it no longer appears in List
	// and Get reports ErrNotFound. Deleting a missing name gives an error
	// that wraps ErrNotFound.
	Delete(ctx context.Context, name string) error
}

// Creator is an optional interface for stores that can create a secret only
// if it does not exist yet, atomically with respect to other writers. A
// backend that can do so only in some configurations (Vault KV v1 cannot)
// returns an error wrapping errors.ErrUnsupported in the others, and the
// fallback of Create is used. Call the Create helper rather than asserting
// it directly.
type Creator interface {
	// Create stores value under name if name does not exist, and returns an
	// error wrapping ErrExists (changing nothing) if it does.
	Create(ctx context.Context, name, value string) error
}

// BulkGetter is an optional interface for stores that can read every secret
// of their scope in fewer round trips than one Get per secret. Call the
// GetAll helper rather than asserting it directly.
type BulkGetter interface {
	// GetAll returns every secret of the scope as a name to value map. The
	// result is a snapshot: each value is whole, as it was set by one Set.
	GetAll(ctx context.Context) (map[string]string, error)
}

// SizeBounder is an optional interface for stores that can bound the size
// of their scope without reading every value. The store returned by Wrap
// uses it in its capacity check (MaxStoreSize) before reading a big scope
// whole with GetAll, which it then does only when the bound is too high.
type SizeBounder interface {
	// SizeBound returns an upper bound of the bytes of names and values
	// the scope holds: len(name)+len(value) summed over its secrets.
	SizeBound(ctx context.Context) (int, error)
}

// BatchWriter is an optional interface for stores that can write several
// secrets in one atomic step (the file backend rewrites its file once).
// Call the SetMany helper rather than asserting it directly: it falls back
// to one write at a time with undo for stores that lack it.
type BatchWriter interface {
	// SetMany stores every entry of values in one atomic step: when it
	// returns nil all of them are durable; when it fails none was written.
	// When overwrite is false and any of the names exists, it returns an
	// error wrapping ErrExists that names them, and writes nothing.
	SetMany(ctx context.Context, values map[string]string, overwrite bool) error
}

// Create stores value under name only if name does not exist yet; an
// existing name gives an error wrapping ErrExists. It is atomic when the
// store implements Creator; otherwise it checks with Get and then calls
// Set, which can race with a concurrent writer of the same name.
func Create(ctx context.Context, s Store, name, value string) error {
	return asChecked(s).Create(ctx, name, value)
}

// MaxConcurrentReads is how many Get calls GetAll keeps in flight at once
// for a store that does not implement BulkGetter.
const MaxConcurrentReads = 16

// GetAll returns every secret of the store's scope as a name to value map.
// It uses the store's BulkGetter implementation when it has one; otherwise
// it lists the names and reads them with at most MaxConcurrentReads Get
// calls in flight, leaving out a secret deleted between the two. It never
// returns part of a value.
func GetAll(ctx context.Context, s Store) (map[string]string, error) {
	return asChecked(s).GetAll(ctx)
}

// SetMany stores every entry of values, all or nothing: in one atomic step
// when the store implements BatchWriter, otherwise one secret at a time,
// undoing the writes already made when one fails (see Wrap). When
// overwrite is false and any name exists, it returns an error wrapping
// ErrExists that names them, and writes nothing.
func SetMany(ctx context.Context, s Store, values map[string]string, overwrite bool) error {
	return asChecked(s).SetMany(ctx, values, overwrite)
}

// asChecked returns s's wrapper, wrapping a store that was not opened
// through Wrap (a test double, a third-party store used directly).
func asChecked(s Store) *checked {
	return Wrap(s, Info{}).(*checked)
}

// ReadConcurrently calls read for every name with at most limit calls in
// flight, and returns the values of the names that read reports present
// (ok true). The first error cancels the calls still running and is
// returned, unless ctx ended first, in which case ctx's error is. Backends
// use it to implement BulkGetter over per-secret reads.
func ReadConcurrently(ctx context.Context, names []string, limit int, read func(ctx context.Context, name string) (value string, ok bool, err error)) (map[string]string, error) {
	if limit < 1 {
		limit = 1
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		value string
		ok    bool
	}
	results := make([]result, len(names))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, limit)
	for i, name := range names {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, ok, err := read(ctx, name)
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				mu.Unlock()
				return
			}
			results[i] = result{v, ok}
		}()
	}
	wg.Wait()
	if err := parent.Err(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	out := make(map[string]string, len(names))
	for i, name := range names {
		if results[i].ok {
			out[name] = results[i].value
		}
	}
	return out, nil
}

// Close releases the resources held by s if it implements io.Closer, and
// does nothing otherwise. A store returned by Wrap answers ErrClosed to
// every call after Close.
func Close(s Store) error {
	if c, ok := s.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// SortedNames returns the keys of m in ascending order. Backends use it to
// satisfy List's ordering rule.
func SortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
