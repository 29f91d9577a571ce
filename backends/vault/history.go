package vault

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// errNoHistory is the answer on KV v1, which keeps no versions.
func (c *conn) errNoHistory() error {
	return fmt.Errorf("mount %q at Vault %s is KV version 1, which keeps no versions: %w", c.mount, c.addr(), errors.ErrUnsupported)
}

// versionsOf reads the KV v2 versions of p.
func (c *conn) versionsOf(ctx context.Context, p string) ([]versionInfo, int, error) {
	var (
		vs      []versionInfo
		current int
		found   bool
	)
	err := c.do(ctx, func(cl *api.Client) (err error) {
		vs, current, found, err = c.metadata(ctx, cl, p)
		return err
	})
	if err != nil {
		return nil, 0, c.classify(ctx, err, "read the version history", c.metaPath(p), `capability "read"`)
	}
	if !found {
		return nil, 0, secrets.ErrNotFound
	}
	return vs, current, nil
}

// Versions implements secrets.History: the versions Vault keeps of the
// secret's entry (KV v2 keeps 10 by default; see max_versions), with the
// time each was written. Vault does not record who wrote a KV version.
func (s *store) Versions(ctx context.Context, name string) ([]secrets.Version, error) {
	if s.version != 2 {
		return nil, s.errNoHistory()
	}
	vs, current, err := s.versionsOf(ctx, s.secretPath(name))
	if err != nil {
		return nil, err
	}
	out := make([]secrets.Version, 0, len(vs))
	for _, v := range vs {
		out = append(out, secrets.Version{Number: v.number, Time: v.created, Deleted: v.deleted, Current: v.number == current && !v.deleted})
	}
	if len(out) == 0 {
		return nil, secrets.ErrNotFound
	}
	return out, nil
}

// GetVersion implements secrets.History: the value of version n.
func (s *store) GetVersion(ctx context.Context, name string, n int) (string, error) {
	if s.version != 2 {
		return "", s.errNoHistory()
	}
	e, err := s.readEntry(ctx, name, n)
	if err != nil {
		return "", err
	}
	v, ok := e.data[valueField].(string)
	if !e.live || e.version != n || !ok {
		return "", secrets.ErrNotFound
	}
	return v, nil
}

// Versions implements secrets.History for the bundle: the versions of the
// repository's entry in which the secret changed (was written with a new
// value, or removed), oldest first. It reads every version Vault keeps
// (10 by default; see max_versions): one request each.
func (b *bundle) Versions(ctx context.Context, name string) ([]secrets.Version, error) {
	vs, _, err := b.versionsOf(ctx, b.path)
	if err != nil {
		return nil, err
	}
	type state struct {
		value   string
		present bool
	}
	states := make([]state, len(vs))
	var (
		mu    sync.Mutex
		first error
	)
	parallel(len(vs), func(i int) {
		if vs[i].deleted {
			return
		}
		e, err := b.readBundle(ctx, vs[i].number)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
		if v, ok := e.data[name].(string); ok && e.live {
			states[i] = state{v, true}
		}
	})
	if first != nil {
		return nil, first
	}
	var out []secrets.Version
	var last state
	for i, v := range vs {
		st := states[i]
		if st == last {
			continue
		}
		out = append(out, secrets.Version{Number: v.number, Time: v.created, Deleted: !st.present})
		last = st
	}
	if len(out) == 0 {
		return nil, secrets.ErrNotFound
	}
	if l := &out[len(out)-1]; !l.Deleted {
		l.Current = true
	}
	return out, nil
}

// GetVersion implements secrets.History for the bundle: the field name in
// version n of the repository's entry.
func (b *bundle) GetVersion(ctx context.Context, name string, n int) (string, error) {
	e, err := b.readBundle(ctx, n)
	if err != nil {
		return "", err
	}
	if e.version != n {
		return "", secrets.ErrNotFound
	}
	v, err := b.field(e, name)
	if errors.Is(err, secrets.ErrCorrupt) {
		return "", secrets.ErrNotFound
	}
	return v, err
}
