package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// store is the store of one scope on a KV v1 or v2 mount. Open returns it
// behind secrets.Wrap, which validates names and values, checks the
// context and writes the not-found and already-exists messages (with
// Locate); the methods here only talk to Vault.
type store struct {
	client      *api.Client
	kv1         *api.KVv1
	kv2         *api.KVv2
	auth        authenticator
	scope       secrets.Scope
	addr        string
	mount       string
	base        string // <prefix>/<project>/<repository path>
	version     int    // 1 or 2 once opened
	maxWait     time.Duration
	tokenSource string
	ownToken    bool
}

var (
	_ secrets.Store   = (*store)(nil)
	_ secrets.Creator = (*store)(nil)
	_ secrets.Locator = (*store)(nil)
	_ io.Closer       = (*store)(nil)
)

func (s *store) login(ctx context.Context) error {
	return s.auth.login(ctx, s)
}

// secretPath is name's path inside the mount, as the KV helpers and
// `vault kv get -mount=<mount>` take it.
func (s *store) secretPath(name string) string {
	return s.base + "/" + name
}

// dataPath is the API path that holds name's value, for messages.
func (s *store) dataPath(name string) string {
	if s.version == 2 {
		return s.mount + "/data/" + s.secretPath(name)
	}
	return s.mount + "/" + s.secretPath(name)
}

// metaPath is the KV v2 metadata API path of name, for messages.
func (s *store) metaPath(name string) string {
	return s.mount + "/metadata/" + s.secretPath(name)
}

// listPath is the API path listed for the scope's names.
func (s *store) listPath() string {
	if s.version == 2 {
		return s.mount + "/metadata/" + s.base
	}
	return s.mount + "/" + s.base
}

// Locate implements secrets.Locator: the server and name's path as
// `vault kv get` shows it, <mount>/<prefix>/<project>/<repository>/<NAME>.
func (s *store) Locate(name string) string {
	return "Vault " + s.addr + ", " + s.mount + "/" + s.secretPath(name)
}

// List returns the names of the scope's secrets. There is no typed KV
// helper for LIST, so it goes through the logical API.
func (s *store) List(ctx context.Context) ([]string, error) {
	p := s.listPath()
	sec, err := s.client.Logical().ListWithContext(ctx, p)
	if err != nil {
		return nil, s.classify(ctx, err, "list secrets", p+"/", `capability "list"`)
	}
	if sec == nil || sec.Data == nil {
		return nil, nil
	}
	keys, _ := sec.Data["keys"].([]any)
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		// Folders (ending in '/') are nested repositories, not secrets.
		if name, ok := k.(string); ok && !strings.HasSuffix(name, "/") {
			names = append(names, name)
		}
	}
	return names, nil
}

// Get returns the value of name.
func (s *store) Get(ctx context.Context, name string) (string, error) {
	v, ok, err := s.read(ctx, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", secrets.ErrNotFound
	}
	return v, nil
}

// read reads name's current value; ok is false when it does not exist (or
// its latest KV v2 version is deleted or destroyed).
func (s *store) read(ctx context.Context, name string) (value string, ok bool, err error) {
	var sec *api.KVSecret
	if s.version == 2 {
		sec, err = s.kv2.Get(ctx, s.secretPath(name))
	} else {
		sec, err = s.kv1.Get(ctx, s.secretPath(name))
	}
	switch {
	case errors.Is(err, api.ErrSecretNotFound):
		return "", false, nil
	case err != nil:
		return "", false, s.classify(ctx, err, "read secret "+name, s.dataPath(name), `capability "read"`)
	case sec.Data == nil:
		// KV v2: the latest version is soft-deleted or destroyed (its
		// metadata remains). KV v1: a 404 that carried only warnings.
		return "", false, nil
	}
	v, isString := sec.Data["value"].(string)
	if !isString {
		return "", false, fmt.Errorf("%w: the Vault entry %s/%s has no string field \"value\", so it was not written by dstack-secrets; rewrite it with `vault kv put -mount=%s %s value=...` or remove it",
			secrets.ErrCorrupt, s.mount, s.secretPath(name), s.mount, s.secretPath(name))
	}
	return v, true, nil
}

