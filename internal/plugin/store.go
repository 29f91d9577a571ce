package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/dstackai/dstack-secrets/secrets"
)

// store is the parent's side of a store served by a program: each method
// is a call. Open returns it behind secrets.Wrap, which checks names,
// values, contexts and closing before a call is made.
type store struct {
	c       *conn
	methods map[string]bool // the methods the program's store supports
}

var (
	_ secrets.Store            = (*store)(nil)
	_ secrets.Creator          = (*store)(nil)
	_ secrets.BulkGetter       = (*store)(nil)
	_ secrets.BatchWriter      = (*store)(nil)
	_ secrets.Locator          = (*store)(nil)
	_ secrets.RepositoryLister = (*store)(nil)
	_ secrets.History          = (*store)(nil)
)

// call calls m on the program, or answers errors.ErrUnsupported when the
// program's store does not have m (secrets.Wrap then uses its fallback).
func call[P, R any](ctx context.Context, s *store, m method[P, R], p P) (R, error) {
	if !s.methods[m.name] {
		var r R
		return r, fmt.Errorf("%w: the %s program's store has no %s", errors.ErrUnsupported, s.c.program, m.name)
	}
	return m.call(ctx, s.c, p)
}

// List implements secrets.Store.
func (s *store) List(ctx context.Context) ([]string, error) {
	r, err := call(ctx, s, mList, none{})
	return r.Names, err
}

// Get implements secrets.Store.
func (s *store) Get(ctx context.Context, name string) (string, error) {
	r, err := call(ctx, s, mGet, nameParams{name})
	return r.Value, err
}

// Set implements secrets.Store.
func (s *store) Set(ctx context.Context, name, value string) error {
	_, err := call(ctx, s, mSet, pairParams{name, value})
	return err
}

// Delete implements secrets.Store.
func (s *store) Delete(ctx context.Context, name string) error {
	_, err := call(ctx, s, mDelete, nameParams{name})
	return err
}

// Create implements secrets.Creator.
func (s *store) Create(ctx context.Context, name, value string) error {
	_, err := call(ctx, s, mCreate, pairParams{name, value})
	return err
}

// GetAll implements secrets.BulkGetter.
func (s *store) GetAll(ctx context.Context) (map[string]string, error) {
	r, err := call(ctx, s, mGetAll, none{})
	return r.Values, err
}

// SetMany implements secrets.BatchWriter.
func (s *store) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	_, err := call(ctx, s, mSetMany, manyParams{values, overwrite})
	return err
}

// Repositories implements secrets.RepositoryLister.
func (s *store) Repositories(ctx context.Context) (map[string]int, error) {
	r, err := call(ctx, s, mRepositories, none{})
	return r.Counts, err
}

// Versions implements secrets.History.
func (s *store) Versions(ctx context.Context, name string) ([]secrets.Version, error) {
	r, err := call(ctx, s, mVersions, nameParams{name})
	return r.Versions, err
}

// GetVersion implements secrets.History.
func (s *store) GetVersion(ctx context.Context, name string, n int) (string, error) {
	r, err := call(ctx, s, mGetVersion, versionParams{name, n})
	return r.Value, err
}

// Locate implements secrets.Locator, for the messages of secrets.Wrap; it
// says nothing when the program's store cannot tell or does not answer.
func (s *store) Locate(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), locateTimeout)
	defer cancel()
	r, err := call(ctx, s, mLocate, nameParams{name})
	if err != nil {
		return ""
	}
	return r.Location
}

// Close closes the store in the program and waits for the program to exit
// (killing it after CloseTimeout). When the program is already gone there
// is nothing to close, and Close returns nil: the calls made it known.
func (s *store) Close() error {
	if s.c.deadErr() != nil {
		s.c.shutdown()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	s.c.startClosing()
	_, err := mClose.call(ctx, s.c, none{})
	s.c.closed()
	s.c.shutdown()
	return err
}
