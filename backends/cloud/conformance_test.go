package cloud_test

import (
	"context"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// servers are the real object stores, each behind its own getter so that
// one missing server skips only its tests.
var servers = []struct {
	name string
	get  func(testing.TB) cloudtest.Server
}{
	{"s3", cloudtest.S3},
	{"azurite", cloudtest.Azurite},
	{"gcs", cloudtest.GCS},
	{"seaweedfs", cloudtest.SeaweedFS},
}

// conformanceOptions keeps the suite's concurrency tests meaningful but
// bounded: every write is a conditional PUT of one shared object.
var conformanceOptions = secretstest.Options{Concurrency: 8, OpsPerWorker: 4}

// TestConformanceRecipients runs the conformance suite in recipients mode
// on every server: each test gets a fresh bucket and a fresh identity.
func TestConformanceRecipients(t *testing.T) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			server := srv.get(t)
			secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
				loc := server.NewBucket(t)
				opts := cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint}
				opts.Env = secrets.Env{HomeDir: t.TempDir(), Getenv: func(string) string { return "" }}
				return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
					return cloud.Open(ctx, scope, opts)
				}
			}, conformanceOptions)
		})
	}
}

// TestConformanceKMS runs the conformance suite in KMS mode, with a key of
// the Vault dev server's transit engine, on every server.
func TestConformanceKMS(t *testing.T) {
	vault := cloudtest.VaultServer(t)
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			server := srv.get(t)
			secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
				loc := server.NewBucket(t)
				opts := cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint}
				opts.KMS, opts.Env = vault.TransitKey(t)
				return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
					return cloud.Open(ctx, scope, opts)
				}
			}, conformanceOptions)
		})
	}
}
