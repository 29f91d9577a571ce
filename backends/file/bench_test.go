package file

// Benchmarks of the file backend at several store sizes. They live in the
// internal test package so that a store of 100,000 secrets can be seeded
// with one write instead of 100,000 Sets.
//
//	go test -run '^$' -bench . -benchmem ./backends/file/
//	DSTACK_SECRETS_BENCH_SIZES=10,1000,10000,100000 go test -run '^$' -bench . ./backends/file/
//
// bench/run runs them with -count and benchstat and writes BENCHMARKS.md.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// benchScope is the scope every benchmark store uses.
var benchScope = secrets.Scope{Project: "bench", Repository: "github.com/org/repo"}

// benchSizes returns the store sizes to benchmark: DSTACK_SECRETS_BENCH_SIZES
// (comma-separated) or 10, 1,000 and 10,000.
func benchSizes(b *testing.B) []int {
	spec := os.Getenv("DSTACK_SECRETS_BENCH_SIZES")
	if spec == "" {
		return []int{10, 1000, 10000}
	}
	var sizes []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("DSTACK_SECRETS_BENCH_SIZES=%q: %q is not a positive number", spec, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// benchName is the name of the i-th seeded secret.
func benchName(i int) string { return fmt.Sprintf("SECRET_%06d", i) }

// benchValue is a 40-byte value, the size of a typical API token.
func benchValue(i int) string { return fmt.Sprintf("tok_%036d", i) }

// seedStore writes a store of n secrets in one write and returns a store
// opened on it (with a cold cache).
func seedStore(b *testing.B, n int) (dir string) {
	b.Helper()
	dir = b.TempDir()
	opened, err := Open(context.Background(), benchScope, Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	s := secrets.Unwrap(opened).(*Store)
	doc := document.New()
	for i := range n {
		doc.Set(benchScope.Repository, benchName(i), benchValue(i))
	}
	if err := s.ensureRecipients(context.Background(), false); err != nil {
		b.Fatal(err)
	}
	if err := s.write(doc, s.writeRecipients(0)); err != nil {
		b.Fatal(err)
	}
	return dir
}

func openBench(b *testing.B, dir string) secrets.Store {
	b.Helper()
	s, err := Open(context.Background(), benchScope, Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// eachSize runs fn as a sub-benchmark n=<size> for every size.
func eachSize(b *testing.B, fn func(b *testing.B, n int, dir string)) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			dir := seedStore(b, n)
			b.ResetTimer()
			fn(b, n, dir)
		})
	}
}

// BenchmarkOpen measures what a fresh process pays for its first read:
// Open, read the key file, decrypt and decode the whole store, list.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	eachSize(b, func(b *testing.B, n int, dir string) {
		for b.Loop() {
			s := openBench(b, dir)
			names, err := s.List(ctx)
			if err != nil || len(names) != n {
				b.Fatalf("List: %d names, %v", len(names), err)
			}
		}
	})
}

// BenchmarkList measures List on an open store whose file is unchanged
// (the cache is checked against the file's age header).
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	eachSize(b, func(b *testing.B, n int, dir string) {
		s := openBench(b, dir)
		if _, err := s.List(ctx); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if names, err := s.List(ctx); err != nil || len(names) != n {
				b.Fatalf("List: %d names, %v", len(names), err)
			}
		}
	})
}

// BenchmarkGet measures Get on an open store whose file is unchanged.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	eachSize(b, func(b *testing.B, n int, dir string) {
		s := openBench(b, dir)
		name := benchName(n / 2)
		if _, err := s.Get(ctx, name); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Get(ctx, name); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGetCold measures Open plus one Get: the cost of a get command.
func BenchmarkGetCold(b *testing.B) {
	ctx := context.Background()
	eachSize(b, func(b *testing.B, n int, dir string) {
		name := benchName(n / 2)
		for b.Loop() {
			if _, err := openBench(b, dir).Get(ctx, name); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSet measures replacing one secret's value: lock, decrypt (from
// the cache), re-encrypt the whole file, fsync, rename, fsync the directory.
func BenchmarkSet(b *testing.B) {
	ctx := context.Background()
	eachSize(b, func(b *testing.B, n int, dir string) {
		s := openBench(b, dir)
		name := benchName(n / 2)
		values := [2]string{"new-value-a", "new-value-b"}
		i := 0
		for b.Loop() {
			i++
			if err := s.Set(ctx, name, values[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSetCold measures Open plus one Set: the cost of an add -y
// command (decrypt and check the whole file, re-encrypt it, fsync, rename).
func BenchmarkSetCold(b *testing.B) {
	ctx := context.Background()
	eachSize(b, func(b *testing.B, n int, dir string) {
		name := benchName(n / 2)
		values := [2]string{"new-value-a", "new-value-b"}
		i := 0
		for b.Loop() {
			i++
			if err := openBench(b, dir).Set(ctx, name, values[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
