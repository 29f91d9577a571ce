package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// store is the store of one scope on a KV v1 or v2 mount. kv2Store adds
// Create, which only KV v2 can make atomic.
type store struct {
	client      *api.Client
	auth        authenticator
	scope       secrets.Scope
	addr        string
	mount       string
	base        string // <prefix>/<project>/<repository path>
	version     int    // 1 or 2 once opened
	maxWait     time.Duration
	tokenSource string
	ownToken    bool
	closeOnce   sync.Once
}

// kv2Store is a store on a KV version 2 mount.
type kv2Store struct{ *store }

var (
	_ secrets.Store      = (*store)(nil)
	_ secrets.BulkGetter = (*store)(nil)
	_ secrets.Creator    = (*kv2Store)(nil)
)

func (s *store) login(ctx context.Context) error {
	return s.auth.login(ctx, s)
}

// dataPath is the API path that holds name's value.
func (s *store) dataPath(name string) string {
	if s.version == 2 {
		return s.mount + "/data/" + s.base + "/" + name
	}
	return s.mount + "/" + s.base + "/" + name
}

// metaPath is the KV v2 metadata path of name.
func (s *store) metaPath(name string) string {
	return s.mount + "/metadata/" + s.base + "/" + name
}

// listPath is the API path listed for the scope's names.
func (s *store) listPath() string {
	if s.version == 2 {
		return s.mount + "/metadata/" + s.base
	}
	return s.mount + "/" + s.base
}

// display is name's path as `vault kv get -mount=<mount>` takes it.
func (s *store) display(name string) string {
	return s.mount + "/" + s.base + "/" + name
}

func (s *store) notFound(name string) error {
	return fmt.Errorf("%w: %q in %v (Vault %s, %s)", secrets.ErrNotFound, name, s.scope, s.addr, s.display(name))
}

func validate(ctx context.Context, name string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	return ctx.Err()
}

func validateValue(ctx context.Context, name, value string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	if err := secrets.ValidateValue(value); err != nil {
		return err
	}
	return ctx.Err()
}

