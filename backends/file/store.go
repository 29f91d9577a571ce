package file

import (
	"context"
	"fmt"
	"sync"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Store is the file backend's own store of one scope, as Open returns it
// behind secrets.Wrap (secrets.Unwrap gives it back, for Path). It
// implements secrets.Creator, secrets.BulkGetter, secrets.BatchWriter and
// secrets.Locator. Its methods are safe for concurrent use, also by several
// Stores and processes on the same file.
type Store struct {
	scope    secrets.Scope
	opts     Options
	path     string // <dir>/<project>.age
	lockPath string
	keyPath  string

	mu         sync.Mutex // guards the fields below
	identities []age.Identity
	recipients []age.Recipient
	passChars  int  // the passphrase's length in characters
	warned     bool // about a short passphrase
	// cache is the document last read or written, under its Fingerprint;
	// it is only used through Reopen.
	cache *document.Document
}

var (
	_ secrets.Store       = (*Store)(nil)
	_ secrets.Creator     = (*Store)(nil)
	_ secrets.BulkGetter  = (*Store)(nil)
	_ secrets.BatchWriter = (*Store)(nil)
	_ secrets.Locator     = (*Store)(nil)
	_ secrets.SizeBounder = (*Store)(nil)
)

// Path returns the store file's path.
func (s *Store) Path() string { return s.path }

// Locate implements secrets.Locator.
func (s *Store) Locate(string) string { return "file " + s.path }

// List implements secrets.Store: it decodes the repository's index only.
func (s *Store) List(ctx context.Context) (names []string, err error) {
	err = s.view(ctx, func(d *document.Document) error {
		names, err = d.List(s.scope.Repository)
		return err
	})
	return names, err
}

// Get implements secrets.Store: it decodes one value.
func (s *Store) Get(ctx context.Context, name string) (value string, err error) {
	err = s.view(ctx, func(d *document.Document) error {
		v, ok, err := d.Get(s.scope.Repository, name)
		if err == nil && !ok {
			err = secrets.ErrNotFound
		}
		value = v
		return err
	})
	return value, err
}

// GetAll implements secrets.BulkGetter: one decryption gives every secret.
func (s *Store) GetAll(ctx context.Context) (all map[string]string, err error) {
	err = s.view(ctx, func(d *document.Document) error {
		all, err = d.GetAll(s.scope.Repository)
		return err
	})
	return all, err
}

// SizeBound implements secrets.SizeBounder from the document's first
// line, decoding no value.
func (s *Store) SizeBound(ctx context.Context) (n int, err error) {
	err = s.view(ctx, func(d *document.Document) error {
		n = int(d.SizeBound(s.scope.Repository))
		return nil
	})
	return n, err
}

// Set implements secrets.Store.
func (s *Store) Set(ctx context.Context, name, value string) error {
	return s.update(ctx, func(d *document.Document, repo string) (bool, error) {
		d.Set(repo, name, value)
		return true, nil
	})
}

// Create implements secrets.Creator.
func (s *Store) Create(ctx context.Context, name, value string) error {
	return s.update(ctx, func(d *document.Document, repo string) (bool, error) {
		if ok, err := d.Has(repo, name); err != nil || ok {
			if err == nil {
				err = secrets.ErrExists
			}
			return false, err
		}
		d.Set(repo, name, value)
		return true, nil
	})
}

// SetMany implements secrets.BatchWriter: all the values are written in
// one rewrite of the store file, or none is.
func (s *Store) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	return s.update(ctx, func(d *document.Document, repo string) (bool, error) {
		if !overwrite {
			var existing []string
			for _, name := range secrets.SortedNames(values) {
				ok, err := d.Has(repo, name)
				if err != nil {
					return false, err
				}
				if ok {
					existing = append(existing, name)
				}
			}
			if len(existing) > 0 {
				return false, fmt.Errorf("%w: %s in %v (%s); nothing was written", secrets.ErrExists, secrets.NameList(existing), s.scope, s.path)
			}
		}
		for name, value := range values {
			d.Set(repo, name, value)
		}
		return len(values) > 0, nil
	})
}

// Delete implements secrets.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.update(ctx, func(d *document.Document, repo string) (bool, error) {
		ok, err := d.Delete(repo, name)
		if err == nil && !ok {
			err = secrets.ErrNotFound
		}
		return ok, err
	})
}
