package vault

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Name is the backend name used in the project configuration.
const Name = "vault"

// Defaults of Options.
const (
	DefaultMount        = "secret"
	DefaultPrefix       = "dstack"
	DefaultAppRoleMount = "approle"
	DefaultAddress      = "https://127.0.0.1:8200"
	// DefaultTimeout bounds how long one operation keeps retrying a
	// failing or failing-over Vault when neither its context nor
	// Options.Timeout nor secrets.Env.Timeout sets a shorter bound.
	DefaultTimeout = 30 * time.Second
)

// Environment variables read besides Vault's own VAULT_* variables.
const (
	// RoleIDEnvVar supplies the AppRole role id.
	RoleIDEnvVar = "DSTACK_SECRETS_VAULT_ROLE_ID"
	// SecretIDEnvVar supplies the AppRole secret id.
	SecretIDEnvVar = "DSTACK_SECRETS_VAULT_SECRET_ID"
)

// MaxConcurrentReads is how many reads a store keeps in flight at once
// when it reads every secret of a repository in the entry layout; the HTTP
// transport keeps as many idle connections.
const MaxConcurrentReads = secrets.MaxConcurrentReads

// localRepoSegment is the first path segment of local-only repositories.
const localRepoSegment = "_local"

// Auth methods of Options.Auth.
const (
	AuthToken   = "token"
	AuthAppRole = "approle"
)

// Layouts of Options.Layout.
const (
	// LayoutEntry keeps every secret in a KV entry of its own,
	// <mount>/<prefix>/<project>/<repository>/<NAME>, field "value".
	LayoutEntry = "entry"
	// LayoutBundle keeps all secrets of a repository as the fields of one
	// KV v2 entry, <mount>/<prefix>/<project>/<repository>.
	LayoutBundle = "bundle"
)

// Options configure the Vault backend. In the project configuration they
// are written in snake case under options: (see the package documentation).
// Empty fields take their value from the environment as the vault CLI does,
// then from the defaults.
type Options struct {
	// Address is the Vault server URL, e.g. https://vault.example.com:8200.
	Address string `yaml:"address"`
	// Addresses lists the nodes of a Vault cluster without a load
	// balancer in front; requests go to the first that answers, and a
	// failing node makes the store try the next. Give Address or
	// Addresses, not both.
	Addresses []string `yaml:"addresses"`
	// Layout is how secrets are kept: LayoutEntry ("entry", the default)
	// or LayoutBundle ("bundle", KV v2 only). See the package
	// documentation for the trade-off.
	Layout string `yaml:"layout"`
	// Timeout bounds how long one operation keeps retrying a failing or
	// failing-over Vault (e.g. 30s) when its context has no earlier
	// deadline; secrets.Env.Timeout (the CLI's --timeout) overrides it.
	// Zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// Mount is the path of the KV secrets engine; default "secret".
	Mount string `yaml:"mount"`
	// Prefix is the path inside the mount under which projects live;
	// default "dstack". It may have several segments ("teams/dstack").
	Prefix string `yaml:"prefix"`
	// Namespace is the Vault Enterprise namespace.
	Namespace string `yaml:"namespace"`
	// KVVersion forces the KV version (1 or 2); 0 detects it from the
	// mount, which needs one extra request when the store is opened.
	KVVersion int `yaml:"kv_version"`
	// Auth is the auth method: "token" (default) or "approle".
	Auth string `yaml:"auth"`
	// AppRoleMount is the path of the AppRole auth method; default
	// "approle".
	AppRoleMount string `yaml:"approle_mount"`
	// RoleID is the AppRole role id (an identifier, not a credential).
	RoleID string `yaml:"role_id"`
	// RoleIDFile is a file holding the AppRole role id.
	RoleIDFile string `yaml:"role_id_file"`
	// SecretIDFile is a file holding the AppRole secret id.
	SecretIDFile string `yaml:"secret_id_file"`
	// SecretIDWrapped says the secret id is a response-wrapping token to
	// unwrap before logging in.
	SecretIDWrapped bool `yaml:"secret_id_wrapped"`
	// CACert is a PEM file of CA certificates to trust.
	CACert string `yaml:"ca_cert"`
	// CAPath is a directory of PEM CA certificates to trust.
	CAPath string `yaml:"ca_path"`
	// ClientCert and ClientKey are PEM files for TLS client authentication.
	ClientCert string `yaml:"client_cert"`
	// ClientKey is the private key file of ClientCert.
	ClientKey string `yaml:"client_key"`
	// TLSServerName is the server name to verify the certificate against.
	TLSServerName string `yaml:"tls_server_name"`
	// TLSSkipVerify disables certificate verification. Never use it
	// outside tests.
	TLSSkipVerify bool `yaml:"tls_skip_verify"`

	// Token is the Vault token for auth "token". It cannot be set in the
	// configuration file; when empty, VAULT_TOKEN and then ~/.vault-token
	// are used.
	Token string `yaml:"-"`
	// SecretID is the AppRole secret id. It cannot be set in the
	// configuration file; when empty, DSTACK_SECRETS_VAULT_SECRET_ID and
	// then SecretIDFile are used.
	SecretID string `yaml:"-"`
	// Env is the environment the VAULT_* variables and ~/.vault-token are
	// read from; the zero value means the real process environment.
	Env secrets.Env `yaml:"-"`
}

