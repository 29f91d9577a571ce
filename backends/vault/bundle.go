package vault

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// bundle is the store of one scope in the bundle layout: all secrets of the
// repository are the fields of one KV v2 entry, as `vault kv put
// secret/app A=1 B=2` writes them. Every read is one request; every write
// reads the entry and writes it back with check-and-set, retried when
// another writer got in between, so concurrent writers never lose each
// other's secrets and a batch is one atomic write. Fields that are not
// secrets (invalid names, values that are not strings) are kept on every
// write and skipped by reads, with a warning.
type bundle struct {
	*conn
	scope secrets.Scope
	path  string // <prefix>/<project>/<repository path>: the entry
}

var (
	_ secrets.Store       = (*bundle)(nil)
	_ secrets.Creator     = (*bundle)(nil)
	_ secrets.BulkGetter  = (*bundle)(nil)
	_ secrets.BatchWriter = (*bundle)(nil)
	_ secrets.History     = (*bundle)(nil)
	_ secrets.Locator     = (*bundle)(nil)
	_ io.Closer           = (*bundle)(nil)
)

// Locate implements secrets.Locator: the server, the entry as `vault kv
// get` names it, and the field.
func (b *bundle) Locate(name string) string {
	return "Vault " + b.addr() + ", " + b.mount + "/" + b.path + ", field " + name
}

// readBundle reads the entry (version 0: the current one).
func (b *bundle) readBundle(ctx context.Context, version int) (entry, error) {
	var e entry
	err := b.do(ctx, func(cl *api.Client) (err error) {
		e, err = b.read(ctx, cl, b.path, version)
		return err
	})
	if err != nil {
		return entry{}, b.classify(ctx, err, "read the secrets of "+b.scope.String(), b.dataPath(b.path), `capability "read"`)
	}
	return e, nil
}

// secretsOf returns the fields of e that are secrets, warning once about
// each field that is not.
func (b *bundle) secretsOf(e entry) map[string]string {
	out := make(map[string]string, len(e.data))
	for k, v := range e.data {
		s, ok := v.(string)
		switch {
		case secrets.ValidateName(k) != nil:
			b.warnOnce(k, fmt.Sprintf("skipped the field %q of the Vault entry %s/%s: it is not a valid secret name (another tool wrote it)", k, b.mount, b.path))
		case !ok:
			b.warnOnce(k, fmt.Sprintf("skipped %s: the field %s of the Vault entry %s/%s is not a string (another tool wrote it); `dstack-secrets get %s` says how to fix it", k, k, b.mount, b.path, k))
		case secrets.ValidateValue(s) != nil:
			b.warnOnce(k, fmt.Sprintf("skipped %s: the field %s of the Vault entry %s/%s cannot be a secret: %v", k, k, b.mount, b.path, secrets.ValidateValue(s)))
		default:
			out[k] = s
		}
	}
	return out
}

// List returns the names of the secrets: one read.
func (b *bundle) List(ctx context.Context) ([]string, error) {
	all, err := b.GetAll(ctx)
	if err != nil {
		return nil, err
	}
	return secrets.SortedNames(all), nil
}

// GetAll implements secrets.BulkGetter: one read.
func (b *bundle) GetAll(ctx context.Context) (map[string]string, error) {
	e, err := b.readBundle(ctx, 0)
	if err != nil {
		return nil, err
	}
	return b.secretsOf(e), nil
}

// Get returns the value of name: one read of the whole entry.
func (b *bundle) Get(ctx context.Context, name string) (string, error) {
	e, err := b.readBundle(ctx, 0)
	if err != nil {
		return "", err
	}
	return b.field(e, name)
}

// field returns the secret name of e.
func (b *bundle) field(e entry, name string) (string, error) {
	v, present := e.data[name]
	if !e.live || !present {
		return "", secrets.ErrNotFound
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: the field %s of the Vault entry %s/%s is not a string, so it was not written by dstack-secrets; rewrite it with `vault kv patch -mount=%s %s %s=...` or remove it",
			secrets.ErrCorrupt, name, b.mount, b.path, b.mount, b.path, name)
	}
	return s, nil
}

