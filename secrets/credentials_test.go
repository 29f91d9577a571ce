package secrets_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestDropCredentials: the variables that unlock stores do not reach the
// child, unless a secret of that name is stored, whose value it gets.
func TestDropCredentials(t *testing.T) {
	ctx := context.Background()
	m := newMem()
	m.data["API_TOKEN"] = "t"
	s := secrets.Wrap(m, secrets.Info{})
	base := []string{"HOME=/home/me", "VAULT_TOKEN=hvs.master", "DSTACK_SECRETS_PASSPHRASE=pp", "DSTACK_SECRETS_KEYRING_PASSWORD=kp",
		"DSTACK_SECRETS_VAULT_ROLE_ID=r", "DSTACK_SECRETS_VAULT_SECRET_ID=sid", "VAULT_ADDR=https://vault:8200"}
	for _, override := range []bool{true, false} {
		env, err := secrets.Environ(ctx, s, base, override)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(env, " "), "HOME=/home/me VAULT_ADDR=https://vault:8200 API_TOKEN=t"; got != want {
			t.Errorf("override %v: %q, want %q", override, got, want)
		}
	}
	m.data["VAULT_TOKEN"] = "stored on purpose"
	env, err := secrets.Environ(ctx, s, base, false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(env, "VAULT_TOKEN=stored on purpose") || slices.Contains(env, "VAULT_TOKEN=hvs.master") {
		t.Errorf("a stored VAULT_TOKEN: %q", env)
	}
	// Every built-in backend's credential variable is on the list.
	for _, v := range []string{file.PassphraseEnvVar, file.PassphraseFDEnvVar, keyring.PasswordEnvVar, vault.RoleIDEnvVar, vault.SecretIDEnvVar, "VAULT_TOKEN"} {
		if !slices.Contains(secrets.CredentialEnvVars(), v) {
			t.Errorf("%s is not in CredentialEnvVars", v)
		}
	}
}
