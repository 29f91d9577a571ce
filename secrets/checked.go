package secrets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Info describes an opened store for the messages the shared checks write.
type Info struct {
	// Backend is the backend's name, e.g. "file".
	Backend string
	// Scope is the project and repository the store holds.
	Scope Scope
	// AllowUnsafeNames are names on the deny list of UnsafeName that the
	// project allows anyway (allow_unsafe_names in its configuration).
	AllowUnsafeNames []string
	// MaxSecrets caps the secrets of one repository (the project option
	// max_secrets); 0 means the default, MaxSecrets.
	MaxSecrets int
	// CapacityChecked says that the store checks MaxSecrets and
	// MaxStoreSize itself, as a store that another process serves behind
	// its own Wrap (internal/plugin): Wrap then leaves that check, which
	// lists the repository, to it.
	CapacityChecked bool
}

// Locator is an optional interface for stores that can say where a secret
// is kept (a file path, a Vault path, a keychain item), for messages. Wrap
// adds the location to not-found and already-exists errors.
type Locator interface {
	// Locate describes where name is (or would be) stored, e.g.
	// "Vault https://vault:8200, secret/dstack/p/github.com/org/repo/NAME".
	// It never includes a value.
	Locate(name string) string
}

// Wrap returns s behind the checks every store shares, written once here
// instead of in every backend:
//
//   - Names are validated with ValidateName and values with ValidateValue
//     before the backend sees them; a done context is reported before any
//     work; a closed store answers ErrClosed.
//   - Not-found and already-exists errors name the secret, the scope, the
//     backend and, if s implements Locator, where the secret lives.
//   - List is sorted and without duplicates, and leaves out entries whose
//     names are not valid secret names (items other tools wrote).
//   - The optional interfaces are always implemented: Creator, BulkGetter
//     and BatchWriter call the backend's implementation when it has one
//     (and it does not answer errors.ErrUnsupported), and otherwise the
//     fallbacks described at Create, GetAll and SetMany. History forwards
//     to the backend's, or answers an error wrapping errors.ErrUnsupported
//     that names the backend. io.Closer closes the backend once.
//   - Writes (Set, Create, SetMany) refuse names that would take over the
//     programs that get them (UnsafeName), unless info.AllowUnsafeNames
//     lists them, and writes that would grow the scope past MaxSecrets
//     secrets or MaxStoreSize bytes (see checkCapacity's costs there).
//
// Every backend's Open applies Wrap, and Registry.Open applies it to what
// an opener returns, so a backend never repeats these checks. Wrapping a
// store returned by Wrap returns it unchanged. Unwrap gives the backend's
// own store back, for backend-specific methods.
//
// Wrapping a store returned by Wrap returns it unchanged except that the
// names of info.AllowUnsafeNames are allowed too: Registry.Open adds the
// project's allow_unsafe_names this way to the store a backend's Open
// wrapped.
func Wrap(s Store, info Info) Store {
	if c, ok := s.(*checked); ok {
		c.allow(info.AllowUnsafeNames)
		if info.MaxSecrets > 0 {
			c.allowMu.Lock()
			c.info.MaxSecrets = info.MaxSecrets
			c.allowMu.Unlock()
		}
		return c
	}
	info.AllowUnsafeNames = slices.Clone(info.AllowUnsafeNames)
	return &checked{d: s, info: info}
}

// Unwrap returns the backend's own store inside a store returned by Wrap,
// or s itself when it was not wrapped.
func Unwrap(s Store) Store {
	if c, ok := s.(*checked); ok {
		return c.d
	}
	return s
}

// checked is the store returned by Wrap.
type checked struct {
	d        Store
	info     Info
	allowMu  sync.Mutex // guards info.AllowUnsafeNames
	capacity capacity   // bounds of the scope's size (checkCapacity)
	closed   atomic.Bool
	once     sync.Once
	cerr     error
}

var (
	_ Store       = (*checked)(nil)
	_ Creator     = (*checked)(nil)
	_ BulkGetter  = (*checked)(nil)
	_ BatchWriter = (*checked)(nil)
	_ io.Closer   = (*checked)(nil)
)

// ready reports a closed store or a done context.
func (c *checked) ready(ctx context.Context) error {
	if c.closed.Load() {
		return fmt.Errorf("%w: the %s store of %v was closed; open it again", ErrClosed, c.backend(), c.info.Scope)
	}
	if ctx.Err() != nil {
		return context.Cause(ctx) // says why, e.g. "interrupted by SIGINT"
	}
	return nil
}

