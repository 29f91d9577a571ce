// Command dstack-secrets-vault is the vault backend of dstack-secrets
// (HashiCorp Vault or OpenBao, KV v1 or v2) in a program of its own, so
// that the Vault API client and its HTTP, retry and address-parsing
// libraries are initialised only by the commands that open a Vault
// project. dstack-secrets starts it when it opens a project whose backend
// is vault; it is not meant to be run by hand. Install it beside
// dstack-secrets:
//
//	go install ./cmd/...
//
// Usage:
//
//	dstack-secrets-vault serve-plugin
//
// serve-plugin serves the store of one project on standard input and
// output for dstack-secrets (package internal/plugin).
package main

import (
	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/internal/plugin"
	"github.com/dstackai/dstack-secrets/secrets"
)

// serveEnv are the variables the vault backend reads through secrets.Env
// (Vault's own, as the vault CLI reads them, and the AppRole ids):
// dstack-secrets sends their values when it opens a store here.
var serveEnv = []string{
	api.EnvVaultAddress, api.EnvVaultAgentAddr, api.EnvVaultToken, api.EnvVaultNamespace,
	api.EnvVaultHeaders, api.EnvVaultMaxRetries, api.EnvVaultClientTimeout, api.EnvRateLimit,
	api.EnvVaultSRVLookup, api.EnvVaultDisableRedirects, api.EnvVaultProxyAddr, api.EnvHTTPProxy,
	api.EnvVaultSkipVerify, api.EnvVaultCACert, api.EnvVaultCACertBytes, api.EnvVaultCAPath,
	api.EnvVaultClientCert, api.EnvVaultClientKey, api.EnvVaultTLSServerName,
	vault.RoleIDEnvVar, vault.SecretIDEnvVar,
}

func registry() *secrets.Registry { return secrets.NewRegistry(vault.Backend()) }

func main() { plugin.Main(vault.Name, registry, plugin.ServeEnv(vault.Name, serveEnv...)) }
