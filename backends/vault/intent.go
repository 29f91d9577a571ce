package vault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// intentName is the entry, in the repository's folder, that records a
// batch (an import or copy) while the entry layout writes it on KV v2.
// It is not a valid secret name, so it never collides with a secret.
const intentName = ".dstack-intent"

// intentLease is how long a batch's intent record stays valid without
// being extended; the writer extends it at half time. Once it has
// expired (or, on the same machine, once its process has died) the next
// command rolls the batch back.
const intentLease = time.Minute

// prevState is what a name was before a batch wrote it.
type prevState struct {
	version int  // its KV v2 version; 0 when the path had none
	live    bool // that version held data (else the name did not exist)
}

// intent is a batch in progress, as recorded in Vault.
type intent struct {
	id      string
	owner   string // host and process namespace of the writer
	pid     int
	started time.Time
	expires time.Time
	names   map[string]prevState
	version int // the record's KV version, for check-and-set
}

// fields is the record's content. Every name maps to the version it had.
func (in *intent) fields() map[string]any {
	names := make(map[string]any, len(in.names))
	for n, p := range in.names {
		names[n] = map[string]any{"version": p.version, "live": p.live}
	}
	return map[string]any{
		"about":   "dstack-secrets is writing (or was interrupted writing) these secrets in one batch; the next dstack-secrets command on this repository completes or rolls it back",
		"id":      in.id,
		"owner":   in.owner,
		"pid":     in.pid,
		"started": in.started.UTC().Format(time.RFC3339Nano),
		"expires": in.expires.UTC().Format(time.RFC3339Nano),
		"names":   names,
	}
}

// parseIntent reads a record; nil when it holds no batch (missing, or
// cleared after a batch ended).
func parseIntent(e entry) *intent {
	id, _ := e.data["id"].(string)
	if !e.live || id == "" {
		return nil
	}
	in := &intent{id: id, version: e.version, names: map[string]prevState{}}
	in.owner, _ = e.data["owner"].(string)
	in.pid = jsonInt(e.data["pid"])
	in.started = jsonTime(e.data["started"])
	in.expires = jsonTime(e.data["expires"])
	names, _ := e.data["names"].(map[string]any)
	for n, v := range names {
		m, _ := v.(map[string]any)
		live, _ := m["live"].(bool)
		in.names[n] = prevState{version: jsonInt(m["version"]), live: live}
	}
	return in
}

// stale reports whether the batch's writer is gone: its lease expired, or
// it ran on this machine and its process has exited.
func (in *intent) stale() bool {
	if time.Now().After(in.expires) {
		return true
	}
	return in.owner != "" && in.owner == ownerID() && !processAlive(in.pid)
}

// describe names the batch's writer for messages.
func (in *intent) describe() string {
	return fmt.Sprintf("started %s by process %d on %s", in.started.Local().Format(time.DateTime), in.pid, in.owner)
}

// ownerID identifies this machine (and process namespace), so that a
// process can tell that another one on the same machine has died.
func ownerID() string {
	host, _ := os.Hostname()
	if ns, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		host += " " + ns
	}
	return host
}

// intentPath is the record's path inside the mount.
func (s *store) intentPath() string { return s.secretPath(intentName) }

// readIntent reads the record (nil: no batch) and its entry's version.
func (s *store) readIntent(ctx context.Context) (*intent, int, error) {
	e, err := s.readEntry(ctx, intentName, 0)
	if err != nil {
		return nil, 0, err
	}
	return parseIntent(e), e.version, nil
}

// pendingIntent is what readers do about a record: an interrupted batch
// is rolled back now; a batch still being written is returned, so that
// the reader shows its names as they were before it.
func (s *store) pendingIntent(ctx context.Context) (*intent, error) {
	in, _, err := s.readIntent(ctx)
	if err != nil || in == nil || !in.stale() {
		return in, err
	}
	if err := s.recoverIntent(ctx, in); err != nil {
		if errors.Is(err, secrets.ErrPermission) {
			s.warnOnce(intentName, fmt.Sprintf("an interrupted import or copy into %v (%s) is shown as it was before; this token may not roll it back: %v", s.scope, in.describe(), err))
			return in, nil
		}
		return nil, err
	}
	return nil, nil
}

