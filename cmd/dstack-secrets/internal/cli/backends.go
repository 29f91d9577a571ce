package cli

import (
	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/internal/plugin"
	"github.com/dstackai/dstack-secrets/secrets"
)

// The CLI links only the file backend, which most commands use. The others
// run in programs of their own, installed beside dstack-secrets and
// started by the commands that open one of their projects (package
// internal/plugin): Go initialises every linked package when a process
// starts, and the Vault API client, the keychain libraries (D-Bus) and the
// cloud SDKs would otherwise slow down every command, "list" on a file
// project as much as any. Programs that embed dstack-secrets link them all
// (backends.Registry).
//
// The names, summaries and environment variables of the vault and keyring
// backends are written out here, so that the CLI does not link their
// packages; a test checks them against those packages.
const (
	keyringBackend = "keyring"
	keyringSummary = "the operating system's keychain (macOS Keychain, Windows Credential Manager, Secret Service, pass, keyctl)"
	// keyringPasswordEnvVar is keyring.PasswordEnvVar.
	keyringPasswordEnvVar = "DSTACK_SECRETS_KEYRING_PASSWORD"

	vaultBackend = "vault"
	vaultSummary = "HashiCorp Vault KV, one entry per secret (layout entry) or per repository (layout bundle) under <mount>/<prefix>/<project>/<repository>"
	// vaultRoleIDEnvVar and vaultSecretIDEnvVar are vault.RoleIDEnvVar and
	// vault.SecretIDEnvVar.
	vaultRoleIDEnvVar   = "DSTACK_SECRETS_VAULT_ROLE_ID"
	vaultSecretIDEnvVar = "DSTACK_SECRETS_VAULT_SECRET_ID"
)

// The programs of the backends; tests replace them.
var (
	keyringProgram = func() (string, error) { return plugin.LookPath(plugin.Program(keyringBackend)) }
	vaultProgram   = func() (string, error) { return plugin.LookPath(plugin.Program(vaultBackend)) }
	cloudProgram   = func() (string, error) { return plugin.LookPath(plugin.Program(cloudBackend)) }
)

// registry returns the backends of the CLI: those of backends.Registry
// and cloud, the file backend linked in and the others each served by its
// program.
func registry() *secrets.Registry {
	return secrets.NewRegistry(
		file.Backend(),
		plugin.Backend(keyringBackend, keyringSummary, func() (string, error) { return keyringProgram() }),
		plugin.Backend(vaultBackend, vaultSummary, func() (string, error) { return vaultProgram() }),
		plugin.Backend(cloudBackend, cloudSummary, func() (string, error) { return cloudProgram() }),
	)
}
