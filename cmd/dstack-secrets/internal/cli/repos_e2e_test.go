package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestRepositoryIdentityOnEveryBackend replays friction 1 of issue 12 on
// the keyring backend (gnome-keyring's Secret Service, keyctl, pass and
// the file keychain, from scripts/services/keychains.sh) and the vault
// backend (KV v2 and v1, from scripts/services/vault.sh): secrets added
// before the repository had a remote are pointed out by list, listed by
// repos and moved by move.
func TestRepositoryIdentityOnEveryBackend(t *testing.T) {
	id := randomID(t)
	keyringSetup := func(t *testing.T, vars map[string]string) {
		requireService(t, os.Getenv("DSTACK_SECRETS_TEST_KEYRING") == "1" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "",
			"the keychains of scripts/services/keychains.sh", "keychains.sh")
		for _, v := range []string{"DBUS_SESSION_BUS_ADDRESS", "PASSWORD_STORE_DIR", "GNUPGHOME"} {
			vars[v] = os.Getenv(v)
		}
	}
	vaultSetup := func(t *testing.T, vars map[string]string) {
		addr, token := os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")
		requireService(t, addr != "" && token != "", "the Vault dev server", "vault.sh")
		vars["VAULT_ADDR"], vars["VAULT_TOKEN"] = addr, token
	}
	kv1 := os.Getenv("DSTACK_SECRETS_TEST_VAULT_KV1_MOUNT")
	if kv1 == "" {
		kv1 = "kv1"
	}
	service := "dstack-secrets-test-repos-" + id
	for _, tc := range []struct {
		name, options string
		setup         func(t *testing.T, vars map[string]string)
	}{
		{"keyring/secret-service", "backend: keyring\n    options:\n      keychains: [secret-service]\n      service: " + service + "\n", keyringSetup},
		{"keyring/keyctl", "backend: keyring\n    options:\n      keychains: [keyctl]\n      service: " + service + "\n", keyringSetup},
		{"keyring/pass", "backend: keyring\n    options:\n      keychains: [pass]\n      service: " + service + "\n", keyringSetup},
		{"keyring/file", "backend: keyring\n    options:\n      keychains: [file]\n      file_dir: FILEDIR\n", func(t *testing.T, vars map[string]string) {
			vars["DSTACK_SECRETS_KEYRING_PASSWORD"] = "test password"
		}},
		{"vault/kv2", "backend: vault\n    options:\n      mount: secret\n      prefix: repos-e2e-" + id + "\n", vaultSetup},
		{"vault/kv1", "backend: vault\n    options:\n      mount: " + kv1 + "\n      prefix: repos-e2e-" + id + "\n", vaultSetup},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, pathID := newLocalHarness(t)
			tc.setup(t, h.vars)
			opts := tc.options
			if dir := filepath.Join(h.home, "keyring"); tc.name == "keyring/file" {
				opts = strings.Replace(opts, "FILEDIR", dir, 1)
			}
			h.useConfig("projects:\n  default:\n    " + opts)
			h.want(h.run("", "add", "-y", "TOKEN", marker), 0, "Added secret TOKEN")
			h.want(h.run("", "add", "-y", "OTHER", "v"), 0, "")
			h.setOrigin("git@github.com:org/my-app-" + id + ".git")
			current := "github.com/org/my-app-" + id
			t.Cleanup(func() {
				for _, repo := range []string{"file://" + pathID, current} {
					deleteAll(t, h.openRepo(repo))
				}
			})
			r := h.run("", "list")
			h.want(r, 0, "holds 2 secrets; if they are this repository's, move them here with: dstack-secrets move --from-repo "+shellWord(pathID)+"\n")
			if r := h.run("", "repos"); r.code != 0 || r.stdout != pathID+"  2 secrets\n" {
				t.Errorf("repos: %+v", r)
			}
			h.want(h.run("", moveArgs(t, r.stderr)...), 0, "Moved 2 secrets of project \"default\" from repository "+pathID+" to repository "+current+": OTHER, TOKEN\n")
			if r := h.run("", "list"); r.stdout != "OTHER\nTOKEN\n" || r.stderr != "" {
				t.Errorf("list after move: %+v", r)
			}
			if r := h.run("", "get", "TOKEN"); r.stdout != marker {
				t.Errorf("the moved value differs (%d bytes)", len(r.stdout))
			}
			if r := h.run("", "repos"); r.stdout != current+"  2 secrets  (current)\n" {
				t.Errorf("repos after move: %+v", r)
			}
		})
	}
}

// openRepo opens the harness's default project for another repository
// identity.
func (h *harness) openRepo(repo string) secrets.Store {
	h.t.Helper()
	r, err := secrets.Resolve(secrets.Target{Repository: repo, Dir: h.repo, Env: secrets.Env{HomeDir: h.home, Getenv: func(k string) string { return h.vars[k] }}})
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := backends.Registry().OpenResolved(context.Background(), r)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { secrets.Close(s) })
	return s
}