// List returns the names of the scope's secrets, sorted.
func (s *store) List(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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
		name, ok := k.(string)
		// Folders (ending in '/') are nested repositories; entries that are
		// not valid names were not written by this backend.
		if !ok || strings.HasSuffix(name, "/") || secrets.ValidateName(name) != nil {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Get returns the value of name.
func (s *store) Get(ctx context.Context, name string) (string, error) {
	if err := validate(ctx, name); err != nil {
		return "", err
	}
	v, ok, err := s.read(ctx, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", s.notFound(name)
	}
	return v, nil
}

// read reads name's current value; ok is false when it does not exist (or
// its latest KV v2 version is deleted).
func (s *store) read(ctx context.Context, name string) (value string, ok bool, err error) {
	p := s.dataPath(name)
	sec, err := s.client.Logical().ReadWithContext(ctx, p)
	if err != nil {
		return "", false, s.classify(ctx, err, "read secret "+name, p, `capability "read"`)
	}
	if sec == nil || sec.Data == nil {
		return "", false, nil
	}
	data := sec.Data
	if s.version == 2 {
		d, _ := sec.Data["data"].(map[string]any)
		if d == nil {
			return "", false, nil // soft-deleted or destroyed version
		}
		data = d
	}
	v, isString := data["value"].(string)
	if !isString {
		return "", false, fmt.Errorf("%w: the Vault entry %s has no string field \"value\", so it was not written by dstack-secrets; rewrite it with `vault kv put -mount=%s %s value=...` or remove it",
			secrets.ErrCorrupt, s.display(name), s.mount, s.base+"/"+name)
	}
	return v, true, nil
}

// GetAll reads every secret of the scope: one LIST, then at most
// MaxConcurrentReads reads in flight. A name deleted between the LIST and
// its read is left out.
func (s *store) GetAll(ctx context.Context) (map[string]string, error) {
	names, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	return secrets.ReadConcurrently(ctx, names, MaxConcurrentReads, s.read)
}

// Set stores value under name. On KV v2 it writes a new version; on a mount
// that requires check-and-set it writes with cas set to the version it read.
func (s *store) Set(ctx context.Context, name, value string) error {
	if err := validateValue(ctx, name, value); err != nil {
		return err
	}
	err := s.write(ctx, name, value, -1)
	if s.version == 2 && isVaultError(err, 400, "check-and-set parameter required") {
		var version int
		version, _, _, err = s.metadata(ctx, name)
		if err != nil {
			return err
		}
		err = s.write(ctx, name, value, version)
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
	var body map[string]any
	if s.version == 2 {
		body = map[string]any{"data": map[string]any{"value": value}}
		if cas >= 0 {
			body["options"] = map[string]any{"cas": cas}
		}
	} else {
		body = map[string]any{"value": value}
	}
	_, err := s.client.Logical().WriteWithContext(ctx, s.dataPath(name), body)
	return err
}

// Create stores value under name only if name does not exist, atomically:
// it writes with check-and-set cas=0, which Vault refuses when the name has
// a version already.
func (s *kv2Store) Create(ctx context.Context, name, value string) error {
	if err := validateValue(ctx, name, value); err != nil {
		return err
	}
	err := s.write(ctx, name, value, 0)
	if isCASMismatch(err) {
		// The name has metadata. If its latest version is deleted (a `vault
		// kv delete` by hand), the secret does not exist for us: take the
		// name over, still with check-and-set.
		version, live, found, merr := s.metadata(ctx, name)
		if merr != nil {
			return merr
		}
		if found && !live {
			err = s.write(ctx, name, value, version)
		}
		if isCASMismatch(err) {
			return fmt.Errorf("%w: %q in %v (Vault %s, %s); use Set to replace its value", secrets.ErrExists, name, s.scope, s.addr, s.display(name))
		}
	}
	if err != nil {
		return s.classify(ctx, err, "create secret "+name, s.dataPath(name), `capability "create"`)
	}
	return nil
}

// metadata reads name's KV v2 metadata: its current version number, whether
// that version is live (neither deleted nor destroyed) and whether the name
// has metadata at all.
func (s *store) metadata(ctx context.Context, name string) (version int, live, found bool, err error) {
	p := s.metaPath(name)
	sec, err := s.client.Logical().ReadWithContext(ctx, p)
	if err != nil {
		return 0, false, false, s.classify(ctx, err, "read metadata of secret "+name, p, `capability "read"`)
	}
	if sec == nil || sec.Data == nil {
		return 0, false, false, nil
	}
	cur, _ := sec.Data["current_version"].(json.Number)
	n, _ := cur.Int64()
	version = int(n)
	live = true
	if versions, ok := sec.Data["versions"].(map[string]any); ok {
		if v, ok := versions[string(cur)].(map[string]any); ok {
			deleted, _ := v["deletion_time"].(string)
			destroyed, _ := v["destroyed"].(bool)
			live = deleted == "" && !destroyed
		}
	}
	return version, live, true, nil
}

// Delete removes name. On KV v2 it deletes the metadata and with it every
// version.
func (s *store) Delete(ctx context.Context, name string) error {
	if err := validate(ctx, name); err != nil {
		return err
	}
	var p string
	if s.version == 2 {
		_, _, found, err := s.metadata(ctx, name)
		if err != nil {
			return err
		}
		if !found {
			return s.notFound(name)
		}
		p = s.metaPath(name)
	} else {
		_, ok, err := s.read(ctx, name)
		if err != nil {
			return err
		}
		if !ok {
			return s.notFound(name)
		}
		p = s.dataPath(name)
	}
	if _, err := s.client.Logical().DeleteWithContext(ctx, p); err != nil {
		return s.classify(ctx, err, "delete secret "+name, p, `capability "delete"`)
	}
	return nil
}

// Close revokes the token obtained by an AppRole login. It never revokes a
// token the user supplied.
func (s *store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if !s.ownToken {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if rerr := s.client.Auth().Token().RevokeSelfWithContext(ctx, ""); rerr != nil {
			err = s.classify(ctx, rerr, "revoke the AppRole login token", "auth/token/revoke-self", `capability "update"`)
		}
		s.client.ClearToken()
	})
	return err
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
