// Package bench holds benchmarks that compare dstack-secrets with its peers
// side by side in one run; bench/run runs them and writes BENCHMARKS.md.
//
//	go test -run '^$' -bench . -benchmem ./bench/
package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/99designs/keyring"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/bench/internal/seed"
	"github.com/dstackai/dstack-secrets/secrets"
)

var scope = secrets.Scope{Project: "bench", Repository: "github.com/org/repo"}

// peerSizes are the repository sizes of the read-every-secret comparison.
var peerSizes = []int{10, 100, 1000}

// seeded caches seeded store directories for the whole run: seeding the
// peer's 1,000 items takes seconds, and -count repeats every benchmark.
var (
	seededMu sync.Mutex
	seeded   = map[string]string{}
	root     string
)

func TestMain(m *testing.M) {
	var err error
	if root, err = os.MkdirTemp("", "dstack-secrets-bench-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(root)
	os.Exit(code)
}

func cached(b *testing.B, key string, make func(dir string) error) string {
	b.Helper()
	seededMu.Lock()
	defer seededMu.Unlock()
	if dir, ok := seeded[key]; ok {
		return dir
	}
	dir, err := os.MkdirTemp(root, key+"-")
	if err != nil {
		b.Fatal(err)
	}
	if err := make(dir); err != nil {
		b.Fatal(err)
	}
	seeded[key] = dir
	return dir
}

// ourStore returns a file-backend directory holding n secrets.
func ourStore(b *testing.B, n int) string {
	return cached(b, fmt.Sprintf("dstack-%d", n), func(dir string) error {
		_, err := seed.FileStore(context.Background(), dir, scope, n)
		return err
	})
}

// peerConfig opens 99designs/keyring's FileBackend: one JWE file per item,
// each key-wrapped with PBES2-HS256+A128KW (PBKDF2) under a password.
func peerConfig(dir string) keyring.Config {
	return keyring.Config{
		ServiceName:      "bench",
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          dir,
		FilePasswordFunc: keyring.FixedStringPrompt("bench-password"),
	}
}

// peerStore returns a 99designs FileBackend directory holding n items.
func peerStore(b *testing.B, n int) string {
	return cached(b, fmt.Sprintf("99designs-%d", n), func(dir string) error {
		kr, err := keyring.Open(peerConfig(dir))
		if err != nil {
			return err
		}
		for i := range n {
			if err := kr.Set(keyring.Item{Key: seed.Name(i), Data: []byte(seed.Value(i))}); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkReadAll reads every secret of a repository from a fresh handle,
// as "run" does when it starts a workflow: ours opens the store and calls
// secrets.GetAll (one decryption); the peer lists its keys and gets each.
func BenchmarkReadAll(b *testing.B) {
	ctx := context.Background()
	for _, n := range peerSizes {
		b.Run(fmt.Sprintf("n=%d/impl=dstack", n), func(b *testing.B) {
			dir := ourStore(b, n)
			for b.Loop() {
				s, err := file.Open(ctx, scope, file.Options{Dir: dir})
				if err != nil {
					b.Fatal(err)
				}
				all, err := secrets.GetAll(ctx, s)
				if err != nil || len(all) != n {
					b.Fatalf("GetAll: %d secrets, %v", len(all), err)
				}
			}
		})
		b.Run(fmt.Sprintf("n=%d/impl=99designs", n), func(b *testing.B) {
			dir := peerStore(b, n)
			for b.Loop() {
				kr, err := keyring.Open(peerConfig(dir))
				if err != nil {
					b.Fatal(err)
				}
				keys, err := kr.Keys()
				if err != nil || len(keys) != n {
					b.Fatalf("Keys: %d keys, %v", len(keys), err)
				}
				for _, k := range keys {
					if _, err := kr.Get(k); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkSetOne replaces one secret of a repository holding 100 secrets,
// from a fresh handle (as an "add -y" process does).
func BenchmarkSetOne(b *testing.B) {
	ctx := context.Background()
	const n = 100
	name := seed.Name(n / 2)
	values := [2]string{"new-value-a", "new-value-b"}
	b.Run(fmt.Sprintf("n=%d/impl=dstack", n), func(b *testing.B) {
		dir := ourStore(b, n)
		i := 0
		for b.Loop() {
			i++
			s, err := file.Open(ctx, scope, file.Options{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Set(ctx, name, values[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("n=%d/impl=99designs", n), func(b *testing.B) {
		dir := peerStore(b, n)
		i := 0
		for b.Loop() {
			i++
			kr, err := keyring.Open(peerConfig(dir))
			if err != nil {
				b.Fatal(err)
			}
			if err := kr.Set(keyring.Item{Key: name, Data: []byte(values[i%2])}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