// SetEnv implements secrets.EnvSetter: the registry hands the options the
// process's environment through it.
func (o *Options) SetEnv(env secrets.Env) { o.Env = env }

// summary is the one-line description of the backend in the registry.
const summary = "HashiCorp Vault KV, one entry per secret (layout entry) or per repository (layout bundle) under <mount>/<prefix>/<project>/<repository>"

// Backend returns the registry entry of the Vault backend.
func Backend() secrets.Backend {
	return secrets.NewBackend(Name, summary, Open)
}

// Open connects to Vault, authenticates, finds the KV version of the mount
// (unless opts.KVVersion forces it) and returns the store of scope in the
// layout opts.Layout names, behind the shared checks of secrets.Wrap.
// While the store is open, a token that expires is renewed (and an AppRole
// login repeated) in the background. Close stops that and revokes the
// token of an AppRole login.
func Open(ctx context.Context, scope secrets.Scope, opts Options) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, scope); err != nil {
		return nil, err
	}
	c, base, err := newConn(opts, scope)
	if err != nil {
		return nil, err
	}
	if err := c.login(ctx); err != nil {
		return nil, err
	}
	if c.version == 0 {
		if c.version, err = c.detectVersion(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	var s secrets.Store = &store{conn: c, scope: scope, base: base}
	if opts.Layout == LayoutBundle {
		if c.version != 2 {
			c.Close()
			return nil, fmt.Errorf("%w: layout bundle needs a KV version 2 mount, whose check-and-set writes keep concurrent writers from losing each other's secrets; mount %q at Vault %s is KV version 1: use layout: entry there, or a KV v2 mount (`vault secrets enable -path=<path> kv-v2`)",
				secrets.ErrInvalidConfig, c.mount, c.addr())
		}
		s = &bundle{conn: c, scope: scope, path: base}
	}
	return secrets.Wrap(s, secrets.Info{Backend: Name, Scope: scope}), nil
}

// newConn checks the options and builds the connection (no request yet),
// with the path of the scope's repository inside the mount.
func newConn(opts Options, scope secrets.Scope) (*conn, string, error) {
	env := opts.Env
	mount, err := cleanPath("mount", opts.Mount, DefaultMount)
	if err != nil {
		return nil, "", err
	}
	prefix, err := cleanPath("prefix", opts.Prefix, DefaultPrefix)
	if err != nil {
		return nil, "", err
	}
	if opts.KVVersion != 0 && opts.KVVersion != 1 && opts.KVVersion != 2 {
		return nil, "", fmt.Errorf("%w: kv_version %d: use 1, 2, or leave it out to detect the version of the mount", secrets.ErrInvalidConfig, opts.KVVersion)
	}
	switch opts.Layout {
	case "", LayoutEntry, LayoutBundle:
	default:
		return nil, "", fmt.Errorf("%w: layout %q: use %q (a KV entry per secret) or %q (one KV v2 entry per repository)", secrets.ErrInvalidConfig, opts.Layout, LayoutEntry, LayoutBundle)
	}
	if opts.Layout == LayoutBundle && opts.KVVersion == 1 {
		return nil, "", fmt.Errorf("%w: layout bundle needs KV version 2 (check-and-set), but kv_version is 1; use layout: entry on a KV v1 mount", secrets.ErrInvalidConfig)
	}
	timeout := DefaultTimeout
	switch {
	case env.Timeout > 0:
		timeout = env.Timeout
	case opts.Timeout != 0 && opts.Timeout < time.Millisecond:
		return nil, "", fmt.Errorf("%w: timeout %v is too short; give a duration such as 30s", secrets.ErrInvalidConfig, opts.Timeout)
	case opts.Timeout > 0:
		timeout = opts.Timeout
	}
	repo, err := repoPath(scope.Repository)
	if err != nil {
		return nil, "", err
	}
	addrs, err := addresses(opts, env.Value)
	if err != nil {
		return nil, "", err
	}
	c := &conn{addrs: addrs, mount: mount, version: opts.KVVersion, timeout: timeout, env: env}
	if err := c.newClients(opts, env.Value); err != nil {
		return nil, "", err
	}
	if c.auth, err = authMethod(opts, env); err != nil {
		return nil, "", err
	}
	return c, prefix + "/" + scope.Project + "/" + repo, nil
}

// cleanPath checks a mount or prefix option: slash-separated segments
// without empty, "." or ".." ones; surrounding slashes are dropped.
func cleanPath(what, p, def string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return def, nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "*+?#%\x00\n\r") {
			return "", fmt.Errorf("%w: %s %q is not a clean Vault path; use segments of letters, digits, '-', '_' and '.' separated by '/'", secrets.ErrInvalidConfig, what, p)
		}
	}
	return p, nil
}

// repoPath maps a repository identity to its path below the project.
func repoPath(repo string) (string, error) {
	local := strings.HasPrefix(repo, "/")
	if !local && len(repo) >= 3 && repo[1] == ':' && repo[2] == '/' {
		local = true // a Windows path such as C:/Users/me/app
	}
	if local {
		return localRepoSegment + "/" + strings.TrimPrefix(repo, "/"), nil
	}
	if first, _, _ := strings.Cut(repo, "/"); first == localRepoSegment {
		return "", fmt.Errorf("%w: repository %q: the host name %s is reserved for local repositories in the Vault layout", secrets.ErrInvalidScope, repo, localRepoSegment)
	}
	return repo, nil
}
