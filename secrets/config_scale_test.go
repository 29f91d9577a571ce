package secrets_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// manyProjects returns a configuration with n projects.
func manyProjects(n int) []byte {
	var b strings.Builder
	b.WriteString("projects:\n")
	for i := range n {
		fmt.Fprintf(&b, "  p%06d:\n    backend: file\n", i)
	}
	return []byte(b.String())
}

// BenchmarkParseConfig parses configurations of 1,000 to 40,000 projects.
// Parsing is linear: the ns/op of 40000 is about 4 times that of 10000
// (it was about 16 times while every project was compared with every
// earlier one).
func BenchmarkParseConfig(b *testing.B) {
	for _, n := range []int{1000, 10000, 40000} {
		doc := manyProjects(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if _, err := secrets.ParseConfig(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzParseConfigLarge parses big documents: n generated projects (up to
// 8,000) around a fuzzed fragment, and the fragment repeated. The parse
// must end (linear time keeps the fuzzer going) with a valid configuration
// or an error, never a panic.
func FuzzParseConfigLarge(f *testing.F) {
	f.Add([]byte("  Team:\n    backend: file\n  team:\n    backend: file\n"), uint16(3000))
	f.Add([]byte("  x:\n    backend: vault\n    options: {mount: kv}\n"), uint16(8000))
	f.Add([]byte("default_project: p000001\n"), uint16(2))
	f.Fuzz(func(t *testing.T, fragment []byte, n uint16) {
		if len(fragment) > 4096 {
			return
		}
		count := int(n) % 8001
		doc := manyProjects(count)
		half := len(doc) / 2
		if i := strings.Index(string(doc[half:]), "\n  p"); i >= 0 {
			half += i + 1
		}
		big := append(append(append([]byte{}, doc[:half]...), fragment...), doc[half:]...)
		for _, data := range [][]byte{big, []byte(strings.Repeat(string(fragment), 50))} {
			cfg, err := secrets.ParseConfig(data)
			if err != nil {
				continue
			}
			if len(cfg.Projects) == 0 {
				t.Fatalf("a parsed configuration has no projects")
			}
			folded := map[string]bool{}
			for name, pc := range cfg.Projects {
				if secrets.ValidateProject(name) != nil || pc.Backend == "" {
					t.Fatalf("invalid project %q accepted: %+v", name, pc)
				}
				if folded[strings.ToLower(name)] {
					t.Fatalf("projects differing only in case accepted: %q", name)
				}
				folded[strings.ToLower(name)] = true
			}
		}
	})
}
