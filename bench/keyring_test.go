package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/bench/internal/seed"
	"github.com/dstackai/dstack-secrets/secrets"
)

// keyringItems is how many secrets each keychain's repository holds.
const keyringItems = 10

// BenchmarkKeyring measures the keyring backend on each real keychain that
// scripts/services/keychains.sh starts (gnome-keyring's Secret Service on a
// private bus, the kernel keyring, pass with a throwaway GPG key): Get, List,
// Set and reading all of a repository of 10 secrets, on an open store.
func BenchmarkKeyring(b *testing.B) {
	if os.Getenv("DSTACK_SECRETS_TEST_KEYRING") != "1" {
		b.Skip("the real keychains are not running (DSTACK_SECRETS_TEST_KEYRING is not 1); bench/run starts them")
	}
	ctx := context.Background()
	for _, kc := range []string{keyring.SecretService, keyring.KeyCtl, keyring.Pass} {
		var rnd [6]byte
		rand.Read(rnd[:])
		opts := keyring.Options{Keychains: []string{kc}, Service: "dstack-secrets-test-bench-" + hex.EncodeToString(rnd[:])} // keychains_stop unlinks dstack-secrets-test* kernel keyrings
		s, err := keyring.Open(ctx, scope, opts)
		if err != nil {
			b.Fatalf("%s: %v", kc, err)
		}
		for i := range keyringItems {
			if err := s.Set(ctx, seed.Name(i), seed.Value(i)); err != nil {
				b.Fatalf("%s: %v", kc, err)
			}
		}
		b.Run(fmt.Sprintf("keychain=%s/op=get", kc), func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Get(ctx, seed.Name(keyringItems/2)); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("keychain=%s/op=list", kc), func(b *testing.B) {
			for b.Loop() {
				if names, err := s.List(ctx); err != nil || len(names) != keyringItems {
					b.Fatalf("List: %d names, %v", len(names), err)
				}
			}
		})
		b.Run(fmt.Sprintf("keychain=%s/op=read-all", kc), func(b *testing.B) {
			for b.Loop() {
				if all, err := secrets.GetAll(ctx, s); err != nil || len(all) != keyringItems {
					b.Fatalf("GetAll: %d secrets, %v", len(all), err)
				}
			}
		})
		b.Run(fmt.Sprintf("keychain=%s/op=set", kc), func(b *testing.B) {
			i := 0
			for b.Loop() {
				i++
				if err := s.Set(ctx, seed.Name(0), fmt.Sprintf("value-%d", i%2)); err != nil {
					b.Fatal(err)
				}
			}
		})
		names, _ := s.List(ctx)
		for _, n := range names {
			if err := s.Delete(ctx, n); err != nil {
				b.Errorf("%s: cleanup: %v", kc, err)
			}
		}
		secrets.Close(s)
	}
}
