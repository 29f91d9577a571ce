package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"

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

// MaxConcurrentReads is how many reads GetAll keeps in flight at once.
const MaxConcurrentReads = 16

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

// Backend returns the registry entry of the Vault backend.
func Backend() secrets.Backend {
	return secrets.Backend{
		Name:    Name,
		Summary: "HashiCorp Vault KV (v2 or v1), one entry per secret under <mount>/<prefix>/<project>/<repository>/",
		Open:    openFromRequest,
	}
}

func openFromRequest(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
	var opts Options
	if err := req.Options.Decode(Name, &opts); err != nil {
		return nil, err
	}
	opts.Env = req.Env
	return Open(ctx, opts, req.Scope)
}

// Open connects to Vault, authenticates, finds the KV version of the mount
// (unless opts.KVVersion forces it) and returns the store of scope. On a KV
// version 2 mount the store also implements secrets.Creator (atomic, with
// check-and-set) and on both versions secrets.BulkGetter and io.Closer.
func Open(ctx context.Context, opts Options, scope secrets.Scope) (secrets.Store, error) {
	if err := scope.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
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
	if s.version == 2 {
		return &kv2Store{s}, nil
	}
	return s, nil
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
		addr:    addr,
		mount:   mount,
		base:    prefix + "/" + scope.Project + "/" + repo,
		version: opts.KVVersion,
		maxWait: cfg.MaxRetryWait,
	}
	cfg.CheckRetry = s.checkRetry
	client, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: Vault client for %s: %v", secrets.ErrInvalidConfig, addr, err)
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
		return nil, "", fmt.Errorf("%w: Vault client settings from the environment: %v", secrets.ErrInvalidConfig, cfg.Error)
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
			return nil, "", fmt.Errorf("%w: %s: cannot parse the proxy URL: %v", secrets.ErrInvalidConfig, api.EnvVaultProxyAddr, err)
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
		return nil, "", fmt.Errorf("%w: TLS settings for Vault at %s: %v (check ca_cert/VAULT_CACERT, ca_path/VAULT_CAPATH, client_cert and client_key)", secrets.ErrInvalidConfig, addr, err)
	}
	return cfg, addr, nil
}

// authMethod resolves the credentials; it makes no request.
func authMethod(opts Options, env secrets.Env) (authenticator, error) {
	switch opts.Auth {
	case "", AuthToken:
		if opts.RoleID != "" || opts.RoleIDFile != "" || opts.SecretIDFile != "" {
			return nil, fmt.Errorf("%w: role_id, role_id_file and secret_id_file need auth: approle", secrets.ErrInvalidConfig)
		}
		tok := opts.Token
		source := "the Token option"
		if tok == "" {
			tok = env.Value(api.EnvVaultToken)
			source = "VAULT_TOKEN"
		}
		if tok == "" {
			home, err := env.Home()
			if err == nil {
				path := filepath.Join(home, ".vault-token")
				b, err := os.ReadFile(path)
				switch {
				case err == nil:
					tok = strings.TrimSpace(string(b))
					source = path
				case !errors.Is(err, fs.ErrNotExist):
					return nil, fmt.Errorf("%w: cannot read the Vault token file %s: %v", secrets.ErrAuth, path, err)
				}
			}
		}
		if tok == "" {
			return nil, fmt.Errorf("%w: no Vault token: set VAULT_TOKEN, run `vault login` (which writes ~/.vault-token), or use auth: approle", secrets.ErrAuth)
		}
		return tokenAuth{token: tok, source: source}, nil
	case AuthAppRole:
		roleID := opts.RoleID
		if roleID == "" && opts.RoleIDFile != "" {
			b, err := readCredentialFile(opts.RoleIDFile, env)
			if err != nil {
				return nil, fmt.Errorf("%w: AppRole role id file: %v", secrets.ErrAuth, err)
			}
			roleID = b
		}
		if roleID == "" {
			roleID = env.Value(RoleIDEnvVar)
		}
		if roleID == "" {
			return nil, fmt.Errorf("%w: AppRole login needs a role id: set the role_id or role_id_file option or %s", secrets.ErrAuth, RoleIDEnvVar)
		}
		secretID := opts.SecretID
		if secretID == "" {
			secretID = env.Value(SecretIDEnvVar)
		}
		if secretID == "" && opts.SecretIDFile != "" {
			b, err := readCredentialFile(opts.SecretIDFile, env)
			if err != nil {
				return nil, fmt.Errorf("%w: AppRole secret id file: %v", secrets.ErrAuth, err)
			}
			secretID = b
		}
		if secretID == "" {
			return nil, fmt.Errorf("%w: AppRole login needs a secret id: set %s or the secret_id_file option", secrets.ErrAuth, SecretIDEnvVar)
		}
		mount, err := cleanPath("approle_mount", opts.AppRoleMount, DefaultAppRoleMount)
		if err != nil {
			return nil, err
		}
		loginOpts := []approle.LoginOption{approle.WithMountPath(mount)}
		if opts.SecretIDWrapped {
			loginOpts = append(loginOpts, approle.WithWrappingToken())
		}
		a, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromString: secretID}, loginOpts...)
		if err != nil {
			return nil, fmt.Errorf("%w: AppRole settings: %v", secrets.ErrInvalidConfig, err)
		}
		return appRoleAuth{auth: a, mount: mount}, nil
	default:
		return nil, fmt.Errorf("%w: auth %q: use %q or %q", secrets.ErrInvalidConfig, opts.Auth, AuthToken, AuthAppRole)
	}
}

// readCredentialFile reads a role or secret id file ("~/" expands to the
// home directory) and trims surrounding white space.
func readCredentialFile(path string, env secrets.Env) (string, error) {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		home, err := env.Home()
		if err != nil {
			return "", err
		}
		path = filepath.Join(home, rest)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64*1024))
	if err != nil {
		return "", fmt.Errorf("%s: %v", path, err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

type authenticator interface {
	login(ctx context.Context, s *store) error
}

type tokenAuth struct{ token, source string }

func (a tokenAuth) login(_ context.Context, s *store) error {
	s.client.SetToken(a.token)
	s.tokenSource = a.source
	return nil
}

type appRoleAuth struct {
	auth  *approle.AppRoleAuth
	mount string
}

func (a appRoleAuth) login(ctx context.Context, s *store) error {
	secret, err := s.client.Auth().Login(ctx, a.auth)
	if err != nil {
		return s.classify(ctx, err, "AppRole login", "auth/"+a.mount+"/login", `capability "update"`)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return fmt.Errorf("%w: AppRole login at %s (auth/%s) returned no token", secrets.ErrAuth, s.addr, a.mount)
	}
	s.tokenSource = "AppRole login at auth/" + a.mount
	s.ownToken = true
	return nil
}
