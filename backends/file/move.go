package file

import (
	"context"
	"errors"
	"fmt"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

var _ secrets.Mover = (*Store)(nil)

// MoveTo implements secrets.Mover: when dst is a Store of the same file
// (another repository of the same project), every secret of s's
// repository moves to dst's in one rewrite of the file, under its lock, so
// the move is atomic and leaves no copy behind. Any other dst gives an
// error wrapping errors.ErrUnsupported, and secrets.Move falls back to
// copying and deleting.
func (s *Store) MoveTo(ctx context.Context, dst secrets.Store, overwrite bool) ([]string, error) {
	d, ok := dst.(*Store)
	if !ok || d.path != s.path || d.keyPath != s.keyPath || d.opts.Passphrase != s.opts.Passphrase {
		return nil, fmt.Errorf("file backend: %s is not in the same store file: %w", describeStore(dst), errors.ErrUnsupported)
	}
	if d.scope == s.scope {
		return nil, fmt.Errorf("%w: the source and the destination of the move are both %v; nothing was moved", secrets.ErrInvalidScope, s.scope)
	}
	to := d.scope.Repository
	var moved []string
	err := s.update(ctx, func(doc *document.Document, from string) (bool, error) {
		names, err := doc.List(from)
		if err != nil {
			return false, err
		}
		var existing []string
		for _, name := range names {
			has, err := doc.Has(to, name)
			if err != nil {
				return false, err
			}
			if has {
				existing = append(existing, name)
			}
		}
		if len(existing) > 0 && !overwrite {
			return false, fmt.Errorf("%w: %s in %v (%s); nothing was moved", secrets.ErrExists, secrets.NameList(existing), d.scope, s.path)
		}
		for _, name := range names {
			v, ok, err := doc.Get(from, name)
			if err != nil {
				return false, err
			}
			if !ok {
				continue
			}
			doc.Set(to, name, v)
			if _, err := doc.Delete(from, name); err != nil {
				return false, err
			}
			moved = append(moved, name)
		}
		return len(moved) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// describeStore names a store for MoveTo's message.
func describeStore(s secrets.Store) string {
	if d, ok := s.(*Store); ok {
		return "the store " + d.path
	}
	return fmt.Sprintf("a %T", s)
}
