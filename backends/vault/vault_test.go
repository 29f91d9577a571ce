package vault_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

var scope = secrets.Scope{Project: "proj", Repository: "github.com/org/repo"}

func conformance(t *testing.T, vopts vault.Options, opts secretstest.Options) {
	srv := sharedServer(t)
	secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
		o := vopts
		o.Prefix = "conformance/" + randomHex(6)
		o.Env = srv.tokenEnv(t, srv.token)
		return func(ctx context.Context, sc secrets.Scope) (secrets.Store, error) {
			return vault.Open(ctx, sc, o)
		}
	}, opts)
}

func TestConformanceKV2(t *testing.T) {
	conformance(t, vault.Options{Mount: "secret"}, secretstest.Options{})
}

func TestConformanceKV1(t *testing.T) {
	// KV v1 has no check-and-set, so the store's Create answers
	// errors.ErrUnsupported (see the package documentation).
	conformance(t, vault.Options{Mount: kv1Mount()}, secretstest.Options{NoCreate: true})
}

func TestConformanceBundle(t *testing.T) {
	conformance(t, vault.Options{Mount: "secret", Layout: vault.LayoutBundle}, secretstest.Options{NoRepositories: true}) // the bundle layout does not list repositories yet
}

func TestBackendThroughRegistry(t *testing.T) {
	srv := sharedServer(t)
	reg := secrets.NewRegistry(vault.Backend())
	prefix := "registry/" + randomHex(6)
	req := secrets.OpenRequest{
		Scope:   scope,
		Backend: "vault",
		Options: secrets.Options{"mount": "secret", "prefix": prefix},
		Env:     srv.tokenEnv(t, srv.token),
	}
	st, err := reg.Open(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(st)
	if _, ok := secrets.Unwrap(st).(secrets.Creator); !ok {
		t.Errorf("a store on KV v2 should have its own (atomic) Create")
	}
	if err := st.Set(ctx(t), "API_TOKEN", "v1"); err != nil {
		t.Fatal(err)
	}
	// The documented layout, readable with plain Vault tools.
	sec, err := srv.rootClient(t).KVv2("secret").Get(ctx(t), prefix+"/proj/github.com/org/repo/API_TOKEN")
	if err != nil {
		t.Fatalf("reading the documented path: %v", err)
	}
	if sec.Data["value"] != "v1" {
		t.Errorf("the entry at the documented path does not hold the value in field \"value\"")
	}

	req.Options = secrets.Options{"kv_version": 1, "mount": kv1Mount(), "prefix": prefix}
	st1, err := reg.Open(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(st1)
	// KV v1 cannot create atomically: the backend's Create says so, and the
	// opened store falls back to a read followed by a write.
	if err := secrets.Unwrap(st1).(secrets.Creator).Create(ctx(t), "K1", "v"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Create of the KV v1 backend itself: got %v, want an error wrapping errors.ErrUnsupported", err)
	}
	if err := secrets.Create(ctx(t), st1, "K1", "v"); err != nil {
		t.Fatalf("Create on KV v1 (fallback): %v", err)
	}
	if err := secrets.Create(ctx(t), st1, "K1", "w"); !errors.Is(err, secrets.ErrExists) {
		t.Fatalf("second Create on KV v1: got %v, want secrets.ErrExists", err)
	}
	if err := st1.Set(ctx(t), "K", "v"); err != nil {
		t.Fatal(err)
	}
	raw, err := srv.rootClient(t).KVv1(kv1Mount()).Get(ctx(t), prefix+"/proj/github.com/org/repo/K")
	if err != nil || raw.Data["value"] != "v" {
		t.Fatalf("KV v1 layout: %v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	srv := sharedServer(t)
	tests := []struct {
		name    string
		options secrets.Options
		env     secrets.Env
		want    error
		msg     string
	}{
		{"unknown key", secrets.Options{"adress": "x"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "adress"},
		{"token in config", secrets.Options{"token": "x"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "token"},
		{"secret id in config", secrets.Options{"secret_id": "x"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "secret_id"},
		{"bad kv version", secrets.Options{"kv_version": 3}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "kv_version"},
		{"bad auth", secrets.Options{"auth": "ldap"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "approle"},
		{"bad mount", secrets.Options{"mount": "a/../b"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "mount"},
		{"no token", nil, env(t, "VAULT_ADDR", srv.addr), secrets.ErrAuth, "VAULT_TOKEN"},
		{"approle without role id", secrets.Options{"auth": "approle"}, env(t, "VAULT_ADDR", srv.addr), secrets.ErrAuth, vault.RoleIDEnvVar},
		{"approle without secret id", secrets.Options{"auth": "approle", "role_id": "r"}, env(t, "VAULT_ADDR", srv.addr), secrets.ErrAuth, vault.SecretIDEnvVar},
		{"missing mount", secrets.Options{"mount": "no-such-mount"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "vault secrets enable -path=no-such-mount kv-v2"},
		{"mount not kv", secrets.Options{"mount": "cubbyhole"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "not KV"},
		{"mount inside mount", secrets.Options{"mount": "secret/sub"}, srv.tokenEnv(t, srv.token), secrets.ErrInvalidConfig, "set mount: secret"},
		{"bad skip verify", nil, env(t, "VAULT_ADDR", srv.addr, "VAULT_TOKEN", srv.token, "VAULT_SKIP_VERIFY", "maybe"), secrets.ErrInvalidConfig, "VAULT_SKIP_VERIFY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := vault.Backend().Open(ctx(t), secrets.OpenRequest{Scope: scope, Backend: "vault", Options: tc.options, Env: tc.env})
			if err == nil {
				secrets.Close(st)
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v; want an error wrapping %v that mentions %q", err, tc.want, tc.msg)
			}
			t.Logf("%v", err)
		})
	}
}

func TestEnvironment(t *testing.T) {
	srv := sharedServer(t)
	// ~/.vault-token, as `vault login` writes it, when VAULT_TOKEN is unset.
	e := env(t, "VAULT_ADDR", srv.addr)
	if err := os.WriteFile(filepath.Join(e.HomeDir, ".vault-token"), []byte(srv.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := srv.open(t, vault.Options{Env: e}, scope)
	if err := st.Set(ctx(t), "FROM_FILE", "x"); err != nil {
		t.Fatal(err)
	}
	// The address option wins over VAULT_ADDR.
	e = env(t, "VAULT_ADDR", "http://127.0.0.1:1", "VAULT_TOKEN", srv.token)
	st = srv.open(t, vault.Options{Address: srv.addr, Env: e}, scope)
	if _, err := st.List(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// VAULT_PROXY_ADDR sends the requests through an HTTP proxy.
	var proxied atomic.Int32
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		proxied.Add(1)
		r.Out.URL = r.In.URL // a forward proxy: the request carries the absolute URL
	}})
	defer proxy.Close()
	e = env(t, "VAULT_ADDR", srv.addr, "VAULT_TOKEN", srv.token, "VAULT_PROXY_ADDR", proxy.URL)
	st = srv.open(t, vault.Options{Env: e}, scope)
	if _, err := st.List(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() == 0 {
		t.Error("VAULT_PROXY_ADDR was ignored")
	}
}

func TestInvalidAndExpiredToken(t *testing.T) {
	srv := sharedServer(t)
	root := srv.rootClient(t)
	revoked, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := root.Auth().Token().RevokeOrphan(revoked.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{"bogus": "hvs.not-a-token", "revoked": revoked.Auth.ClientToken} {
		t.Run(name, func(t *testing.T) {
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "invalid or expired") {
					t.Fatalf("%s with a %s token: got %v, want secrets.ErrAuth saying the token is invalid or expired", what, name, err)
				}
				if strings.Contains(err.Error(), token) {
					t.Errorf("the error shows the token")
				}
			}
			// Open detects the KV version, which already needs a valid token.
			_, err := vault.Open(ctx(t), scope, vault.Options{Env: srv.tokenEnv(t, token)})
			check("Open", err)
			// With the version forced, the first request finds out.
			st := srv.open(t, vault.Options{KVVersion: 2, Env: srv.tokenEnv(t, token)}, scope)
			_, err = st.Get(ctx(t), "ANY")
			check("Get", err)
			t.Logf("Get with a %s token: %v", name, err)
		})
	}
}

func TestPermissionDenied(t *testing.T) {
	srv := sharedServer(t)
	root := srv.rootClient(t)
	prefix := "perm/" + randomHex(6)
	policy := "readonly-" + randomHex(4)
	rules := fmt.Sprintf(`
path "secret/data/%[1]s/proj/github.com/org/repo/+" { capabilities = ["read"] }
path "secret/metadata/%[1]s/proj/github.com/org/repo/" { capabilities = ["list"] }
`, prefix)
	if err := root.Sys().PutPolicy(policy, rules); err != nil {
		t.Fatal(err)
	}
	tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{policy}, TTL: "1h"})
	if err != nil {
		t.Fatal(err)
	}
	admin := srv.open(t, vault.Options{Prefix: prefix}, scope)
	if err := admin.Set(ctx(t), "READABLE", "r-value"); err != nil {
		t.Fatal(err)
	}
	st := srv.open(t, vault.Options{Prefix: prefix, Env: srv.tokenEnv(t, tok.Auth.ClientToken)}, scope)
	if v, err := st.Get(ctx(t), "READABLE"); err != nil || v != "r-value" {
		t.Fatalf("read allowed by the policy: err %v", err)
	}
	if names, err := st.List(ctx(t)); err != nil || len(names) != 1 {
		t.Fatalf("list allowed by the policy: %q, %v", names, err)
	}
	const value = "secret-value-that-must-not-leak"
	err = st.Set(ctx(t), "NEW", value)
	wantPath := "secret/data/" + prefix + "/proj/github.com/org/repo/NEW"
	if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), wantPath) || !strings.Contains(err.Error(), `"create"`) {
		t.Fatalf("Set without create capability: got %v; want secrets.ErrPermission naming %s and the capability", err, wantPath)
	}
	if strings.Contains(err.Error(), value) {
		t.Fatal("the error shows the value")
	}
	t.Logf("Set without the capability: %v", err)
	err = st.Delete(ctx(t), "READABLE")
	if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "secret/metadata/"+prefix) {
		t.Fatalf("Delete without metadata capabilities: got %v", err)
	}
	other := scope
	other.Repository = "github.com/org/other"
	st2 := srv.open(t, vault.Options{Prefix: prefix, Env: srv.tokenEnv(t, tok.Auth.ClientToken)}, other)
	if _, err := st2.List(ctx(t)); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), `"list"`) {
		t.Fatalf("List of a repository outside the policy: got %v", err)
	}
}

func TestAppRole(t *testing.T) {
	srv := sharedServer(t)
	root := srv.rootClient(t)
	mount := "approle-" + randomHex(4)
	if err := root.Sys().EnableAuthWithOptions(mount, &api.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	prefix := "approle/" + randomHex(6)
	policy := "repo-" + randomHex(4)
	// The policy the package documentation gives for one repository.
	rules := fmt.Sprintf(`
path "secret/data/%[1]s/proj/github.com/org/repo/+" { capabilities = ["create", "read", "update"] }
path "secret/metadata/%[1]s/proj/github.com/org/repo/" { capabilities = ["list"] }
path "secret/metadata/%[1]s/proj/github.com/org/repo/+" { capabilities = ["read", "delete"] }
`, prefix)
	if err := root.Sys().PutPolicy(policy, rules); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write("auth/"+mount+"/role/ci", map[string]any{"token_policies": policy, "token_ttl": "10m"}); err != nil {
		t.Fatal(err)
	}
	rid, err := root.Logical().Read("auth/" + mount + "/role/ci/role-id")
	if err != nil {
		t.Fatal(err)
	}
	sid, err := root.Logical().Write("auth/"+mount+"/role/ci/secret-id", nil)
	if err != nil {
		t.Fatal(err)
	}
	roleID, secretID := rid.Data["role_id"].(string), sid.Data["secret_id"].(string)
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret-id")
	if err := os.WriteFile(secretFile, []byte(secretID+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("secret id from file, role id from env", func(t *testing.T) {
		e := env(t, "VAULT_ADDR", srv.addr, vault.RoleIDEnvVar, roleID)
		st, err := vault.Open(ctx(t), scope, vault.Options{Prefix: prefix, Auth: "approle", AppRoleMount: mount, SecretIDFile: secretFile, Env: e})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctx(t)
		if err := secrets.Create(ctx, st, "A", "a"); err != nil {
			t.Fatal(err)
		}
		if err := st.Set(ctx, "A", "b"); err != nil {
			t.Fatal(err)
		}
		if v, err := st.Get(ctx, "A"); err != nil || v != "b" {
			t.Fatalf("Get: %v", err)
		}
		if all, err := secrets.GetAll(ctx, st); err != nil || len(all) != 1 {
			t.Fatalf("GetAll: %d, %v", len(all), err)
		}
		if err := st.Delete(ctx, "A"); err != nil {
			t.Fatal(err)
		}
		if names, err := st.List(ctx); err != nil || len(names) != 0 {
			t.Fatalf("List after Delete: %q, %v", names, err)
		}
		other := scope
		other.Repository = "github.com/org/repo/nested"
		st2, err := vault.Open(ctx, other, vault.Options{Prefix: prefix, Auth: "approle", AppRoleMount: mount, SecretIDFile: secretFile, Env: e})
		if err != nil {
			t.Fatal(err)
		}
		defer secrets.Close(st2)
		if err := st2.Set(ctx, "A", "x"); !errors.Is(err, secrets.ErrPermission) {
			t.Fatalf("the policy with + must not grant a nested repository: got %v", err)
		}
		if err := secrets.Close(st); err != nil {
			t.Fatalf("Close (revokes the login token): %v", err)
		}
	})
	t.Run("ids from env", func(t *testing.T) {
		e := env(t, "VAULT_ADDR", srv.addr, vault.RoleIDEnvVar, roleID, vault.SecretIDEnvVar, secretID)
		st := srv.open(t, vault.Options{Prefix: prefix, Auth: "approle", AppRoleMount: mount, Env: e}, scope)
		if _, err := st.List(ctx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong secret id", func(t *testing.T) {
		e := env(t, "VAULT_ADDR", srv.addr, vault.RoleIDEnvVar, roleID, vault.SecretIDEnvVar, "00000000-0000-0000-0000-000000000000")
		_, err := vault.Open(ctx(t), scope, vault.Options{Prefix: prefix, Auth: "approle", AppRoleMount: mount, Env: e})
		if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "secret id") {
			t.Fatalf("got %v, want secrets.ErrAuth about the role or secret id", err)
		}
	})
	t.Run("auth method not enabled", func(t *testing.T) {
		e := env(t, "VAULT_ADDR", srv.addr, vault.RoleIDEnvVar, roleID, vault.SecretIDEnvVar, secretID)
		_, err := vault.Open(ctx(t), scope, vault.Options{Prefix: prefix, Auth: "approle", AppRoleMount: "no-such-approle", Env: e})
		if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "vault auth enable") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestLocalRepositoryLayout(t *testing.T) {
	srv := sharedServer(t)
	prefix := "local/" + randomHex(6)
	local := secrets.Scope{Project: "proj", Repository: "/home/me/app"}
	st := srv.open(t, vault.Options{Prefix: prefix}, local)
	if err := st.Set(ctx(t), "K", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.rootClient(t).KVv2("secret").Get(ctx(t), prefix+"/proj/_local/home/me/app/K"); err != nil {
		t.Fatalf("local repository not at _local/<path>: %v", err)
	}
	_, err := vault.Open(ctx(t), secrets.Scope{Project: "proj", Repository: "_local/home/me/app"}, vault.Options{Prefix: prefix, Env: srv.tokenEnv(t, srv.token)})
	if !errors.Is(err, secrets.ErrInvalidScope) {
		t.Fatalf("a remote identity with host _local: got %v, want secrets.ErrInvalidScope", err)
	}
}

func TestUnreachable(t *testing.T) {
	srv := ownServer(t)
	st := srv.open(t, vault.Options{}, scope)
	if err := st.Set(ctx(t), "K", "v"); err != nil {
		t.Fatal(err)
	}
	srv.stop()
	for _, deadline := range []time.Duration{time.Second, 5 * time.Second} {
		c, cancel := context.WithTimeout(context.Background(), deadline)
		_, err := st.Get(c, "K")
		late := c.Err()
		cancel()
		if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), srv.addr) {
			t.Fatalf("Get from a stopped server (deadline %v): got %v, want secrets.ErrUnavailable naming %s", deadline, err, srv.addr)
		}
		if late != nil {
			t.Errorf("Get from a stopped server returned only after its %v deadline", deadline)
		}
	}
	// Open retries until its deadline (or the timeout) too, then says why.
	_, err := vault.Open(shortCtx(t, 3*time.Second), scope, vault.Options{Env: srv.tokenEnv(t, srv.token)})
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "cannot reach Vault at "+srv.addr) {
		t.Fatalf("Open on a stopped server: %v", err)
	}
	t.Logf("Open on a stopped server: %v", err)
}

func TestSealed(t *testing.T) {
	srv := ownServer(t)
	st := srv.open(t, vault.Options{}, scope)
	if err := st.Set(ctx(t), "K", "v"); err != nil {
		t.Fatal(err)
	}
	if err := srv.rootClient(t).Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := st.Get(c, "K")
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "sealed") || c.Err() != nil {
		t.Fatalf("Get from a sealed server: got %v, want secrets.ErrUnavailable saying it is sealed (promptly)", err)
	}
	t.Logf("Get from a sealed server: %v", err)
	_, err = vault.Open(ctx(t), scope, vault.Options{Timeout: 2 * time.Second, Env: srv.tokenEnv(t, srv.token)})
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("Open on a sealed server: %v", err)
	}
}

func TestTLS(t *testing.T) {
	certDir := t.TempDir()
	srv := ownTLSServer(t, certDir)
	ca := filepath.Join(certDir, "vault-ca.pem")
	if _, err := os.Stat(ca); err != nil {
		t.Fatalf("the TLS dev server wrote no CA: %v", err)
	}
	// Trusting the server's CA through VAULT_CACERT, or the ca_cert option.
	st := srv.open(t, vault.Options{Env: env(t, "VAULT_ADDR", srv.addr, "VAULT_TOKEN", srv.token, "VAULT_CACERT", ca)}, scope)
	if err := st.Set(ctx(t), "K", "v"); err != nil {
		t.Fatal(err)
	}
	st = srv.open(t, vault.Options{CACert: ca, Env: env(t, "VAULT_ADDR", srv.addr, "VAULT_TOKEN", srv.token)}, scope)
	if _, err := st.List(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// Without it the certificate is not trusted, and the error says what to set.
	_, err := vault.Open(ctx(t), scope, vault.Options{Env: env(t, "VAULT_ADDR", srv.addr, "VAULT_TOKEN", srv.token)})
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "VAULT_CACERT") {
		t.Fatalf("Open without the CA: got %v, want secrets.ErrUnavailable pointing at VAULT_CACERT", err)
	}
	t.Logf("without the CA: %v", err)
	// Plain HTTP to a TLS server, and the reverse, are explained too.
	_, err = vault.Open(ctx(t), scope, vault.Options{Address: strings.Replace(srv.addr, "https:", "http:", 1), Env: env(t, "VAULT_TOKEN", srv.token)})
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "https://") {
		t.Fatalf("http:// to a TLS server: got %v, want secrets.ErrInvalidConfig saying to use https://", err)
	}
	t.Logf("http:// to a TLS server: %v", err)
}
