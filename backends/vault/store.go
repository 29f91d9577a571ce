package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// store is the store of one scope in the entry layout: every secret is a
// KV entry of its own, field "value", on a KV v1 or v2 mount. Open returns
// it behind secrets.Wrap, which validates names and values, checks the
// context and writes the not-found and already-exists messages (with
// Locate); the methods here only talk to Vault.
type store struct {
	*conn
	scope secrets.Scope
	base  string // <prefix>/<project>/<repository path>
}

var (
	_ secrets.Store       = (*store)(nil)
	_ secrets.Creator     = (*store)(nil)
	_ secrets.BulkGetter  = (*store)(nil)
	_ secrets.BatchWriter = (*store)(nil)
	_ secrets.History     = (*store)(nil)
	_ secrets.Locator     = (*store)(nil)
	_ io.Closer           = (*store)(nil)
)

// valueField is the field of an entry that holds the secret's value.
const valueField = "value"

// secretPath is name's path inside the mount, as the KV helpers and
// `vault kv get -mount=<mount>` take it.
func (s *store) secretPath(name string) string {
	return s.base + "/" + name
}

// Locate implements secrets.Locator: the server and name's path as
// `vault kv get` shows it, <mount>/<prefix>/<project>/<repository>/<NAME>.
func (s *store) Locate(name string) string {
	return "Vault " + s.addr() + ", " + s.mount + "/" + s.secretPath(name)
}

// listPath is the API path listed for the scope's names.
func (s *store) listPath() string {
	if s.version == 2 {
		return s.metaPath(s.base)
	}
	return s.dataPath(s.base)
}

// listKeys lists the entries of the repository's folder: the names of
// secret entries and whether an intent record is among them. Sub-folders
// (nested repositories) are left out; so are entries whose names are not
// valid secret names, with a warning.
func (s *store) listKeys(ctx context.Context) (names []string, intent bool, err error) {
	var sec *api.Secret
	p := s.listPath()
	err = s.do(ctx, func(cl *api.Client) (err error) {
		sec, err = cl.Logical().ListWithContext(ctx, p)
		return err
	})
	if err != nil {
		return nil, false, s.classify(ctx, err, "list secrets", p+"/", `capability "list"`)
	}
	if sec == nil || sec.Data == nil {
		return nil, false, nil
	}
	keys, _ := sec.Data["keys"].([]any)
	for _, k := range keys {
		name, _ := k.(string)
		switch {
		case name == "" || strings.HasSuffix(name, "/"):
		case name == intentName:
			intent = true
		case secrets.ValidateName(name) != nil:
			s.warnOnce(name, fmt.Sprintf("skipped the Vault entry %s/%s: %q is not a valid secret name (another tool wrote it)", s.mount, s.secretPath(name), name))
		default:
			names = append(names, name)
		}
	}
	return names, intent, nil
}

// List returns the names of the scope's secrets. It reads every entry, as
// GetAll does, so that soft-deleted entries and entries without a string
// "value" field (written by other tools) are left out as Get leaves them
// out.
func (s *store) List(ctx context.Context) ([]string, error) {
	all, err := s.GetAll(ctx)
	if err != nil {
		return nil, err
	}
	return secrets.SortedNames(all), nil
}

// GetAll implements secrets.BulkGetter: one LIST, then every entry read
// with at most MaxConcurrentReads requests in flight. Soft-deleted entries
// are left out; entries without a string "value" field are left out with a
// warning. While an import or copy is being written (an intent record
// exists), its secrets are read as they were before it; an interrupted
// one is rolled back first.
func (s *store) GetAll(ctx context.Context) (map[string]string, error) {
	names, hasIntent, err := s.listKeys(ctx)
	if err != nil {
		return nil, err
	}
	var pending *intent
	if hasIntent && s.version == 2 {
		if pending, err = s.pendingIntent(ctx); err != nil {
			return nil, err
		}
	}
	return secrets.ReadConcurrently(ctx, names, MaxConcurrentReads, func(ctx context.Context, name string) (string, bool, error) {
		version := 0
		if pending != nil {
			if prev, ok := pending.names[name]; ok {
				if !prev.live {
					return "", false, nil // new in the unfinished batch
				}
				version = prev.version
			}
		}
		e, err := s.readEntry(ctx, name, version)
		if err != nil || !e.live {
			return "", false, err
		}
		v, ok := s.usable(name, e)
		return v, ok, nil
	})
}

// usable returns the value of a live entry, or warns that the entry is
// skipped because another tool wrote it without a string "value" field.
func (s *store) usable(name string, e entry) (string, bool) {
	v, ok := e.data[valueField].(string)
	switch {
	case !ok:
		s.warnOnce(name, fmt.Sprintf("skipped %s: the Vault entry %s/%s has no string field \"value\" (another tool wrote it); `dstack-secrets get %s` says how to fix it", name, s.mount, s.secretPath(name), name))
	case secrets.ValidateValue(v) != nil:
		s.warnOnce(name, fmt.Sprintf("skipped %s: the field \"value\" of the Vault entry %s/%s cannot be a secret: %v", name, s.mount, s.secretPath(name), secrets.ValidateValue(v)))
		ok = false
	}
	return v, ok
}

// readEntry reads name's entry (version 0: the current one), retrying.
func (s *store) readEntry(ctx context.Context, name string, version int) (entry, error) {
	var e entry
	p := s.secretPath(name)
	err := s.do(ctx, func(cl *api.Client) (err error) {
		e, err = s.read(ctx, cl, p, version)
		return err
	})
	if err != nil {
		return entry{}, s.classify(ctx, err, "read secret "+name, s.dataPath(p), `capability "read"`)
	}
	return e, nil
}

