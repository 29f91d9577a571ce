package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Store is the cloud backend's own store of one scope, as Open returns it
// behind secrets.Wrap. It implements secrets.Creator, secrets.BulkGetter
// (one GET), secrets.BatchWriter (one conditional PUT) and
// secrets.Locator. Its methods are safe for concurrent use, also by other
// processes and machines on the same bucket: every write is a
// read-modify-write of the repository's object with a precondition,
// retried when another writer got there first.
type Store struct {
	*project
	scope secrets.Scope
	key   string
	// trustOldSigners makes reads accept a document signed by a writer of
	// the (trusted) member list the document names, even if that writer
	// was removed since. Only the re-encryption of ShareAdd and
	// ShareRemove sets it, to carry the documents last written by a
	// removed member over to the new list.
	trustOldSigners bool
}

var (
	_ secrets.Store       = (*Store)(nil)
	_ secrets.Creator     = (*Store)(nil)
	_ secrets.BulkGetter  = (*Store)(nil)
	_ secrets.BatchWriter = (*Store)(nil)
	_ secrets.Locator     = (*Store)(nil)
)

// Location returns the address of the repository's object, e.g.
// s3://bucket/prefix/project/repos/github.com/org/repo.age.
func (s *Store) Location() string { return s.objs.location(s.key) }

// Locate implements secrets.Locator.
func (s *Store) Locate(string) string { return "object " + s.Location() }

// Close releases the bucket and KMS clients.
func (s *Store) Close() error { return s.close() }

// current is the verified state of the repository's object.
type current struct {
	// content holds the repository's secrets (under its identity): the
	// decrypted document, or an empty one when the object does not exist.
	content *document.Document
	ver     version
	seq     uint64
	doc     *parsedDoc // nil when the object does not exist
	chain   *chain     // recipients mode: the trusted member list (nil: none yet)
	// membersVer is the version of the member list object (writes only).
	membersVer   version
	membersEpoch int
}

// List implements secrets.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	cur, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	names, err := cur.content.List(s.scope.Repository)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Location(), err)
	}
	return names, nil
}

// Get implements secrets.Store.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	cur, err := s.read(ctx)
	if err != nil {
		return "", err
	}
	v, ok, err := cur.content.Get(s.scope.Repository, name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", s.Location(), err)
	}
	if !ok {
		return "", secrets.ErrNotFound
	}
	return v, nil
}

// GetAll implements secrets.BulkGetter: one GET of the repository's object.
func (s *Store) GetAll(ctx context.Context) (map[string]string, error) {
	cur, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	all, err := cur.content.GetAll(s.scope.Repository)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Location(), err)
	}
	return all, nil
}

// Set implements secrets.Store.
func (s *Store) Set(ctx context.Context, name, value string) error {
	return s.update(ctx, func(_ *current, values map[string]string) (bool, error) {
		if old, ok := values[name]; ok && old == value {
			return false, nil
		}
		values[name] = value
		return true, nil
	})
}

// Create implements secrets.Creator.
func (s *Store) Create(ctx context.Context, name, value string) error {
	return s.update(ctx, func(_ *current, values map[string]string) (bool, error) {
		if _, ok := values[name]; ok {
			return false, secrets.ErrExists
		}
		values[name] = value
		return true, nil
	})
}

// SetMany implements secrets.BatchWriter: one conditional write of the
// repository's object holds all the values, or none is written.
func (s *Store) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	return s.update(ctx, func(_ *current, cur map[string]string) (bool, error) {
		if !overwrite {
			var existing []string
			for _, name := range secrets.SortedNames(values) {
				if _, ok := cur[name]; ok {
					existing = append(existing, name)
				}
			}
			if len(existing) > 0 {
				return false, fmt.Errorf("%w: %s in %v (%s); nothing was written", secrets.ErrExists, secrets.NameList(existing), s.scope, s.Location())
			}
		}
		maps.Copy(cur, values)
		return len(values) > 0, nil
	})
}

// Delete implements secrets.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.update(ctx, func(_ *current, values map[string]string) (bool, error) {
		if _, ok := values[name]; !ok {
			return false, secrets.ErrNotFound
		}
		delete(values, name)
		return true, nil
	})
}

