package redact

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"testing"

	"github.com/dstackai/dstack-secrets/internal/maskgen"
)

// benchInput is 32 MiB of log-like text with a value in about one line in
// 1,000, and the 1,000 32-byte secrets it uses.
func benchInput(b *testing.B, n, size int) ([]byte, map[string]string) {
	b.Helper()
	secrets := maskgen.Secrets(n, size, 1)
	var in bytes.Buffer
	if err := maskgen.Log(&in, 32<<20, slices.Collect(maps.Values(secrets)), 1000, 2); err != nil {
		b.Fatal(err)
	}
	return in.Bytes(), secrets
}

// BenchmarkWriter is the throughput of the streaming filter, written to in
// 32 KiB pieces (as Copy reads a pipe), with encodings on.
func BenchmarkWriter(b *testing.B) {
	for _, c := range []struct{ n, size int }{{1000, 32}, {100, 32}, {1000, 8}} {
		b.Run(fmt.Sprintf("secrets=%d/len=%d", c.n, c.size), func(b *testing.B) {
			in, secrets := benchInput(b, c.n, c.size)
			r := New(secrets, Options{IdleFlush: -1})
			b.SetBytes(int64(len(in)))
			b.ResetTimer()
			for b.Loop() {
				w := r.NewWriter(io.Discard)
				for p := in; len(p) > 0; {
					n := min(len(p), 32<<10)
					if _, err := w.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew is the cost of building a Redactor for 1,000 32-byte
// secrets and its matcher, paid once by a run whose command prints
// something.
func BenchmarkNew(b *testing.B) {
	secrets := maskgen.Secrets(1000, 32, 1)
	for b.Loop() {
		New(secrets, Options{}).matcher()
	}
}

// BenchmarkNewSmall is the cost of a Redactor for the 10 40-byte secrets
// of a small repository: New alone (what every run pays), and with its
// matcher (what a run whose command prints something pays).
func BenchmarkNewSmall(b *testing.B) {
	secrets := maskgen.Secrets(10, 40, 1)
	b.Run("new", func(b *testing.B) {
		for b.Loop() {
			New(secrets, Options{})
		}
	})
	b.Run("matcher", func(b *testing.B) {
		for b.Loop() {
			New(secrets, Options{}).matcher()
		}
	})
}