// Get returns the value of name.
func (s *store) Get(ctx context.Context, name string) (string, error) {
	e, err := s.readEntry(ctx, name, 0)
	if err != nil {
		return "", err
	}
	if !e.live {
		// Missing, or its latest KV v2 version is deleted or destroyed.
		return "", secrets.ErrNotFound
	}
	v, ok := e.data[valueField].(string)
	if !ok {
		return "", fmt.Errorf("%w: the Vault entry %s/%s has no string field \"value\", so it was not written by dstack-secrets; rewrite it with `vault kv patch -mount=%s %s value=...` (which keeps its other fields) or remove it",
			secrets.ErrCorrupt, s.mount, s.secretPath(name), s.mount, s.secretPath(name))
	}
	return v, nil
}

// Set stores value under name. The entry's other fields (written by other
// tools) are kept: Set reads the entry and writes it back with the new
// value, on KV v2 with check-and-set, retrying when another writer got in
// between. On KV v2 the previous value stays in the version history.
func (s *store) Set(ctx context.Context, name, value string) error {
	if err := s.settle(ctx); err != nil {
		return err
	}
	p := s.secretPath(name)
	maybeApplied := false
	err := s.do(ctx, func(cl *api.Client) error {
		e, err := s.read(ctx, cl, p, 0)
		if err != nil {
			return err
		}
		if maybeApplied && e.live && e.data[valueField] == value {
			return nil // the earlier attempt was applied before its answer was lost
		}
		_, err = s.write(ctx, cl, p, withValue(e, value), e.version)
		maybeApplied = maybeApplied || retryable(err)
		return err
	})
	if err != nil {
		return s.classify(ctx, err, "write secret "+name, s.dataPath(p), `capabilities "create", "read" and "update"`)
	}
	return nil
}

// withValue returns e's fields (none when e is not live) with value set.
func withValue(e entry, value string) map[string]any {
	var data map[string]any
	if e.live {
		data = copyFields(e.data)
	} else {
		data = map[string]any{}
	}
	data[valueField] = value
	return data
}

// Create stores value under name only if name does not exist, atomically:
// it writes with check-and-set cas=0, which Vault refuses when the name has
// a version already. A name whose latest version is deleted, or whose
// entry another tool wrote without a "value" field, does not exist for
// the store: Create takes it over (keeping the other fields), still with
// check-and-set. A retried Create that finds its own value (the first
// attempt was applied but its answer lost) succeeds. KV v1 has no
// check-and-set: there Create answers an error wrapping
// errors.ErrUnsupported, and the store returned by Open falls back to a
// read followed by a write.
func (s *store) Create(ctx context.Context, name, value string) error {
	if s.version != 2 {
		return fmt.Errorf("vault: mount %q is KV version 1, which cannot create atomically: %w", s.mount, errors.ErrUnsupported)
	}
	if err := s.settle(ctx); err != nil {
		return err
	}
	p := s.secretPath(name)
	first, maybeApplied := true, false
	err := s.do(ctx, func(cl *api.Client) error {
		if first {
			// The common case costs one request.
			first = false
			_, err := s.write(ctx, cl, p, map[string]any{valueField: value}, 0)
			maybeApplied = retryable(err)
			if !errors.Is(err, errCASConflict) {
				return err
			}
		}
		e, err := s.read(ctx, cl, p, 0)
		if err != nil {
			return err
		}
		if v, ok := e.data[valueField].(string); e.live && ok {
			if maybeApplied && v == value {
				return nil
			}
			return secrets.ErrExists
		}
		_, err = s.write(ctx, cl, p, withValue(e, value), e.version)
		maybeApplied = maybeApplied || retryable(err)
		return err
	})
	if err != nil && !errors.Is(err, secrets.ErrExists) {
		return s.classify(ctx, err, "create secret "+name, s.dataPath(p), `capabilities "create" and "read"`)
	}
	return err
}

// Delete removes name. On KV v2 it deletes the metadata and with it every
// version, unless the entry has fields other tools wrote: then only the
// "value" field is removed (a new version without it).
func (s *store) Delete(ctx context.Context, name string) error {
	if err := s.settle(ctx); err != nil {
		return err
	}
	p := s.secretPath(name)
	maybeApplied := false
	err := s.do(ctx, func(cl *api.Client) error {
		e, err := s.read(ctx, cl, p, 0)
		if err != nil {
			return err
		}
		if _, ok := e.data[valueField].(string); !e.live || !ok {
			if maybeApplied {
				return nil
			}
			return secrets.ErrNotFound
		}
		if len(e.data) > 1 {
			data := copyFields(e.data)
			delete(data, valueField)
			_, err = s.write(ctx, cl, p, data, e.version)
		} else if s.version == 2 {
			_, err = cl.Logical().DeleteWithContext(ctx, s.metaPath(p))
		} else {
			_, err = cl.Logical().DeleteWithContext(ctx, s.dataPath(p))
		}
		maybeApplied = maybeApplied || retryable(err)
		return err
	})
	if err != nil && !errors.Is(err, secrets.ErrNotFound) {
		path := s.dataPath(p)
		if s.version == 2 {
			path = s.metaPath(p)
		}
		return s.classify(ctx, err, "delete secret "+name, path, `capabilities "read" and "delete"`)
	}
	return err
}
