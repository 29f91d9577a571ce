package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Mover is an optional interface for stores that can move every secret of
// their scope to another scope in one atomic step: the file backend, when
// both scopes are in the same file, rewrites it once. Call the Move helper
// rather than asserting it directly.
type Mover interface {
	// MoveTo moves every secret of the store's scope into dst, the
	// backend's own store of another scope (what Unwrap returns), and
	// returns the names moved, sorted. When it returns nil every secret is
	// in dst and none is left in the source; when it fails nothing
	// changed. When overwrite is false and any of the names exists in dst,
	// it returns an error wrapping ErrExists that names them, and changes
	// nothing. When it cannot move to dst atomically (dst is another kind
	// of store, or lives elsewhere) it returns an error wrapping
	// errors.ErrUnsupported, having changed nothing, and Move falls back to
	// copying and deleting.
	MoveTo(ctx context.Context, dst Store, overwrite bool) (moved []string, err error)
}

// Move moves every secret of from's scope to to's scope, all or nothing,
// and returns the names moved, sorted (none, and a nil error, when from
// holds no secret). It is how secrets follow a repository whose identity
// changed (a remote added or renamed): from and to are usually two scopes
// of one project, opened from the same configuration.
//
// Two stores of the same scope and backend are refused (ErrInvalidScope):
// Move cannot tell whether they are one storage, and moving a scope onto
// itself would delete it. To copy a scope to other storage, use GetAll and
// SetMany.
//
// When overwrite is false and a name already exists in to, Move returns an
// error wrapping ErrExists that names every such name, and changes
// nothing. With overwrite, the secrets of to are replaced.
//
// When from's backend implements Mover for to (the file backend, both
// scopes in one file) the move is one atomic step. Otherwise Move reads
// every secret of from (GetAll), writes them to to with SetMany (all or
// nothing), then deletes them from from. If a delete fails, Move undoes
// the move: it puts back the secrets already deleted from from and
// removes what it wrote to to, restoring the values it overwrote there;
// the error says whether that worked and, if not, which names to check.
// The undo runs even when ctx is cancelled (bounded by UndoTimeout). A
// writer changing from while the move runs, or an interrupted process,
// can still leave both scopes holding a secret.
func Move(ctx context.Context, from, to Store, overwrite bool) (moved []string, err error) {
	src, dst := asChecked(from), asChecked(to)
	if src == dst || (src.info.Scope != (Scope{}) && src.info.Scope == dst.info.Scope && src.info.Backend == dst.info.Backend) {
		return nil, fmt.Errorf("%w: the source and the destination of the move are both %s; nothing was moved", ErrInvalidScope, src.where(""))
	}
	if err := src.ready(ctx); err != nil {
		return nil, err
	}
	if err := dst.ready(ctx); err != nil {
		return nil, err
	}
	values, err := src.GetAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the secrets of %s: %w; nothing was moved", src.where(""), err)
	}
	if len(values) == 0 {
		return nil, nil
	}
	names := SortedNames(values)
	for _, name := range names {
		if err := dst.validateWrite(name, values[name]); err != nil {
			return nil, fmt.Errorf("%w; nothing was moved", err)
		}
	}
	if m, ok := src.d.(Mover); ok {
		if err := dst.checkCapacity(ctx, values); err != nil {
			return nil, err
		}
		moved, err := m.MoveTo(ctx, dst.d, overwrite)
		if !errors.Is(err, errors.ErrUnsupported) {
			return moved, err
		}
	}
	return src.moveEach(ctx, dst, names, values, overwrite)
}

// moveEach is Move for backends without an atomic mover: write to dst,
// then delete from c, undoing both when a delete fails.
func (c *checked) moveEach(ctx context.Context, dst *checked, names []string, values map[string]string, overwrite bool) ([]string, error) {
	current, err := dst.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w; nothing was moved", dst.where(""), err)
	}
	existing := make([]string, 0)
	for _, name := range names {
		if _, ok := slices.BinarySearch(current, name); ok {
			existing = append(existing, name)
		}
	}
	if len(existing) > 0 && !overwrite {
		return nil, fmt.Errorf("%w: %s in %s; nothing was moved", ErrExists, NameList(existing), dst.where(""))
	}
	// The values about to be replaced in dst restore it if the move fails.
	previous := make(map[string]string, len(existing))
	for _, name := range existing {
		v, err := dst.d.Get(ctx, name)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("cannot read %s in %s, which is about to be replaced (needed to undo a failed move): %w; nothing was moved", name, dst.where(""), err)
		default:
			previous[name] = v
		}
	}
	if err := dst.SetMany(ctx, values, overwrite); err != nil {
		return nil, fmt.Errorf("writing to %s: %w; nothing was moved", dst.where(""), err)
	}
	for i, name := range names {
		err := c.d.Delete(ctx, name)
		if err == nil || errors.Is(err, ErrNotFound) {
			continue
		}
		err = fmt.Errorf("deleting %s from %s failed: %w", name, c.where(""), c.explain(name, err))
		if uerr := c.undoMove(ctx, dst, names, names[:i], values, previous); uerr != nil {
			return nil, fmt.Errorf("%w; undoing the move failed too (%v): check %s in both repositories", err, uerr, NameList(names))
		}
		return nil, fmt.Errorf("%w; the move was undone, nothing changed", err)
	}
	return names, nil
}

// undoMove puts the deleted secrets back into c and removes the written
// ones from dst (restoring the values they replaced).
func (c *checked) undoMove(ctx context.Context, dst *checked, written, deleted []string, values, previous map[string]string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), UndoTimeout)
	defer cancel()
	var failed []string
	var first error
	note := func(name string, err error) {
		if err != nil {
			failed = append(failed, name)
			if first == nil {
				first = err
			}
		}
	}
	for _, name := range deleted {
		note(name, c.d.Set(ctx, name, values[name]))
	}
	for _, name := range written {
		if v, ok := previous[name]; ok {
			note(name, dst.d.Set(ctx, name, v))
		} else if err := dst.d.Delete(ctx, name); !errors.Is(err, ErrNotFound) {
			note(name, err)
		}
	}
	if first != nil {
		return fmt.Errorf("%s not restored: %w", NameList(failed), first)
	}
	return nil
}