// Set stores value under name. On KV v2 it writes a new version; on a mount
// that requires check-and-set it writes with cas set to the version it read.
func (s *store) Set(ctx context.Context, name, value string) error {
	err := s.write(ctx, name, value, -1)
	if s.version == 2 && isVaultError(err, 400, "check-and-set parameter required") {
		var m meta
		if m, err = s.metadata(ctx, name); err != nil {
			return err
		}
		err = s.write(ctx, name, value, m.version)
		if isCASMismatch(err) {
			return fmt.Errorf("%w: %q in %v was changed by another writer while it was being set; nothing was overwritten, try again", secrets.ErrConflict, name, s.scope)
		}
	}
	if err != nil {
		return s.classify(ctx, err, "write secret "+name, s.dataPath(name), `capabilities "create" and "update"`)
	}
	return nil
}

// write writes name's value, with check-and-set when cas >= 0 (KV v2). The
// error is Vault's, unclassified.
func (s *store) write(ctx context.Context, name, value string, cas int) error {
	data := map[string]any{"value": value}
	if s.version != 2 {
		return s.kv1.Put(ctx, s.secretPath(name), data)
	}
	var opts []api.KVOption
	if cas >= 0 {
		opts = append(opts, api.WithCheckAndSet(cas))
	}
	_, err := s.kv2.Put(ctx, s.secretPath(name), data, opts...)
	if errors.Is(err, api.ErrSecretNotFound) {
		// The helper's way of saying that Vault accepted the write but
		// answered without the new version's metadata.
		return nil
	}
	return err
}

// Create stores value under name only if name does not exist, atomically:
// it writes with check-and-set cas=0, which Vault refuses when the name has
// a version already. KV v1 has no check-and-set: there Create answers an
// error wrapping errors.ErrUnsupported, and the store returned by Open
// falls back to a read followed by a write.
func (s *store) Create(ctx context.Context, name, value string) error {
	if s.version != 2 {
		return fmt.Errorf("vault: mount %q is KV version 1, which cannot create atomically: %w", s.mount, errors.ErrUnsupported)
	}
	err := s.write(ctx, name, value, 0)
	if isCASMismatch(err) {
		// The name has metadata. If its latest version is deleted (a `vault
		// kv delete` by hand), the secret does not exist for us: take the
		// name over, still with check-and-set.
		m, merr := s.metadata(ctx, name)
		if merr != nil {
			return merr
		}
		if m.found && !m.live {
			err = s.write(ctx, name, value, m.version)
		}
		if isCASMismatch(err) {
			return secrets.ErrExists
		}
	}
	if err != nil {
		return s.classify(ctx, err, "create secret "+name, s.dataPath(name), `capability "create"`)
	}
	return nil
}

// meta is what the store needs of a name's KV v2 metadata.
type meta struct {
	version int  // the current version number
	live    bool // that version is neither deleted nor destroyed
	found   bool // the name has metadata at all
}

// metadata reads name's KV v2 metadata.
func (s *store) metadata(ctx context.Context, name string) (meta, error) {
	md, err := s.kv2.GetMetadata(ctx, s.secretPath(name))
	switch {
	case errors.Is(err, api.ErrSecretNotFound):
		return meta{}, nil
	case err != nil:
		return meta{}, s.classify(ctx, err, "read metadata of secret "+name, s.metaPath(name), `capability "read"`)
	}
	m := meta{version: md.CurrentVersion, live: true, found: true}
	if v, ok := md.Versions[strconv.Itoa(md.CurrentVersion)]; ok {
		// A deletion time in the future is a scheduled deletion
		// (delete_version_after): the version is live until then.
		deleted := !v.DeletionTime.IsZero() && !v.DeletionTime.After(time.Now())
		m.live = !deleted && !v.Destroyed
	}
	return m, nil
}

