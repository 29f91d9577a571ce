package vault_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// useFor reads K every 250 ms for d and returns the first error.
func useFor(t *testing.T, st secrets.Store, d time.Duration) error {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if _, err := st.Get(ctx(t), "K"); err != nil && !errors.Is(err, secrets.ErrNotFound) {
			return err
		}
	}
	return nil
}

// TestLongLivedStore keeps stores open well past the lifetime of their
// tokens on the real server: an AppRole login whose token lives 3 s (at
// most 6 s) is renewed and then repeated; a renewable token of 3 s is
// renewed. A token that cannot be renewed expires, which shows the test
// can fail.
func TestLongLivedStore(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 25 s")
	}
	srv := sharedServer(t)
	root := srv.rootClient(t)
	prefix := "renew/" + randomHex(6)
	policy := "renew-" + randomHex(4)
	rules := fmt.Sprintf(`path "secret/data/%[1]s/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/%[1]s/*" { capabilities = ["list", "read"] }`, prefix)
	if err := root.Sys().PutPolicy(policy, rules); err != nil {
		t.Fatal(err)
	}
	t.Run("approle", func(t *testing.T) {
		mount := "approle-renew-" + randomHex(4)
		if err := root.Sys().EnableAuthWithOptions(mount, &api.EnableAuthOptions{Type: "approle"}); err != nil {
			t.Fatal(err)
		}
		if _, err := root.Logical().Write("auth/"+mount+"/role/svc", map[string]any{"token_policies": policy, "token_ttl": "3s", "token_max_ttl": "6s"}); err != nil {
			t.Fatal(err)
		}
		rid, err := root.Logical().Read("auth/" + mount + "/role/svc/role-id")
		if err != nil {
			t.Fatal(err)
		}
		sid, err := root.Logical().Write("auth/"+mount+"/role/svc/secret-id", nil)
		if err != nil {
			t.Fatal(err)
		}
		e := env(t, "VAULT_ADDR", srv.addr, vault.RoleIDEnvVar, rid.Data["role_id"].(string), vault.SecretIDEnvVar, sid.Data["secret_id"].(string))
		st := srv.open(t, vault.Options{Prefix: prefix, Auth: vault.AuthAppRole, AppRoleMount: mount, Env: e}, scope)
		if err := useFor(t, st, 13*time.Second); err != nil {
			t.Fatalf("an AppRole store used for 13 s with 3 s tokens (max 6 s): %v", err)
		}
	})
	token := func(t *testing.T, renewable bool) string {
		tok, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{policy}, TTL: "3s", Renewable: &renewable})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Auth.ClientToken
	}
	t.Run("renewable token", func(t *testing.T) {
		st := srv.open(t, vault.Options{Prefix: prefix, Env: srv.tokenEnv(t, token(t, true))}, scope)
		if err := useFor(t, st, 8*time.Second); err != nil {
			t.Fatalf("a store used for 8 s with a renewable 3 s token: %v", err)
		}
	})
	t.Run("token that cannot be renewed", func(t *testing.T) {
		st := srv.open(t, vault.Options{Prefix: prefix, Env: srv.tokenEnv(t, token(t, false))}, scope)
		err := useFor(t, st, 5*time.Second)
		if !errors.Is(err, secrets.ErrAuth) {
			t.Fatalf("a store used for 5 s with a 3 s token that cannot be renewed: %v, want secrets.ErrAuth", err)
		}
	})
}
