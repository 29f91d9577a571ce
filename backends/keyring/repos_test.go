package keyring_test

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestUnrecordedScope checks, in the file keychain, that secrets of a
// scope whose identity marker is missing (stored by an earlier version)
// are reported with a warning rather than listed under a made-up
// identity, and that the next write records the identity.
func TestUnrecordedScope(t *testing.T) {
	ctx := context.Background()
	opts := testOptions(t, keyring.File)
	var mu sync.Mutex
	var warnings []string
	opts.Env.Warn = func(msg string) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, msg)
	}
	sc := secrets.Scope{Project: "proj", Repository: "github.com/org/repo"}
	s, err := keyring.Open(ctx, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	if err := s.Set(ctx, "TOKEN", "v"); err != nil {
		t.Fatal(err)
	}
	markers, _ := filepath.Glob(filepath.Join(opts.FileDir, "proj", "*", "dstack-secrets.repository"))
	if len(markers) != 1 {
		t.Fatalf("markers: %q", markers)
	}
	if names, _ := s.List(ctx); len(names) != 1 || names[0] != "TOKEN" {
		t.Errorf("List shows the marker: %q", names)
	}
	if err := os.Remove(markers[0]); err != nil {
		t.Fatal(err)
	}
	got, err := secrets.Repositories(ctx, s)
	if err != nil || len(got) != 0 {
		t.Errorf("Repositories without the marker: %v, %v", got, err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "1 secret in directory "+filepath.Dir(markers[0])) || !strings.Contains(warnings[0], "not recorded") {
		t.Errorf("warnings: %q", warnings)
	}
	// A later process's write records it again.
	s2, err := keyring.Open(ctx, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s2)
	if err := s2.Set(ctx, "OTHER", "v"); err != nil {
		t.Fatal(err)
	}
	got, err = secrets.Repositories(ctx, s2)
	if err != nil || !maps.Equal(got, map[string]int{"github.com/org/repo": 2}) {
		t.Errorf("Repositories after a write: %v, %v", got, err)
	}
}