// Delete removes name. On KV v2 it deletes the metadata and with it every
// version.
func (s *store) Delete(ctx context.Context, name string) error {
	if s.version == 2 {
		m, err := s.metadata(ctx, name)
		if err != nil {
			return err
		}
		if !m.found {
			return secrets.ErrNotFound
		}
		if err := s.kv2.DeleteMetadata(ctx, s.secretPath(name)); err != nil {
			return s.classify(ctx, err, "delete secret "+name, s.metaPath(name), `capability "delete"`)
		}
		return nil
	}
	_, ok, err := s.read(ctx, name)
	if err != nil {
		return err
	}
	if !ok {
		return secrets.ErrNotFound
	}
	if err := s.kv1.Delete(ctx, s.secretPath(name)); err != nil {
		return s.classify(ctx, err, "delete secret "+name, s.dataPath(name), `capability "delete"`)
	}
	return nil
}

// Close revokes the token obtained by an AppRole login. It never revokes a
// token the user supplied. (The store returned by Open calls it once.)
func (s *store) Close() error {
	if !s.ownToken {
		return nil
	}
	s.ownToken = false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.client.Auth().Token().RevokeSelfWithContext(ctx, "")
	s.client.ClearToken()
	if err != nil {
		return s.classify(ctx, err, "revoke the AppRole login token", "auth/token/revoke-self", `capability "update"`)
	}
	return nil
}

// detectVersion asks Vault which KV version the mount is, as `vault kv`
// does.
func (s *store) detectVersion(ctx context.Context) (int, error) {
	p := "sys/internal/ui/mounts/" + s.mount
	sec, err := s.client.Logical().ReadWithContext(ctx, p)
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) && re.StatusCode == 403 && ctx.Err() == nil {
			// Either the mount is missing or not visible to the token, or
			// the token itself is invalid: ask Vault about the token.
			if _, lerr := s.client.Auth().Token().LookupSelfWithContext(ctx); lerr != nil {
				if cerr := s.classify(ctx, lerr, "look up the token", "auth/token/lookup-self", `capability "read"`); errors.Is(cerr, secrets.ErrAuth) || errors.Is(cerr, secrets.ErrUnavailable) || ctx.Err() != nil {
					return 0, cerr
				}
			}
			return 0, fmt.Errorf("%w: no KV mount %q is visible at Vault %s: it does not exist, or the token (from %s) may use no path under it. Enable one with `vault secrets enable -path=%s kv-v2`, have an administrator grant access, or fix the mount option",
				secrets.ErrInvalidConfig, s.mount, s.addr, s.tokenSource, s.mount)
		}
		return 0, s.classify(ctx, err, "find the KV version of mount "+s.mount, p, `capability "read"`)
	}
	if sec == nil || sec.Data == nil {
		return 1, nil // a Vault too old to have the endpoint has only KV v1
	}
	typ, _ := sec.Data["type"].(string)
	if mp, _ := sec.Data["path"].(string); mp != "" && strings.Trim(mp, "/") != s.mount {
		return 0, fmt.Errorf("%w: mount %q is a path inside the %s mount %q at Vault %s; set mount: %s and put the rest of the path in prefix",
			secrets.ErrInvalidConfig, s.mount, typ, strings.Trim(mp, "/"), s.addr, strings.Trim(mp, "/"))
	}
	if typ != "kv" && typ != "generic" {
		return 0, fmt.Errorf("%w: mount %q at Vault %s is a %q secrets engine, not KV; point the mount option at a KV mount or enable one with `vault secrets enable -path=<path> kv-v2`",
			secrets.ErrInvalidConfig, s.mount, s.addr, typ)
	}
	if opts, ok := sec.Data["options"].(map[string]any); ok {
		if v, _ := opts["version"].(string); v == "2" {
			return 2, nil
		}
	}
	return 1, nil
}