// read returns the verified values: one GET of the object.
func (s *Store) read(ctx context.Context) (*current, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	return s.load(ctx, false)
}

// load reads and verifies the repository's object; forWrite also reads the
// member list object (recipients mode), concurrently.
func (s *Store) load(ctx context.Context, forWrite bool) (*current, error) {
	var (
		wg               sync.WaitGroup
		mdata            []byte
		mver             version
		merr             error
		trusted, members *chain
		pinErr           error
	)
	if s.keeper == nil {
		trusted, pinErr = s.pins.load()
		if pinErr != nil {
			return nil, pinErr
		}
		if forWrite {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mdata, mver, merr = s.objs.get(ctx, membersKey(s.name))
			}()
		}
	}
	data, ver, err := s.objs.get(ctx, s.key)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if merr != nil {
		return nil, merr
	}
	cur := &current{content: document.New(), ver: ver, membersVer: mver}
	if mver.exists {
		var f membersFile
		if err := json.Unmarshal(mdata, &f); err != nil {
			return nil, fmt.Errorf("%w: the member list %s does not decode; restore a previous version of the object", secrets.ErrCorrupt, s.objs.location(membersKey(s.name)))
		}
		if members, err = s.chains.verify(s.name, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", s.objs.location(membersKey(s.name)), err)
		}
		cur.membersEpoch = members.epoch()
	}
	if s.keeper == nil {
		me, err := s.identity(ctx)
		if err != nil {
			return nil, err
		}
		if trusted, err = trustChain(s.name, s.objs.location(membersKey(s.name)), members, trusted, s.opts.ProjectID, me.member.Fingerprint); err != nil {
			return nil, err
		}
		cur.chain = trusted
	}
	if !ver.exists {
		return cur, s.pin(cur.chain)
	}
	where := s.Location()
	doc, err := parseDoc(data, where)
	if err != nil {
		return nil, err
	}
	if err := doc.checkScope(s.scope, where); err != nil {
		return nil, err
	}
	cur.doc, cur.seq = doc, doc.body.Seq
	switch {
	case s.keeper != nil && doc.body.Mode == modeKMS:
		cur.content, err = doc.openKMS(ctx, s.keeper, s.opts.KMS, s.scope, where)
	case s.keeper == nil && doc.body.Mode == modeRecipient:
		cur.content, err = s.openRecipients(ctx, cur, doc, where)
	default:
		configured := modeRecipient
		if s.keeper != nil {
			configured = modeKMS
		}
		return nil, fmt.Errorf("%w: %s is in %s mode, but project %q is configured for %s mode (the kms option); fix the configuration", secrets.ErrInvalidConfig, where, doc.body.Mode, s.name, configured)
	}
	if err != nil {
		return nil, err
	}
	return cur, nil
}

// openRecipients verifies the member list embedded in doc and doc's
// signature against the trusted member list, and decrypts it.
func (s *Store) openRecipients(ctx context.Context, cur *current, doc *parsedDoc, where string) (*document.Document, error) {
	me, err := s.identity(ctx)
	if err != nil {
		return nil, err
	}
	if doc.env.Members == nil {
		return nil, fmt.Errorf("%w: %s carries no member list; it is not trusted", secrets.ErrCorrupt, where)
	}
	embedded, err := s.chains.verify(s.name, doc.env.Members)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if embedded.head() != doc.body.MembersHead {
		return nil, fmt.Errorf("%w: %s names a member list it does not carry; it is not trusted", secrets.ErrCorrupt, where)
	}
	if cur.chain, err = trustChain(s.name, where, embedded, cur.chain, s.opts.ProjectID, me.member.Fingerprint); err != nil {
		return nil, err
	}
	signers := cur.chain
	if s.trustOldSigners {
		if old := cur.chain.upTo(doc.body.MembersHead); old != nil {
			signers = old
		}
	}
	if err := doc.verifySigner(signers, where); err != nil {
		return nil, err
	}
	if err := s.pin(cur.chain); err != nil {
		return nil, err
	}
	return doc.openRecipients(me, s.scope.Repository, where)
}

// pin records c as the trusted member list on this machine.
func (s *Store) pin(c *chain) error {
	if c == nil || s.pins == nil {
		return nil
	}
	return s.pins.save(c)
}

