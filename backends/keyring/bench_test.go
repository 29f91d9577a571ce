package keyring_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

// BenchmarkKeychain measures Get, List and Set of one secret among 10 in
// the scope, per keychain, against the real keychains of scripts/test:
//
//	go test -run '^$' -bench . ./backends/keyring/
func BenchmarkKeychain(b *testing.B) {
	for _, kc := range testKeychains {
		b.Run(kc, func(b *testing.B) {
			if kc != keyring.File {
				requireKeychains(b)
			}
			ctx := context.Background()
			opts := testOptions(b, kc)
			s, err := keyring.Open(ctx, secrets.Scope{Project: "bench", Repository: "example.com/org/bench"}, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer secrets.Close(s)
			for i := range 10 {
				if err := s.Set(ctx, fmt.Sprintf("SECRET_%d", i), "a secret value of a typical size, 40 b"); err != nil {
					b.Fatal(err)
				}
			}
			b.Run("Get", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.Get(ctx, "SECRET_5"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("List", func(b *testing.B) {
				for b.Loop() {
					if names, err := s.List(ctx); err != nil || len(names) != 10 {
						b.Fatalf("List: %d names, %v", len(names), err)
					}
				}
			})
			b.Run("Set", func(b *testing.B) {
				for b.Loop() {
					if err := s.Set(ctx, "SECRET_5", "another secret value of a typical size"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Open", func(b *testing.B) {
				for b.Loop() {
					st, err := keyring.Open(ctx, secrets.Scope{Project: "bench", Repository: "example.com/org/bench"}, opts)
					if err != nil {
						b.Fatal(err)
					}
					secrets.Close(st)
				}
			})
		})
	}
}
