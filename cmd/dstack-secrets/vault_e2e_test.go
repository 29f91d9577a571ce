package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
)

// vaultTestServer returns the address and root token of the Vault dev
// server started by scripts/services/vault.sh; without one the test skips,
// or fails when DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set.
func vaultTestServer(t *testing.T) (addr, token string) {
	t.Helper()
	addr, token = os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		const how = "no Vault dev server: run scripts/test, or in bash `source scripts/services/vault.sh && vault_install && vault_start` before go test"
		if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	return addr, token
}

// TestMainVault runs add, list, export, delete with `backend: vault` in the
// project configuration, against a real Vault dev server, with the address
// and token taken from VAULT_ADDR and VAULT_TOKEN as the vault CLI does.
func TestMainVault(t *testing.T) {
	addr, token := vaultTestServer(t)
	pluginsInPath(t)
	enterRepo(t, "git@github.com:org/app.git")
	b := make([]byte, 6)
	rand.Read(b)
	prefix := "e2e-" + hex.EncodeToString(b)
	config := filepath.Join(os.Getenv("HOME"), ".dstack", "secrets.yml")
	if err := os.MkdirAll(filepath.Dir(config), 0o700); err != nil {
		t.Fatal(err)
	}
	yml := "default_project: team\nprojects:\n  team:\n    backend: vault\n    options:\n      mount: secret\n      prefix: " + prefix + "\n"
	if err := os.WriteFile(config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_ADDR", addr)
	t.Setenv("VAULT_TOKEN", token)
	t.Setenv("VAULT_NAMESPACE", "")

	const value = "e2e value with spaces = and \"quotes\""
	if code, _, stderr := runMain(t, "", "add", "API_TOKEN", value); code != 0 {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runMain(t, "", "add", "OTHER", "o"); code != 0 {
		t.Fatalf("add OTHER: exit %d: %s", code, stderr)
	}
	// The secret is where the vault backend's documentation says, readable
	// with Vault's own tools.
	cfg := api.DefaultConfig()
	cfg.Address = addr
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(token)
	sec, err := client.KVv2("secret").Get(context.Background(), prefix+"/team/github.com/org/app/API_TOKEN")
	if err != nil || sec.Data["value"] != value {
		t.Fatalf("the secret is not at secret/%s/team/github.com/org/app/API_TOKEN: %v", prefix, err)
	}
	if code, out, stderr := runMain(t, "", "list"); code != 0 || out != "API_TOKEN\nOTHER\n" {
		t.Fatalf("list: exit %d, %q, %s", code, out, stderr)
	}
	// Adding an existing name is refused without -y, and overwrites with it.
	code, _, stderr := runMain(t, "", "add", "API_TOKEN", "other value")
	if code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("add of an existing name without -y: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runMain(t, "", "add", "-y", "OTHER", "o2"); code != 0 {
		t.Fatalf("add -y of an existing name: exit %d: %s", code, stderr)
	}
	if sec, err := client.KVv2("secret").Get(context.Background(), prefix+"/team/github.com/org/app/OTHER"); err != nil || sec.Data["value"] != "o2" || sec.VersionMetadata.Version != 2 {
		t.Fatalf("add -y did not write a second version of OTHER: %v", err)
	}
	if code, _, stderr := runMain(t, "", "delete", "-y", "API_TOKEN"); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, stderr)
	}
	if code, out, stderr := runMain(t, "", "list"); code != 0 || out != "OTHER\n" {
		t.Fatalf("list after delete: exit %d, %q, %s", code, out, stderr)
	}
	if _, err := client.KVv2("secret").GetMetadata(context.Background(), prefix+"/team/github.com/org/app/API_TOKEN"); err == nil {
		t.Fatal("delete left the secret's metadata in Vault")
	}

	// A bad token is explained, not dumped.
	t.Setenv("VAULT_TOKEN", "hvs.invalid")
	code, _, stderr = runMain(t, "", "list")
	if code == 0 || !strings.Contains(stderr, "invalid or expired") || strings.Contains(stderr, "{") || strings.Contains(stderr, "hvs.invalid") {
		t.Fatalf("list with an invalid token: exit %d, %s", code, stderr)
	}
	t.Logf("list with an invalid token: %s", stderr)
	// No token at all.
	t.Setenv("VAULT_TOKEN", "")
	code, _, stderr = runMain(t, "", "list")
	if code == 0 || !strings.Contains(stderr, "VAULT_TOKEN") {
		t.Fatalf("list without a token: exit %d, %s", code, stderr)
	}
	t.Logf("list without a token: %s", stderr)
}
