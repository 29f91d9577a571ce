package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// SetMany implements secrets.BatchWriter for the entry layout on KV v2:
// all or nothing, also when the process is killed. It reads the current
// version of every name, writes an intent record (.dstack-intent in the
// repository's folder) naming them, writes the secrets with check-and-set
// (in name order, 16 at a time: the recovery after a kill relies on both),
// and clears the record, which commits the batch. When a
// write fails or ctx is cancelled (an interrupted command) the secrets
// already written are rolled back to their previous versions before
// SetMany returns. When the process dies, the record stays behind, and the
// next command on the repository rolls the batch back; until then List
// and GetAll show the names as they were before the batch. KV v1 keeps no
// versions to roll back to: there SetMany answers errors.ErrUnsupported and
// secrets.Wrap's fallback (which undoes on failure or cancellation, but
// not after a kill) is used.
func (s *store) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	if s.version != 2 {
		return fmt.Errorf("vault: mount %q is KV version 1, which keeps no versions to roll an interrupted batch back to: %w", s.mount, errors.ErrUnsupported)
	}
	names := secrets.SortedNames(values)
	states := make(map[string]entry, len(names))
	var mu sync.Mutex
	_, err := secrets.ReadConcurrently(ctx, names, MaxConcurrentReads, func(ctx context.Context, name string) (string, bool, error) {
		e, err := s.readEntry(ctx, name, 0)
		mu.Lock()
		states[name] = e
		mu.Unlock()
		return "", false, err
	})
	if err != nil {
		return fmt.Errorf("reading the secrets about to be replaced failed, nothing was written: %w", err)
	}
	var existing []string
	prev := make(map[string]prevState, len(names))
	for _, n := range names {
		e := states[n]
		if _, ok := e.data[valueField].(string); e.live && ok {
			existing = append(existing, n)
		}
		prev[n] = prevState{version: e.version, live: e.live}
	}
	if len(existing) > 0 && !overwrite {
		return fmt.Errorf("%w: %s in %v (Vault %s, %s/%s/); nothing was written", secrets.ErrExists, secrets.NameList(existing), s.scope, s.addr(), s.mount, s.base)
	}
	in := newIntent(prev)
	if err := s.beginIntent(ctx, in); err != nil {
		return err
	}
	written, uncertain, failedName, werr := s.writeBatch(ctx, in, names, values, states)
	undoCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), secrets.UndoTimeout)
	defer cancel()
	what := "storing " + failedName
	if werr == nil {
		if werr = s.clearIntent(undoCtx, in); werr == nil {
			return nil
		}
		what = "committing the batch"
	}
	if len(written) == 0 {
		if err := s.clearIntent(undoCtx, in); err != nil {
			return fmt.Errorf("%s failed, nothing was written: %w; removing the batch record failed too (%v): the next command on this repository removes it", what, werr, err)
		}
		return fmt.Errorf("%s failed, nothing was written: %w", what, werr)
	}
	done := secrets.SortedNames(written)
	if failed, err := s.rollback(undoCtx, done, prev, written, uncertain); err != nil {
		return fmt.Errorf("%s failed: %w; undoing the %d secrets written before it failed too (%s not restored: %v): the next command on this repository rolls them back", what, werr, len(done), secrets.NameList(failed), err)
	}
	if err := s.clearIntent(undoCtx, in); err != nil {
		return fmt.Errorf("%s failed: %w; the %d secrets written before it were rolled back, but removing the batch record failed (%v): the next command on this repository removes it", what, werr, len(done), err)
	}
	return fmt.Errorf("%s failed: %w; the %d secrets written before it were rolled back, nothing changed", what, werr, len(done))
}

// writeBatch writes the secrets, MaxConcurrentReads at a time, extending
// the intent's lease as it goes. It stops at the first failure (or when
// ctx ends) and returns the version each name was written at, including
// writes that may have been applied although their answer was lost (also
// listed in uncertain), and the name whose write failed.
func (s *store) writeBatch(ctx context.Context, in *intent, names []string, values map[string]string, states map[string]entry) (written map[string]int, uncertain map[string]bool, _ string, _ error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	written, uncertain = make(map[string]int, len(names)), map[string]bool{}
	var (
		mu        sync.Mutex
		wg        sync.WaitGroup
		first     error
		firstName string
	)
	fail := func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first, firstName = err, name
			cancel()
		}
	}
	sem := make(chan struct{}, MaxConcurrentReads)
	for _, name := range names {
		if time.Until(in.expires) < intentLease/2 {
			if err := s.extendIntent(ctx, in); err != nil {
				fail(name, err)
				break
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			fail(name, context.Cause(ctx))
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v, maybe, err := s.writeOne(ctx, in, name, values[name], states[name])
			if err == nil || maybe {
				mu.Lock()
				if err != nil {
					v = states[name].version + 1
					uncertain[name] = true
				}
				written[name] = v
				mu.Unlock()
			}
			if err != nil {
				fail(name, err)
			}
		}()
	}
	wg.Wait()
	return written, uncertain, firstName, first
}

// writeOne writes one secret of a batch with check-and-set against the
// version read before the batch began. maybe reports a failed write that
// Vault may have applied anyway (no answer, or a 5xx).
func (s *store) writeOne(ctx context.Context, in *intent, name, value string, e entry) (version int, maybe bool, err error) {
	p := s.secretPath(name)
	err = s.do(ctx, func(cl *api.Client) error {
		if time.Until(in.expires) < intentLease/4 {
			return fmt.Errorf("%w: the batch's record expired before %s could be written (Vault too slow?)", secrets.ErrUnavailable, name)
		}
		if maybe {
			cur, err := s.read(ctx, cl, p, 0)
			if err != nil {
				return err
			}
			if cur.version == e.version+1 && cur.live && cur.data[valueField] == value {
				version = cur.version
				return nil // the earlier attempt was applied
			}
			if cur.version != e.version {
				return changedMeanwhile(name)
			}
		}
		v, err := s.write(ctx, cl, p, withValue(e, value), e.version)
		switch {
		case errors.Is(err, errCASConflict):
			return changedMeanwhile(name)
		case err != nil:
			maybe = maybe || !refused(err)
		}
		version = v
		return err
	})
	if err != nil {
		return 0, maybe, s.classify(ctx, err, "write secret "+name, s.dataPath(p), `capabilities "create", "read" and "update"`)
	}
	return version, false, nil
}

// changedMeanwhile is the error of a batch write that lost to another
// writer of the same name.
func changedMeanwhile(name string) error {
	return fmt.Errorf("%w: %s was changed by another writer while the batch was being written", secrets.ErrConflict, name)
}

// refused reports whether Vault answered a request with a 4xx status, so
// that it certainly did not apply it.
func refused(err error) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < http.StatusInternalServerError
}