// settle rolls back an interrupted batch before a single-secret write, so
// that the rollback cannot undo the write afterwards.
func (s *store) settle(ctx context.Context) error {
	if s.version != 2 {
		return nil
	}
	in, _, err := s.readIntent(ctx)
	if err != nil || in == nil || !in.stale() {
		return err
	}
	return s.recoverIntent(ctx, in)
}

// recoverIntent rolls an interrupted batch back and clears its record.
// Writes of the dead writer may still be in flight (a request Vault
// received before the process died can be applied after it): the writer
// writes the names in sorted order with at most MaxConcurrentReads in
// flight, so every name that is not written yet but may be in flight
// (up to MaxConcurrentReads past the last name written) is fenced.
func (s *store) recoverIntent(ctx context.Context, in *intent) error {
	names := secrets.SortedNames(in.names)
	current := make([]int, len(names))
	var (
		mu    sync.Mutex
		first error
	)
	parallel(len(names), func(i int) {
		e, err := s.readEntry(ctx, names[i], 0)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
		current[i] = e.version
	})
	if first != nil {
		return fmt.Errorf("rolling back the interrupted import or copy (%s): %w", in.describe(), first)
	}
	last := -1
	for i, n := range names {
		if current[i] == in.names[n].version+1 {
			last = i
		}
	}
	expect := make(map[string]int, len(names))
	fence := map[string]bool{}
	for i, n := range names {
		expect[n] = in.names[n].version + 1
		fence[n] = i <= last+MaxConcurrentReads
	}
	if failed, err := s.rollback(ctx, names, in.names, expect, fence); err != nil {
		return fmt.Errorf("rolling back the interrupted import or copy (%s): %s not restored: %w", in.describe(), secrets.NameList(failed), err)
	}
	return s.clearIntent(ctx, in)
}

// clearIntent ends a batch: its record is replaced by an empty version,
// with check-and-set, so that a record written meanwhile by another batch
// is never cleared.
func (s *store) clearIntent(ctx context.Context, in *intent) error {
	p := s.intentPath()
	err := s.do(ctx, func(cl *api.Client) error {
		_, err := s.write(ctx, cl, p, map[string]any{}, in.version)
		if errors.Is(err, errCASConflict) {
			e, rerr := s.read(ctx, cl, p, 0)
			if rerr == nil {
				if now := parseIntent(e); now == nil || now.id != in.id {
					return nil // cleared already (by a retry, or by another process)
				}
			}
		}
		return err
	})
	if err != nil {
		return s.classify(ctx, err, "clear the batch record", s.dataPath(p), `capabilities "create", "read" and "update"`)
	}
	return nil
}

// beginIntent writes the record of a new batch (check-and-set: one batch
// per repository at a time). A batch whose writer is gone is rolled back
// first; a live one is waited for until the deadline.
func (s *store) beginIntent(ctx context.Context, in *intent) error {
	p := s.intentPath()
	var busy *intent
	err := s.do(ctx, func(cl *api.Client) error {
		e, err := s.read(ctx, cl, p, 0)
		if err != nil {
			return err
		}
		if cur := parseIntent(e); cur != nil && cur.id != in.id {
			if !cur.stale() {
				busy = cur
				return errCASConflict
			}
			if err := s.recoverIntent(ctx, cur); err != nil {
				return err
			}
			return errCASConflict // read the cleared record again
		} else if cur != nil {
			in.version = e.version // a retried write that was applied
			return nil
		}
		v, err := s.write(ctx, cl, p, in.fields(), e.version)
		in.version = v
		return err
	})
	switch {
	case errors.Is(err, errCASConflict) && busy != nil:
		return fmt.Errorf("%w: another import or copy into %v is in progress (%s); nothing was written, try again when it has finished", secrets.ErrConflict, s.scope, busy.describe())
	case err != nil:
		return s.classify(ctx, err, "write the batch record", s.dataPath(p), `capabilities "create", "read" and "update"`)
	}
	return nil
}