func (c *checked) backend() string {
	if c.info.Backend == "" {
		return "secrets"
	}
	return c.info.Backend
}

// where describes the scope, backend and location of name for messages.
func (c *checked) where(name string) string {
	if c.info.Scope == (Scope{}) {
		return "the store"
	}
	w := fmt.Sprintf("%v (backend %s", c.info.Scope, c.backend())
	if l, ok := c.d.(Locator); ok && name != "" {
		if loc := l.Locate(name); loc != "" {
			w += ", " + Printable(loc)
		}
	}
	return w + ")"
}

// explain replaces a backend's not-found or already-exists error with one
// that names the secret and where it was looked for. Other errors pass
// through unchanged.
func (c *checked) explain(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
		return fmt.Errorf("%w: %q in %s", ErrNotFound, name, c.where(name))
	case errors.Is(err, ErrExists):
		return fmt.Errorf("%w: %q in %s", ErrExists, name, c.where(name))
	}
	return err
}

// List implements Store.
func (c *checked) List(ctx context.Context) ([]string, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	names, err := c.d.List(ctx)
	if err != nil {
		return nil, err
	}
	return cleanNames(names), nil
}

// cleanNames sorts names, drops duplicates and invalid names. It works in
// place and returns names itself when they are already clean, which is the
// common case and costs one pass.
func cleanNames(names []string) []string {
	clean := true
	for i, n := range names {
		if (i > 0 && names[i-1] >= n) || ValidateName(n) != nil {
			clean = false
			break
		}
	}
	if clean {
		return names
	}
	out := names[:0]
	for _, n := range names {
		if ValidateName(n) == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Get implements Store.
func (c *checked) Get(ctx context.Context, name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	v, err := c.d.Get(ctx, name)
	if err != nil {
		return "", c.explain(name, err)
	}
	return v, nil
}

// Set implements Store.
func (c *checked) Set(ctx context.Context, name, value string) error {
	if err := c.validateWrite(name, value); err != nil {
		return err
	}
	if err := c.ready(ctx); err != nil {
		return err
	}
	if err := c.checkCapacity(ctx, map[string]string{name: value}); err != nil {
		return err
	}
	return c.explain(name, c.d.Set(ctx, name, value))
}

// Delete implements Store.
func (c *checked) Delete(ctx context.Context, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := c.ready(ctx); err != nil {
		return err
	}
	return c.explain(name, c.d.Delete(ctx, name))
}

// validateWrite checks a name and value about to be written.
func (c *checked) validateWrite(name, value string) error {
	if err := validatePair(name, value); err != nil {
		return err
	}
	return c.checkWritable(name)
}

func validatePair(name, value string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	return ValidateValue(value)
}

// Create implements Creator. With a backend that cannot create atomically
// it checks with Get and then calls Set, which can race with a concurrent
// writer of the same name.
func (c *checked) Create(ctx context.Context, name, value string) error {
	if err := c.validateWrite(name, value); err != nil {
		return err
	}
	if err := c.ready(ctx); err != nil {
		return err
	}
	if err := c.checkCapacity(ctx, map[string]string{name: value}); err != nil {
		return err
	}
	return c.create(ctx, name, value)
}

// create is Create after the checks.
func (c *checked) create(ctx context.Context, name, value string) error {
	if cr, ok := c.d.(Creator); ok {
		err := cr.Create(ctx, name, value)
		if !errors.Is(err, errors.ErrUnsupported) {
			return c.explain(name, err)
		}
	}
	_, err := c.d.Get(ctx, name)
	switch {
	case err == nil:
		return c.explain(name, ErrExists)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return c.explain(name, c.d.Set(ctx, name, value))
}

// GetAll implements BulkGetter. With a backend that has no bulk read it
// lists the names and reads them with at most MaxConcurrentReads Get calls
// in flight; a secret deleted between the two is left out.
func (c *checked) GetAll(ctx context.Context) (map[string]string, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	if b, ok := c.d.(BulkGetter); ok {
		all, err := b.GetAll(ctx)
		if !errors.Is(err, errors.ErrUnsupported) {
			if err != nil {
				return nil, err
			}
			for n := range all {
				if ValidateName(n) != nil {
					delete(all, n)
				}
			}
			return all, nil
		}
	}
	names, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	return ReadConcurrently(ctx, names, MaxConcurrentReads, func(ctx context.Context, name string) (string, bool, error) {
		v, err := c.d.Get(ctx, name)
		if errors.Is(err, ErrNotFound) {
			return "", false, nil
		}
		return v, err == nil, err
	})
}

// SetMany implements BatchWriter. Every name and value is checked before
// anything is written. With a backend that cannot write a batch atomically
// it writes the secrets one at a time in name order (creating new names
// with Create unless overwrite is set, so a concurrent creator aborts the
// batch) and, when a write fails, undoes the writes already made: replaced
// secrets get their previous values back and new ones are deleted. The
// undo runs even when ctx is cancelled (bounded by UndoTimeout); the error
// says whether it worked. An interrupted process (SIGKILL) can still leave
// part of a batch behind on such a backend.
func (c *checked) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	names := SortedNames(values)
	for _, name := range names {
		if err := c.validateWrite(name, values[name]); err != nil {
			return err
		}
	}
	if err := c.ready(ctx); err != nil {
		return err
	}
	if len(values) == 0 {
		return nil
	}
	if err := c.checkCapacity(ctx, values); err != nil {
		return err
	}
	if b, ok := c.d.(BatchWriter); ok {
		err := b.SetMany(ctx, values, overwrite)
		if !errors.Is(err, errors.ErrUnsupported) {
			return err
		}
	}
	return c.setEach(ctx, names, values, overwrite)
}

// UndoTimeout bounds the undo of a batch that failed part way.
const UndoTimeout = time.Minute

func (c *checked) setEach(ctx context.Context, names []string, values map[string]string, overwrite bool) error {
	current, err := c.List(ctx)
	if err != nil {
		return err
	}
	var existing []string
	for _, name := range names {
		if _, ok := slices.BinarySearch(current, name); ok {
			existing = append(existing, name)
		}
	}
	if len(existing) > 0 && !overwrite {
		return fmt.Errorf("%w: %s in %s; nothing was written", ErrExists, NameList(existing), c.where(""))
	}
	previous := make(map[string]string, len(existing))
	for _, name := range existing {
		v, err := c.d.Get(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
			// Deleted meanwhile: undoing means deleting it again.
		case err != nil:
			return fmt.Errorf("cannot read %s, which is about to be replaced (needed to undo a failed write); nothing was written: %w", name, err)
		default:
			previous[name] = v
		}
	}
	var done []string
	for _, name := range names {
		var err error
		if _, had := previous[name]; had || overwrite {
			err = c.d.Set(ctx, name, values[name])
		} else {
			err = c.create(ctx, name, values[name])
		}
		if err == nil {
			done = append(done, name)
			continue
		}
		err = c.explain(name, err)
		if len(done) == 0 {
			return fmt.Errorf("storing %s failed, nothing was written: %w", name, err)
		}
		if uerr := c.undo(ctx, done, previous); uerr != nil {
			return fmt.Errorf("storing %s failed: %w; undoing the %d secrets written before it failed too (%v): check %s", name, err, len(done), uerr, NameList(done))
		}
		return fmt.Errorf("storing %s failed: %w; the %d secrets written before it were rolled back, nothing changed", name, err, len(done))
	}
	return nil
}

// undo reverts the writes of setEach.
func (c *checked) undo(ctx context.Context, done []string, previous map[string]string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), UndoTimeout)
	defer cancel()
	var failed []string
	var first error
	for _, name := range done {
		var err error
		if v, ok := previous[name]; ok {
			err = c.d.Set(ctx, name, v)
		} else {
			err = c.d.Delete(ctx, name)
		}
		if err != nil {
			failed = append(failed, name)
			if first == nil {
				first = err
			}
		}
	}
	if first != nil {
		return fmt.Errorf("%s not restored: %w", NameList(failed), first)
	}
	return nil
}

// Close implements io.Closer: it closes the backend's store once, and makes
// every later call answer ErrClosed.
func (c *checked) Close() error {
	c.closed.Store(true)
	c.once.Do(func() {
		if cl, ok := c.d.(io.Closer); ok {
			c.cerr = cl.Close()
		}
	})
	return c.cerr
}

// maxListed bounds how many names NameList lists.
const maxListed = 30

// NameList joins secret names for a message, listing at most 30 and
// counting the rest.
func NameList(names []string) string {
	if len(names) > maxListed {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
	}
	return strings.Join(names, ", ")
}
