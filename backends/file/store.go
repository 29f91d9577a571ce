package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"filippo.io/age"

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
	cacheHdr   []byte // header + size of the file the cache was decoded from
	cache      *document
}

var (
	_ secrets.Store       = (*Store)(nil)
	_ secrets.Creator     = (*Store)(nil)
	_ secrets.BulkGetter  = (*Store)(nil)
	_ secrets.BatchWriter = (*Store)(nil)
	_ secrets.Locator     = (*Store)(nil)
)

// Path returns the store file's path.
func (s *Store) Path() string { return s.path }

// Locate implements secrets.Locator.
func (s *Store) Locate(string) string { return "file " + s.path }

// List implements secrets.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	doc, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return secrets.SortedNames(doc.Repositories[s.scope.Repository]), nil
}

// Get implements secrets.Store.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	doc, err := s.read(ctx)
	if err != nil {
		return "", err
	}
	v, ok := doc.Repositories[s.scope.Repository][name]
	if !ok {
		return "", secrets.ErrNotFound
	}
	return v, nil
}

// GetAll implements secrets.BulkGetter: one decryption gives every secret.
func (s *Store) GetAll(ctx context.Context) (map[string]string, error) {
	doc, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	src := doc.Repositories[s.scope.Repository]
	out := make(map[string]string, len(src))
	for k, v := range src {
		out[k] = v
	}
	return out, nil
}

// Set implements secrets.Store.
func (s *Store) Set(ctx context.Context, name, value string) error {
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		repo[name] = value
		return true, nil
	})
}

// Create implements secrets.Creator.
func (s *Store) Create(ctx context.Context, name, value string) error {
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		if _, ok := repo[name]; ok {
			return false, secrets.ErrExists
		}
		repo[name] = value
		return true, nil
	})
}

// SetMany implements secrets.BatchWriter: all the values are written in
// one rewrite of the store file, or none is.
func (s *Store) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		if !overwrite {
			var existing []string
			for _, name := range secrets.SortedNames(values) {
				if _, ok := repo[name]; ok {
					existing = append(existing, name)
				}
			}
			if len(existing) > 0 {
				return false, fmt.Errorf("%w: %s in %v (%s); nothing was written", secrets.ErrExists, secrets.NameList(existing), s.scope, s.path)
			}
		}
		for name, value := range values {
			repo[name] = value
		}
		return len(values) > 0, nil
	})
}

// Delete implements secrets.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		if _, ok := repo[name]; !ok {
			return false, secrets.ErrNotFound
		}
		delete(repo, name)
		return true, nil
	})
}

// read returns the current document (an empty one when the store file does
// not exist). The result must not be modified.
func (s *Store) read(ctx context.Context) (*document, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &document{}, nil
	}
	if err != nil {
		return nil, s.ioError("read", err)
	}
	defer f.Close()
	return s.decodeFile(ctx, f)
}