// errUnchanged is what an update function returns when the entry already
// is as wanted: nothing is written.
var errUnchanged = errors.New("unchanged")

// update reads the entry, lets change modify a copy of its fields, and
// writes it back with check-and-set, again from the read when another
// writer got in between, until the deadline. maybeApplied tells change
// that an earlier write of this update may have been applied although its
// answer was lost, so that it can recognise its own result.
func (b *bundle) update(ctx context.Context, op string, change func(fields map[string]any, maybeApplied bool) error) error {
	maybeApplied := false
	err := b.do(ctx, func(cl *api.Client) error {
		e, err := b.read(ctx, cl, b.path, 0)
		if err != nil {
			return err
		}
		fields := map[string]any{}
		if e.live {
			fields = copyFields(e.data)
		}
		if err := change(fields, maybeApplied); err != nil {
			return err
		}
		_, err = b.write(ctx, cl, b.path, fields, e.version)
		maybeApplied = maybeApplied || (err != nil && !refused(err))
		return err
	})
	switch {
	case errors.Is(err, errUnchanged):
		return nil
	case err == nil || errors.Is(err, secrets.ErrExists) || errors.Is(err, secrets.ErrNotFound):
		return err
	}
	return b.classify(ctx, err, op, b.dataPath(b.path), `capabilities "create", "read" and "update"`)
}

// Set stores value under name; the entry's other fields are kept.
func (b *bundle) Set(ctx context.Context, name, value string) error {
	return b.update(ctx, "write secret "+name, func(f map[string]any, maybeApplied bool) error {
		if maybeApplied && f[name] == value {
			return errUnchanged
		}
		f[name] = value
		return nil
	})
}

// Create stores value under name only if the entry has no such field:
// atomic, since the write is a check-and-set of the entry.
func (b *bundle) Create(ctx context.Context, name, value string) error {
	return b.update(ctx, "create secret "+name, func(f map[string]any, maybeApplied bool) error {
		if cur, ok := f[name]; ok {
			if maybeApplied && cur == value {
				return errUnchanged
			}
			return secrets.ErrExists
		}
		f[name] = value
		return nil
	})
}

// Delete removes the field name (a new version of the entry, so the old
// value stays in the version history; the entry remains, possibly
// without fields).
func (b *bundle) Delete(ctx context.Context, name string) error {
	return b.update(ctx, "delete secret "+name, func(f map[string]any, maybeApplied bool) error {
		if _, ok := f[name]; !ok {
			if maybeApplied {
				return errUnchanged
			}
			return secrets.ErrNotFound
		}
		delete(f, name)
		return nil
	})
}

// SetMany implements secrets.BatchWriter: every secret in one
// check-and-set write of the entry, so atomic by construction (also when
// the process is killed).
func (b *bundle) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	err := b.update(ctx, "write the secrets of "+b.scope.String(), func(f map[string]any, maybeApplied bool) error {
		var existing []string
		same := true
		for _, n := range secrets.SortedNames(values) {
			cur, ok := f[n]
			if ok && cur != values[n] {
				same = false
			}
			if !ok {
				same = false
			}
			if ok {
				existing = append(existing, n)
			}
		}
		if maybeApplied && same {
			return errUnchanged
		}
		if len(existing) > 0 && !overwrite {
			return fmt.Errorf("%w: %s in %v (Vault %s, %s/%s); nothing was written", secrets.ErrExists, secrets.NameList(existing), b.scope, b.addr(), b.mount, b.path)
		}
		for n, v := range values {
			f[n] = v
		}
		return nil
	})
	if err != nil && !errors.Is(err, secrets.ErrExists) {
		return fmt.Errorf("%w (nothing was written)", err)
	}
	return err
}
