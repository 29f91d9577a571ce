package vault_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Open a repository's secrets on a Vault KV mount. The token comes from
// VAULT_TOKEN or ~/.vault-token (set Auth to "approle" for AppRole); the
// example needs a running Vault, so it is compiled but not run.
func ExampleOpen() {
	ctx := context.Background()
	repo := secrets.Scope{Project: "team", Repository: "github.com/org/app"}
	st, err := vault.Open(ctx, repo, vault.Options{
		Address: "https://vault.example.com:8200", // else VAULT_ADDR
		Mount:   "secret",                         // a KV v2 (or v1) mount
		Prefix:  "dstack",                         // secrets live at secret/dstack/team/github.com/org/app/<NAME>
	})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(st)

	// Atomic on KV v2: of concurrent creators exactly one succeeds.
	err = secrets.Create(ctx, st, "API_TOKEN", "s3cr3t")
	if errors.Is(err, secrets.ErrExists) {
		fmt.Println("API_TOKEN is set already")
	} else if err != nil {
		log.Fatal(err)
	}
	all, err := secrets.GetAll(ctx, st)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(all), "secrets")
}

// Keep all secrets of a repository in one KV v2 entry (layout bundle):
// reading all of them, as `dstack-secrets run` does, is one request, and
// an import is one atomic write. On a cluster without a load balancer,
// list its nodes; operations retry across them for up to Timeout.
func ExampleOpen_bundle() {
	ctx := context.Background()
	repo := secrets.Scope{Project: "team", Repository: "github.com/org/app"}
	st, err := vault.Open(ctx, repo, vault.Options{
		Addresses: []string{"https://vault-1:8200", "https://vault-2:8200", "https://vault-3:8200"},
		Layout:    vault.LayoutBundle, // secrets are the fields of secret/dstack/team/github.com/org/app
		Timeout:   time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(st)
	if err := secrets.SetMany(ctx, st, map[string]string{"DB_URL": "postgres://...", "API_TOKEN": "s3cr3t"}, true); err != nil {
		log.Fatal(err)
	}
	versions, err := secrets.Versions(ctx, st, "API_TOKEN")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(versions), "versions of API_TOKEN")
}
