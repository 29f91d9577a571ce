package vault

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"

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
)

// Environment variables read besides Vault's own VAULT_* variables.
const (
	// RoleIDEnvVar supplies the AppRole role id.
	RoleIDEnvVar = "DSTACK_SECRETS_VAULT_ROLE_ID"
	// SecretIDEnvVar supplies the AppRole secret id.
	SecretIDEnvVar = "DSTACK_SECRETS_VAULT_SECRET_ID"
)

// MaxConcurrentReads is how many reads GetAll keeps in flight at once (the
// shared fallback of secrets.Wrap); the HTTP transport keeps as many
// idle connections.
const MaxConcurrentReads = secrets.MaxConcurrentReads

// localRepoSegment is the first path segment of local-only repositories.
const localRepoSegment = "_local"

// Auth methods of Options.Auth.
const (
	AuthToken   = "token"
	AuthAppRole = "approle"
)

// Options configure the Vault backend. In the project configuration they
// are written in snake case under options: (see the package documentation).
// Empty fields take their value from the environment as the vault CLI does,
// then from the defaults.
type Options struct {
	// Address is the Vault server URL, e.g. https://vault.example.com:8200.
	Address string `yaml:"address"`
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
const summary = "HashiCorp Vault KV (v2 or v1), one entry per secret under <mount>/<prefix>/<project>/<repository>/"

// Backend returns the registry entry of the Vault backend.
func Backend() secrets.Backend {
	return secrets.NewBackend(Name, summary, Open)
}

// Open connects to Vault, authenticates, finds the KV version of the mount
// (unless opts.KVVersion forces it) and returns the store of scope, behind
// the shared checks of secrets.Wrap. On a KV version 2 mount Create is
// atomic (check-and-set); on KV version 1 it falls back to a read followed
// by a write (see the package documentation). Close revokes the token of
// an AppRole login.
func Open(ctx context.Context, scope secrets.Scope, opts Options) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, scope); err != nil {
		return nil, err
	}
	s, err := newStore(opts, scope)
	if err != nil {
		return nil, err
	}
	if err := s.login(ctx); err != nil {
		return nil, err
	}
	if s.version == 0 {
		if s.version, err = s.detectVersion(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return secrets.Wrap(s, secrets.Info{Backend: Name, Scope: scope}), nil
}

func newStore(opts Options, scope secrets.Scope) (*store, error) {
	env := opts.Env
	getenv := env.Value
	mount, err := cleanPath("mount", opts.Mount, DefaultMount)
	if err != nil {
		return nil, err
	}
	prefix, err := cleanPath("prefix", opts.Prefix, DefaultPrefix)
	if err != nil {
		return nil, err
	}
	if opts.KVVersion != 0 && opts.KVVersion != 1 && opts.KVVersion != 2 {
		return nil, fmt.Errorf("%w: kv_version %d: use 1, 2, or leave it out to detect the version of the mount", secrets.ErrInvalidConfig, opts.KVVersion)
	}
	repo, err := repoPath(scope.Repository)
	if err != nil {
		return nil, err
	}

	cfg, addr, err := clientConfig(opts, getenv)
	if err != nil {
		return nil, err
	}
	s := &store{
		scope:   scope,
		addr:    redactURL(addr), // for messages
		mount:   mount,
		base:    prefix + "/" + scope.Project + "/" + repo,
		version: opts.KVVersion,
		maxWait: cfg.MaxRetryWait,
	}
	cfg.CheckRetry = s.checkRetry
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: Vault client for %s: %s", secrets.ErrInvalidConfig, redactURL(addr), redactURL(err.Error()))
	}
	// NewClient reads VAULT_TOKEN and VAULT_NAMESPACE from the process
	// environment; the store uses only what it resolves itself.
	client.ClearToken()
	client.ClearNamespace()
	ns := opts.Namespace
	if ns == "" {
		ns = getenv(api.EnvVaultNamespace)
	}
	if ns != "" {
		client.SetNamespace(ns)
	}
	s.client = client
	s.kv1 = client.KVv1(mount)
	s.kv2 = client.KVv2(mount)
	s.auth, err = authMethod(opts, env)
	if err != nil {
		return nil, err
	}
	return s, nil
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

// clientConfig builds the Vault client configuration the way
// api.DefaultConfig does, with the environment read through getenv and the
// options taking precedence.
func clientConfig(opts Options, getenv func(string) string) (*api.Config, string, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, "", fmt.Errorf("%w: Vault client settings from the environment: %s", secrets.ErrInvalidConfig, redactURL(cfg.Error.Error()))
	}
	first := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	addr := first(opts.Address, getenv(api.EnvVaultAgentAddr), getenv(api.EnvVaultAddress), DefaultAddress)
	cfg.Address = addr
	cfg.AgentAddress = ""

	cfg.MaxRetries = 2
	if v := getenv(api.EnvVaultMaxRetries); v != "" {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %s=%q is not a small non-negative number", secrets.ErrInvalidConfig, api.EnvVaultMaxRetries, v)
		}
		cfg.MaxRetries = int(n)
	}
	cfg.Timeout = 60 * time.Second
	if v := getenv(api.EnvVaultClientTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			n, nerr := strconv.Atoi(v)
			if nerr != nil {
				return nil, "", fmt.Errorf("%w: %s=%q is not a duration (e.g. 30s)", secrets.ErrInvalidConfig, api.EnvVaultClientTimeout, v)
			}
			d = time.Duration(n) * time.Second
		}
		cfg.Timeout = d
	}
	cfg.MinRetryWait = 250 * time.Millisecond
	cfg.MaxRetryWait = 2 * time.Second
	cfg.Backoff = retryablehttp.DefaultBackoff

	// A fresh transport, so that TLS settings read by api.DefaultConfig
	// from the process environment do not leak in.
	transport := cleanhttp.DefaultPooledTransport()
	transport.TLSHandshakeTimeout = 10 * time.Second
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	transport.MaxIdleConnsPerHost = MaxConcurrentReads
	transport.ForceAttemptHTTP2 = true
	cfg.HttpClient.Transport = transport
	if p := first(getenv(api.EnvVaultProxyAddr), getenv(api.EnvHTTPProxy)); p != "" {
		u, err := url.Parse(p)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %s: cannot parse the proxy URL: %s", secrets.ErrInvalidConfig, api.EnvVaultProxyAddr, redactURL(err.Error()))
		}
		transport.Proxy = http.ProxyURL(u)
	}

	skip := opts.TLSSkipVerify
	if !skip {
		if v := getenv(api.EnvVaultSkipVerify); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, "", fmt.Errorf("%w: %s=%q is not a boolean", secrets.ErrInvalidConfig, api.EnvVaultSkipVerify, v)
			}
			skip = b
		}
	}
	t := &api.TLSConfig{
		CACert:        first(opts.CACert, getenv(api.EnvVaultCACert)),
		CAPath:        first(opts.CAPath, getenv(api.EnvVaultCAPath)),
		ClientCert:    first(opts.ClientCert, getenv(api.EnvVaultClientCert)),
		ClientKey:     first(opts.ClientKey, getenv(api.EnvVaultClientKey)),
		TLSServerName: first(opts.TLSServerName, getenv(api.EnvVaultTLSServerName)),
		Insecure:      skip,
	}
	if t.CACert == "" {
		if b := getenv(api.EnvVaultCACertBytes); b != "" {
			t.CACertBytes = []byte(b)
		}
	}
	if err := cfg.ConfigureTLS(t); err != nil {
		return nil, "", fmt.Errorf("%w: TLS settings for Vault at %s: %v (check ca_cert/VAULT_CACERT, ca_path/VAULT_CAPATH, client_cert and client_key)", secrets.ErrInvalidConfig, redactURL(addr), err)
	}
	return cfg, addr, nil
}
