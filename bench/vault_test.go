package bench

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/bench/internal/seed"
	"github.com/dstackai/dstack-secrets/secrets"
)

// openVault opens a Vault store on the server named by
// DSTACK_SECRETS_TEST_VAULT_ADDR and _TOKEN (scripts/services/vault.sh
// starts one), under prefix; it skips the benchmark without a server.
func openVault(b *testing.B, prefix string) secrets.Store {
	b.Helper()
	addr, token := os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")
	if addr == "" {
		b.Skip("no Vault server: set DSTACK_SECRETS_TEST_VAULT_ADDR and _TOKEN (bench/run starts one)")
	}
	s, err := vault.Open(context.Background(), vault.Options{
		Address: addr, Token: token, Mount: "secret", Prefix: prefix,
		Env: secrets.Env{Getenv: func(string) string { return "" }, HomeDir: b.TempDir()},
	}, scope)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { secrets.Close(s) })
	return s
}

// vaultSeeded caches which prefixes hold n secrets already.
var vaultSeeded = map[string]bool{}

// vaultStore returns a store whose repository holds n secrets.
func vaultStore(b *testing.B, n int) secrets.Store {
	prefix := fmt.Sprintf("bench-%d", n)
	s := openVault(b, prefix)
	if !vaultSeeded[prefix] {
		ctx := context.Background()
		for i := range n {
			if err := s.Set(ctx, seed.Name(i), seed.Value(i)); err != nil {
				b.Fatal(err)
			}
		}
		vaultSeeded[prefix] = true
	}
	return s
}

// BenchmarkVault measures, on an open store of a repository holding 100
// and 1,000 secrets: one Get (the unit), List, and GetAll (what run does:
// one LIST, then reads 16 at a time).
func BenchmarkVault(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d/op=get-one", n), func(b *testing.B) {
			s := vaultStore(b, n)
			for b.Loop() {
				if _, err := s.Get(ctx, seed.Name(n/2)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("n=%d/op=list", n), func(b *testing.B) {
			s := vaultStore(b, n)
			for b.Loop() {
				if names, err := s.List(ctx); err != nil || len(names) != n {
					b.Fatalf("List: %d names, %v", len(names), err)
				}
			}
		})
		b.Run(fmt.Sprintf("n=%d/op=read-all", n), func(b *testing.B) {
			s := vaultStore(b, n)
			for b.Loop() {
				if all, err := secrets.GetAll(ctx, s); err != nil || len(all) != n {
					b.Fatalf("GetAll: %d secrets, %v", len(all), err)
				}
			}
		})
	}
}
