//go:build unix

package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/bench/internal/seed"
	"github.com/dstackai/dstack-secrets/secrets"
)

// openVault opens a Vault store on the server named by
// DSTACK_SECRETS_TEST_VAULT_ADDR and _TOKEN (scripts/services/vault.sh
// starts one), under prefix, in layout; it skips the benchmark without a
// server.
func openVault(b *testing.B, prefix, layout string) secrets.Store {
	b.Helper()
	addr, token := os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")
	if addr == "" {
		b.Skip("no Vault server: set DSTACK_SECRETS_TEST_VAULT_ADDR and _TOKEN (bench/run starts one)")
	}
	s, err := vault.Open(context.Background(), scope, vault.Options{
		Address: addr, Token: token, Mount: "secret", Prefix: prefix, Layout: layout,
		Env: secrets.Env{Getenv: func(string) string { return "" }, HomeDir: b.TempDir()},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { secrets.Close(s) })
	return s
}

// vaultSeeded caches which prefixes hold n secrets already.
var vaultSeeded = map[string]bool{}

// vaultStore returns a store whose repository holds n secrets in layout,
// seeded in one batch.
func vaultStore(b *testing.B, n int, layout string) secrets.Store {
	prefix := fmt.Sprintf("bench-%d", n)
	if layout == vault.LayoutBundle {
		prefix = fmt.Sprintf("bench-bundle-%d", n)
	}
	s := openVault(b, prefix, layout)
	if !vaultSeeded[prefix] {
		all := make(map[string]string, n)
		for i := range n {
			all[seed.Name(i)] = seed.Value(i)
		}
		if err := secrets.SetMany(context.Background(), s, all, true); err != nil {
			b.Fatal(err)
		}
		vaultSeeded[prefix] = true
	}
	return s
}

// cpuMeter reports, per operation, the CPU time this process (the client)
// and the Vault server (DSTACK_SECRETS_BENCH_VAULT_PID, set by bench/run)
// spent: with both on one machine, their sum over the core count bounds how
// fast a read of everything can be.
type cpuMeter struct {
	vaultPID       string
	startC, startS time.Duration
}

func newCPUMeter() *cpuMeter { return &cpuMeter{vaultPID: os.Getenv("DSTACK_SECRETS_BENCH_VAULT_PID")} }

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU reads utime+stime of the Vault process (clock ticks of 10 ms).
func (m *cpuMeter) serverCPU() time.Duration {
	if m.vaultPID == "" {
		return 0
	}
	data, err := os.ReadFile("/proc/" + m.vaultPID + "/stat")
	if err != nil {
		return 0
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

func (m *cpuMeter) start() { m.startC, m.startS = processCPU(), m.serverCPU() }

func (m *cpuMeter) report(b *testing.B) {
	n := float64(b.N)
	b.ReportMetric(float64(processCPU()-m.startC)/1e6/n, "client-cpu-ms/op")
	if m.vaultPID != "" {
		b.ReportMetric(float64(m.serverCPU()-m.startS)/1e6/n, "vault-cpu-ms/op")
	}
}

// vaultOps are the measured operations on a store of n secrets.
func vaultOps(b *testing.B, ctx context.Context, s secrets.Store, n int, sequential bool) {
	run := func(name string, op func() error) {
		b.Run(name, func(b *testing.B) {
			m := newCPUMeter()
			m.start()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b)
		})
	}
	run(fmt.Sprintf("n=%d/op=get-one", n), func() error { _, err := s.Get(ctx, seed.Name(n/2)); return err })
	run(fmt.Sprintf("n=%d/op=list", n), func() error {
		names, err := s.List(ctx)
		if err == nil && len(names) != n {
			err = fmt.Errorf("listed %d names", len(names))
		}
		return err
	})
	run(fmt.Sprintf("n=%d/op=read-all", n), func() error {
		all, err := secrets.GetAll(ctx, s)
		if err == nil && len(all) != n {
			err = fmt.Errorf("read %d secrets", len(all))
		}
		return err
	})
	if sequential {
		run(fmt.Sprintf("n=%d/op=read-all-sequential", n), func() error {
			names, err := s.List(ctx)
			for _, name := range names {
				if err == nil {
					_, err = s.Get(ctx, name)
				}
			}
			return err
		})
	}
}

// BenchmarkVault measures the entry layout (a KV entry per secret) on an
// open store of a repository holding 100 and 1,000 secrets: one Get (the
// unit: one read of one single-secret entry), List, GetAll (what run does:
// one LIST, then reads 16 at a time) and, at 100, the same reads one after
// another; with the client's and the server's CPU time per operation.
// (List reads every entry too, so that entries it must leave out, soft-
// deleted or written by other tools, are left out.)
func BenchmarkVault(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 1000} {
		vaultOps(b, ctx, vaultStore(b, n, vault.LayoutEntry), n, n == 100)
	}
}

// BenchmarkVaultBundle is BenchmarkVault for the bundle layout (all secrets
// of the repository as the fields of one KV entry): every operation is one
// read of that entry. Compare its read-all with BenchmarkVault's get-one,
// one read of a single-secret entry, in the same run.
func BenchmarkVaultBundle(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{100, 1000} {
		vaultOps(b, ctx, vaultStore(b, n, vault.LayoutBundle), n, false)
	}
}

// BenchmarkVaultAdd measures adding one secret (Create, then Delete to
// keep the repository as it was) to a repository of 100 secrets in each
// layout, on an open store: entry is one check for an interrupted batch
// and one check-and-set write; bundle reads the entry of 100 secrets and
// writes it back with check-and-set. (Whole processes against `vault kv
// put`: bench/parts/vault.sh.)
func BenchmarkVaultAdd(b *testing.B) {
	ctx := context.Background()
	for _, layout := range []string{vault.LayoutEntry, vault.LayoutBundle} {
		s := vaultStore(b, 100, layout)
		b.Run("layout="+layout+"/n=100/op=add+delete", func(b *testing.B) {
			m := newCPUMeter()
			m.start()
			for b.Loop() {
				if err := secrets.Create(ctx, s, "BENCH_NEW", "tok_0123456789abcdef0123456789abcdef0123"); err != nil {
					b.Fatal(err)
				}
				if err := s.Delete(ctx, "BENCH_NEW"); err != nil {
					b.Fatal(err)
				}
			}
			m.report(b)
		})
	}
}

// BenchmarkVaultRemote is BenchmarkVault at 100 secrets through a proxy
// that adds 5 ms before each response, as for a Vault in another data
// centre: there GetAll's concurrency, not CPU, decides (and the bundle
// layout's single read).
func BenchmarkVaultRemote(b *testing.B) {
	addr := latencyProxy(b, os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), 5*time.Millisecond)
	for _, layout := range []string{vault.LayoutEntry, vault.LayoutBundle} {
		seeded := vaultStore(b, 100, layout) // seeds the repository of 100
		prefix := "bench-100"
		if layout == vault.LayoutBundle {
			prefix = "bench-bundle-100"
		}
		_ = seeded
		s, err := vault.Open(context.Background(), scope, vault.Options{
			Address: addr, Token: os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN"), Mount: "secret", Prefix: prefix, Layout: layout,
			Env: secrets.Env{Getenv: func(string) string { return "" }, HomeDir: b.TempDir()},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { secrets.Close(s) })
		if layout == vault.LayoutEntry {
			vaultOps(b, context.Background(), s, 100, true)
		} else {
			b.Run("layout=bundle", func(b *testing.B) { vaultOps(b, context.Background(), s, 100, false) })
		}
	}
}

// latencyProxy forwards to target, holding each response for delay.
func latencyProxy(b *testing.B, target string, delay time.Duration) string {
	u, err := url.Parse(target)
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(*http.Response) error { time.Sleep(delay); return nil }
	srv := httptest.NewServer(rp)
	b.Cleanup(srv.Close)
	return srv.URL
}