// updateFunc changes values (a copy the caller may modify) and reports
// whether anything changed; an error aborts the update.
type updateFunc func(cur *current, values map[string]string) (changed bool, err error)

// update applies fn to the repository's secrets with a conditional write,
// reading again and retrying (with backoff and jitter) while other writers
// change the object first, until the operation's deadline.
func (s *Store) update(ctx context.Context, fn updateFunc) error {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := s.tryUpdate(ctx, fn)
		if !errors.Is(err, errPrecondition) {
			return err
		}
		if werr := backoff(ctx, attempt); werr != nil {
			return fmt.Errorf("%w: %s kept changing under %d attempts in %v (other writers); nothing was written by this one: %w", secrets.ErrConflict, s.Location(), attempt, time.Since(start).Round(time.Millisecond), werr)
		}
	}
}

// tryUpdate is one read-modify-write; errPrecondition means try again.
func (s *Store) tryUpdate(ctx context.Context, fn updateFunc) error {
	cur, err := s.load(ctx, true)
	if err != nil {
		return err
	}
	var me *localIdentity
	if s.keeper == nil {
		if me, err = s.identity(ctx); err != nil {
			return err
		}
		if cur.chain == nil {
			if cur.chain, err = s.createProject(ctx, me); err != nil {
				return err
			}
		}
		if m, ok := cur.chain.find(me.member.Fingerprint); !ok || !m.CanWrite {
			return fmt.Errorf("%w: this identity (%s, %s) is not a member of project %q who can write; a member can add it with `dstack-secrets share add '%s'`", secrets.ErrPermission, me.member.Fingerprint, me.path, s.name, me.member.Key)
		}
	}
	values, err := cur.content.GetAll(s.scope.Repository)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Location(), err)
	}
	changed, err := fn(cur, values)
	if err != nil || !changed {
		return err
	}
	content := newDocument(s.scope.Repository, values)
	var data []byte
	if s.keeper != nil {
		data, err = sealKMS(ctx, s.keeper, s.opts.KMS, s.scope, cur.seq+1, content)
	} else {
		data, err = sealRecipients(s.scope, cur.seq+1, cur.chain, me, content)
	}
	if err != nil {
		return err
	}
	if err := s.objs.put(ctx, s.key, data, cur.ver); err != nil {
		return err
	}
	if s.keeper == nil && cur.membersEpoch < cur.chain.epoch() {
		// The member list object is missing or behind (deleted or rolled
		// back): put back the one this write used. Best effort: a
		// writer may lack permission on it.
		s.putMembers(ctx, cur.chain, cur.membersVer)
	}
	return nil
}

// createProject makes this identity the first member of the project: it
// writes the genesis of the member list, unless another writer does first.
func (s *Store) createProject(ctx context.Context, me *localIdentity) (*chain, error) {
	if s.opts.ProjectID != "" {
		return nil, fmt.Errorf("%w: project %q is pinned to project ID %s, but its member list %s is missing: it was deleted; restore it from a previous version (bucket versioning)", secrets.ErrAuth, s.name, s.opts.ProjectID, s.objs.location(membersKey(s.name)))
	}
	f, err := newStatement(s.name, nil, []Member{me.member}, me)
	if err != nil {
		return nil, err
	}
	c, err := verifyChain(s.name, f)
	if err != nil {
		return nil, err
	}
	if err := s.putMembers(ctx, c, version{}); err != nil {
		return nil, err
	}
	return c, s.pin(c)
}

// putMembers writes the member list c over the object at version want.
func (s *Store) putMembers(ctx context.Context, c *chain, want version) error {
	data, err := json.Marshal(c.file)
	if err != nil {
		return err
	}
	return s.objs.put(ctx, membersKey(s.name), data, want)
}

// backoff waits before attempt+1: exponential from 10 ms, capped at 1 s,
// with full jitter, or returns ctx's error.
func backoff(ctx context.Context, attempt int) error {
	ceiling := 10 * time.Millisecond << min(attempt, 7)
	ceiling = min(ceiling, time.Second)
	t := time.NewTimer(rand.N(ceiling) + time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
