package document

// Benchmarks of the two ways to seal a store that issue 15 asked to
// compare, on n secrets of 40 bytes in one repository:
//
//   - sealing=document: what this package does, one age encryption of the
//     whole document, read lazily (age.DecryptReaderAt);
//   - sealing=per-value: every value its own age encryption (X25519), the
//     names and the sealed values in a clear container, as sops and
//     per-item keychains do. Only the age operations are measured for it
//     (the container's own cost is left out, in its favour).
//
//	go test -run '^$' -bench Sealing -benchmem ./internal/document/
//	DSTACK_SECRETS_BENCH_SIZES=1000,100000 go test -run '^$' -bench Sealing ./internal/document/

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"filippo.io/age"
)

func benchSizes(b *testing.B) []int {
	spec := os.Getenv("DSTACK_SECRETS_BENCH_SIZES")
	if spec == "" {
		return []int{1000}
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

func benchName(i int) string  { return fmt.Sprintf("SECRET_%06d", i) }
func benchValue(i int) string { return fmt.Sprintf("tok_%036d", i) }

const benchRepo = "github.com/org/repo"

// sealValue is per-value sealing of one value.
func sealValue(b *testing.B, v string, r age.Recipient) []byte {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		b.Fatal(err)
	}
	io.WriteString(w, v)
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func openValue(b *testing.B, sealed []byte, id age.Identity) {
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkSealing(b *testing.B) {
	id := newKey(b)
	for _, n := range benchSizes(b) {
		d := New()
		for i := range n {
			d.Set(benchRepo, benchName(i), benchValue(i))
		}
		var buf bytes.Buffer
		if err := d.Encrypt(&buf, id.Recipient()); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		open := func() *Document {
			r, err := Decrypt(bytes.NewReader(data), int64(len(data)), id)
			if err != nil {
				b.Fatal(err)
			}
			return r
		}
		name := benchName(n / 2)
		b.Run(fmt.Sprintf("sealing=document/op=list/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if names, err := open().List(benchRepo); err != nil || len(names) != n {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(data))/float64(n), "stored-B/secret")
		})
		b.Run(fmt.Sprintf("sealing=document/op=get/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, ok, err := open().Get(benchRepo, name); err != nil || !ok {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("sealing=document/op=getall/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := open().GetAll(benchRepo); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("sealing=document/op=set/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				r := open()
				r.Set(benchRepo, name, "new-value")
				if err := r.Encrypt(io.Discard, id.Recipient()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("sealing=document/op=seal-all/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if err := d.Encrypt(io.Discard, id.Recipient()); err != nil {
					b.Fatal(err)
				}
			}
		})

		// Per-value sealing: the age work of each operation.
		one := sealValue(b, benchValue(n/2), id.Recipient())
		b.Run(fmt.Sprintf("sealing=per-value/op=get/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				openValue(b, one, id)
			}
			// The sealed value in base64 with its name in a JSON container.
			b.ReportMetric(float64((len(one)+2)/3*4+len(name)+6), "stored-B/secret")
		})
		b.Run(fmt.Sprintf("sealing=per-value/op=getall/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				for range n {
					openValue(b, one, id)
				}
			}
		})
		b.Run(fmt.Sprintf("sealing=per-value/op=set/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				sealValue(b, "new-value", id.Recipient())
			}
		})
		b.Run(fmt.Sprintf("sealing=per-value/op=seal-all/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				for i := range n {
					sealValue(b, benchValue(i), id.Recipient())
				}
			}
		})
	}
}
