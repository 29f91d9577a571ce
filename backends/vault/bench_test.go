package vault_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// benchSecrets is the size of the repository the benchmarks read.
const benchSecrets = 100

// benchStore opens a store on the shared dev server whose repository holds
// benchSecrets secrets of 40 bytes, on a KV v2 or v1 mount.
func benchStore(b *testing.B, mount string) secrets.Store {
	srv := sharedServer(b)
	st := srv.open(b, vault.Options{Mount: mount}, scope)
	ctx := context.Background()
	for i := range benchSecrets {
		if err := st.Set(ctx, fmt.Sprintf("SECRET_%03d", i), fmt.Sprintf("value-%03d-0123456789abcdef0123456789ab", i)); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// BenchmarkVault measures each operation on a repository of 100 secrets,
// on KV v2 and KV v1 mounts of a dev server on loopback: Get, List, Set of
// an existing name, Create+Delete of a new one, GetAll (one LIST and
// concurrent reads) and, for comparison, reading all 100 with sequential
// Gets.
func BenchmarkVault(b *testing.B) {
	ctx := context.Background()
	for _, kv := range []struct{ name, mount string }{{"kv2", "secret"}, {"kv1", kv1Mount()}} {
		b.Run(kv.name+"/get", func(b *testing.B) {
			st := benchStore(b, kv.mount)
			for b.Loop() {
				if _, err := st.Get(ctx, "SECRET_050"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kv.name+"/list", func(b *testing.B) {
			st := benchStore(b, kv.mount)
			for b.Loop() {
				if names, err := st.List(ctx); err != nil || len(names) != benchSecrets {
					b.Fatalf("List: %d names, %v", len(names), err)
				}
			}
		})
		b.Run(kv.name+"/set", func(b *testing.B) {
			st := benchStore(b, kv.mount)
			for b.Loop() {
				if err := st.Set(ctx, "SECRET_050", "a new value of about the same size......"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kv.name+"/create+delete", func(b *testing.B) {
			st := benchStore(b, kv.mount)
			for b.Loop() {
				if err := secrets.Create(ctx, st, "NEW_SECRET", "value"); err != nil {
					b.Fatal(err)
				}
				if err := st.Delete(ctx, "NEW_SECRET"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kv.name+"/read-all-100", func(b *testing.B) {
			st := benchStore(b, kv.mount)
			for b.Loop() {
				if all, err := secrets.GetAll(ctx, st); err != nil || len(all) != benchSecrets {
					b.Fatalf("GetAll: %d secrets, %v", len(all), err)
				}
			}
		})
		b.Run(kv.name+"/read-all-100-sequential", func(b *testing.B) {
			st := benchStore(b, kv.mount)
			for b.Loop() {
				names, err := st.List(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, n := range names {
					if _, err := st.Get(ctx, n); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkOpen measures opening a store, which detects the KV version of
// the mount with one request (none when kv_version is set).
func BenchmarkOpen(b *testing.B) {
	srv := sharedServer(b)
	for _, version := range []int{0, 2} {
		b.Run(fmt.Sprintf("kv_version=%d", version), func(b *testing.B) {
			e := srv.tokenEnv(b, srv.token)
			for b.Loop() {
				st, err := vault.Open(context.Background(), scope, vault.Options{KVVersion: version, Env: e})
				if err != nil {
					b.Fatal(err)
				}
				secrets.Close(st)
			}
		})
	}
}

// latencyProxy forwards to target, adding delay to every request: a
// stand-in for a Vault server across a network, where round trips rather
// than server CPU dominate.
func latencyProxy(b *testing.B, target string, delay time.Duration) string {
	u, err := url.Parse(target)
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// Keep connections to Vault open, as a client near it would.
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkVaultRemote reads all of 100 secrets through a proxy that adds
// 5 ms to each request (a Vault in another data centre): GetAll's bounded
// concurrent reads against one Get after another.
func BenchmarkVaultRemote(b *testing.B) {
	srv := sharedServer(b)
	ctx := context.Background()
	remote := srv
	remote.addr = latencyProxy(b, srv.addr, 5*time.Millisecond)
	prefix := "bench-remote/" + randomHex(6)
	seed := srv.open(b, vault.Options{Prefix: prefix}, scope)
	for i := range benchSecrets {
		if err := seed.Set(ctx, fmt.Sprintf("SECRET_%03d", i), "value"); err != nil {
			b.Fatal(err)
		}
	}
	far := remote.open(b, vault.Options{Prefix: prefix, Env: remote.tokenEnv(b, srv.token)}, scope)
	b.Run("read-all-100", func(b *testing.B) {
		for b.Loop() {
			if all, err := secrets.GetAll(ctx, far); err != nil || len(all) != benchSecrets {
				b.Fatalf("GetAll: %d, %v", len(all), err)
			}
		}
	})
	b.Run("read-all-100-sequential", func(b *testing.B) {
		for b.Loop() {
			names, err := far.List(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range names {
				if _, err := far.Get(ctx, n); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