// extendIntent pushes the lease of the record forward.
func (s *store) extendIntent(ctx context.Context, in *intent) error {
	p := s.intentPath()
	next := *in
	next.expires = time.Now().Add(intentLease)
	err := s.do(ctx, func(cl *api.Client) error {
		v, err := s.write(ctx, cl, p, next.fields(), in.version)
		if err == nil {
			in.version, in.expires = v, next.expires
		}
		if errors.Is(err, errCASConflict) {
			return fmt.Errorf("%w: the record of this import or copy was changed by another process (which took it for interrupted)", secrets.ErrConflict)
		}
		return err
	})
	if err != nil {
		return s.classify(ctx, err, "extend the batch record", s.dataPath(p), `capabilities "create", "read" and "update"`)
	}
	return nil
}

// newIntent describes a batch about to write names.
func newIntent(prev map[string]prevState) *intent {
	b := make([]byte, 12)
	rand.Read(b)
	now := time.Now()
	return &intent{id: hex.EncodeToString(b), owner: ownerID(), pid: os.Getpid(), started: now, expires: now.Add(intentLease), names: prev}
}

// rollback restores names to their state before a batch, each only if its
// current version is the one in expect (what the batch wrote): a version
// written after the batch by someone else is left alone. Names in
// uncertain had a write in flight when the batch stopped, which Vault may
// still apply later: when it has not landed yet, restore fences it off. It
// returns the names it could not restore.
func (s *store) rollback(ctx context.Context, names []string, prev map[string]prevState, expect map[string]int, uncertain map[string]bool) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), secrets.UndoTimeout)
	defer cancel()
	var (
		mu     sync.Mutex
		failed []string
		first  error
	)
	parallel(len(names), func(i int) {
		name := names[i]
		if err := s.restore(ctx, name, prev[name], expect[name], uncertain[name]); err != nil {
			mu.Lock()
			defer mu.Unlock()
			failed = append(failed, name)
			if first == nil {
				first = err
			}
		}
	})
	return failed, first
}

// parallel calls fn(0) to fn(n-1), MaxConcurrentReads at a time, and
// waits for all of them.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, MaxConcurrentReads)
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// restore puts name back to p if its current version is expect. With
// fence set and the batch's write not landed (the version is still p's),
// it writes p's state again as a new version, so that the write, should it
// land late, fails its check-and-set.
func (s *store) restore(ctx context.Context, name string, p prevState, expect int, fence bool) error {
	path := s.secretPath(name)
	err := s.do(ctx, func(cl *api.Client) error {
		e, err := s.read(ctx, cl, path, 0)
		switch {
		case err != nil:
			return err
		case e.version == expect:
		case fence && e.version == p.version:
			if e.live {
				_, err = s.write(ctx, cl, path, e.data, e.version)
				return err
			}
			// A deleted version on top keeps the name absent.
			if _, err = s.write(ctx, cl, path, map[string]any{}, e.version); err != nil {
				return err
			}
			_, err = cl.Logical().DeleteWithContext(ctx, s.dataPath(path))
			return err
		default:
			return nil // not written by the batch, restored already, or rewritten since
		}
		if p.live {
			old, err := s.read(ctx, cl, path, p.version)
			if err != nil {
				return err
			}
			if old.live {
				_, err = s.write(ctx, cl, path, old.data, e.version)
				return err
			}
		}
		if p.version == 0 && !fence {
			_, err = cl.Logical().DeleteWithContext(ctx, s.metaPath(path))
		} else {
			// Soft-deletes the batch's version; a write of the batch still
			// in flight fails its check-and-set against it.
			_, err = cl.Logical().DeleteWithContext(ctx, s.dataPath(path))
		}
		return err
	})
	if err != nil {
		return s.classify(ctx, err, "roll back secret "+name, s.dataPath(path), `capabilities "create", "update" and "delete"`)
	}
	return nil
}
