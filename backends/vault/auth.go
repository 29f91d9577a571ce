package vault

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"

	"github.com/dstackai/dstack-secrets/secrets"
)

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

// authenticator logs in: it returns the token to use, how long it lives
// (0: no expiry known) and whether it can be renewed.
type authenticator interface {
	login(ctx context.Context, c *conn) (lease, error)
	// relogin says whether login can be called again for a fresh token.
	relogin() bool
}

// lease is what is known of the token in use.
type lease struct {
	ttl       time.Duration // 0: does not expire, or not known
	renewable bool
	want      time.Duration // the lifetime to renew for, when longer than ttl
}

type tokenAuth struct{ token, source string }

func (a tokenAuth) login(_ context.Context, c *conn) (lease, error) {
	c.setToken(a.token)
	c.mu.Lock()
	c.tokenSource = a.source
	c.mu.Unlock()
	return lease{}, nil
}

func (tokenAuth) relogin() bool { return false }

type appRoleAuth struct {
	auth  *approle.AppRoleAuth
	mount string
}

func (a appRoleAuth) login(ctx context.Context, c *conn) (lease, error) {
	var secret *api.Secret
	err := c.do(ctx, func(cl *api.Client) error {
		var err error
		secret, err = cl.Auth().Login(ctx, a.auth)
		return err
	})
	if err != nil {
		return lease{}, c.classify(ctx, err, "AppRole login", "auth/"+a.mount+"/login", `capability "update"`)
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return lease{}, fmt.Errorf("%w: AppRole login at %s (auth/%s) returned no token", secrets.ErrAuth, c.addr(), a.mount)
	}
	c.setToken(secret.Auth.ClientToken)
	c.mu.Lock()
	c.tokenSource = "AppRole login at auth/" + a.mount
	c.ownToken = true
	c.mu.Unlock()
	return lease{ttl: time.Duration(secret.Auth.LeaseDuration) * time.Second, renewable: secret.Auth.Renewable}, nil
}

func (appRoleAuth) relogin() bool { return true }
