//go:build unix

package plugin

import (
	"context"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// BenchmarkBridge compares the file backend in-process with the same
// backend served by a program (this test binary): the cost of one call
// (Get, GetAll of 100) and of starting, opening and closing the program.
// Compare the ns/op of direct and plugin with benchstat or by eye.
func BenchmarkBridge(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	direct, err := file.Open(ctx, testScope, file.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer secrets.Close(direct)
	values := map[string]string{}
	for i := range 100 {
		values["K"+string(rune('A'+i/26))+string(rune('A'+i%26))] = "a value of some thirty bytes..."
	}
	if err := secrets.SetMany(ctx, direct, values, true); err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B) secrets.Store {
		s, err := testBackends().Open(ctx, secrets.OpenRequest{Scope: testScope, Backend: "file", Options: secrets.Options{"dir": dir}})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	bridged := open(b)
	defer secrets.Close(bridged)
	for _, s := range []struct {
		name  string
		store secrets.Store
	}{{"direct", direct}, {"plugin", bridged}} {
		b.Run("Get/"+s.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.store.Get(ctx, "KAA"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("GetAll100/"+s.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := secrets.GetAll(ctx, s.store); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("OpenListClose/plugin", func(b *testing.B) {
		for b.Loop() {
			s := open(b)
			if _, err := s.List(ctx); err != nil {
				b.Fatal(err)
			}
			if err := secrets.Close(s); err != nil {
				b.Fatal(err)
			}
		}
	})
}
