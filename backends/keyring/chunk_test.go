package keyring

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// openFileModule opens the real "file" keychain of the keyring module in a
// temporary directory, and returns it with the store Open would return
// around it.
func openFileModule(t *testing.T) (*module, secrets.Store) {
	t.Helper()
	scope := secrets.Scope{Project: "internal", Repository: "example.com/org/repo"}
	opts := Options{Keychains: []string{File}, FileDir: t.TempDir()}
	opts.Env.Getenv = func(k string) string {
		if k == PasswordEnvVar {
			return "test password"
		}
		return ""
	}
	if err := opts.normalize(); err != nil {
		t.Fatal(err)
	}
	kc, err := openModule(context.Background(), File, scope, &opts)
	if err != nil {
		t.Fatal(err)
	}
	m := kc.(*module)
	s := secrets.Wrap(&Store{kc: m, keychain: File, timeout: time.Minute}, secrets.Info{Backend: Name, Scope: scope})
	t.Cleanup(func() { _ = secrets.Close(s) })
	return m, s
}

// keys lists the raw keys of the module's keychain, except the scope's
// identity marker (repos.go).
func keys(t *testing.T, m *module) []string {
	t.Helper()
	k, err := m.ring.Keys()
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(k, func(key string) bool { return key == scopeMarkerKey })
}

func TestChunkHead(t *testing.T) {
	for _, data := range []string{"plain value", chunkMagic, chunkMagic + "n:0:s", chunkMagic + "n:x:s", chunkMagic + "n:2", chunkMagic + "n:1025:s"} {
		if _, ok := parseChunkHead([]byte(data)); ok {
			t.Errorf("parseChunkHead(%q) accepted a malformed head", data)
		}
	}
	h, ok := parseChunkHead([]byte(chunkMagic + "abcd:3:ff"))
	if !ok || h.nonce != "abcd" || h.n != 3 || h.sum != "ff" {
		t.Errorf("parseChunkHead = %+v, %v", h, ok)
	}
}

// TestChunkedValues stores values past a small item limit in the real file
// keychain: they come back whole, List shows only the names, and replacing
// or deleting a value leaves no chunk behind. (With keyctl the conformance
// suite's 64 KiB value takes the same path.)
func TestChunkedValues(t *testing.T) {
	m, s := openFileModule(t)
	m.maxData = 10
	ctx := context.Background()
	long := strings.Repeat("0123456789", 3) + "abcde" // 4 chunks
	for _, name := range []string{"UPPER", "lower"} {
		if err := s.Set(ctx, name, long); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(keys(t, m)); n != 2*(1+4) {
		t.Errorf("%d items in the keychain, want 2 heads and 8 chunks", n)
	}
	names, err := s.List(ctx)
	if err != nil || strings.Join(names, ",") != "UPPER,lower" {
		t.Errorf("List = %v, %v; want [UPPER lower] (no chunk keys)", names, err)
	}
	for _, name := range names {
		if v, err := s.Get(ctx, name); err != nil || v != long {
			t.Errorf("Get(%s): %d bytes, %v; want the %d-byte value (mismatch)", name, len(v), err, len(long))
		}
	}
	// Replaced by a short value: the old chunks are gone.
	if err := s.Set(ctx, "UPPER", "short"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "UPPER"); err != nil || v != "short" {
		t.Errorf("Get(UPPER) after replacing: %d bytes, %v (mismatch)", len(v), err)
	}
	// Replaced by another long value: the first value's chunks are gone.
	if err := s.Set(ctx, "lower", long+"f"); err != nil {
		t.Fatal(err)
	}
	if n := len(keys(t, m)); n != 1+1+4 {
		t.Errorf("%d items in the keychain after replacing, want 2 heads and 4 chunks", n)
	}
	for _, name := range []string{"UPPER", "lower"} {
		if err := s.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if k := keys(t, m); len(k) != 0 {
		t.Errorf("%d items left in the keychain after deleting every secret", len(k))
	}
}

// TestChunkMissing checks that a value whose chunk vanished (as under a
// concurrent Set) is reported as a conflict, not returned in part.
func TestChunkMissing(t *testing.T) {
	m, s := openFileModule(t)
	m.maxData = 10
	ctx := context.Background()
	if err := s.Set(ctx, "NAME", strings.Repeat("x", 25)); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys(t, m) {
		if strings.HasSuffix(k, ".1") {
			if err := m.ring.Remove(k); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, err := s.Get(ctx, "NAME")
	if !errors.Is(err, secrets.ErrConflict) {
		t.Fatalf("Get of a value with a chunk missing: got %v, want secrets.ErrConflict", err)
	}
	if !strings.Contains(err.Error(), "keychain file") || !strings.Contains(err.Error(), "NAME") {
		t.Errorf("error %q does not name the keychain and the secret", err)
	}
}
