//go:build unix

package file_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// isLink reports whether path is still a symbolic link to target.
func isLink(t *testing.T, path, target string) bool {
	t.Helper()
	got, err := os.Readlink(path)
	return err == nil && got == target
}

// TestSymlinksRefused: a store file, key file or lock file that is a
// symbolic link (to the real file moved elsewhere) is refused by every
// operation that uses it; the link is not replaced and its target not
// changed.
func TestSymlinksRefused(t *testing.T) {
	for _, name := range []string{"proj.age", "proj.key", "proj.lock"} {
		t.Run(name, func(t *testing.T) {
			dir, _ := seeded(t)
			link := filepath.Join(dir, name)
			target := filepath.Join(t.TempDir(), name)
			if err := os.Rename(link, target); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(target)
			want := "is a symbolic link (to " + target + ")"
			if name == "proj.lock" {
				// Only writers take the lock.
				err := open(t, dir).Set(context.Background(), "NEW", "v")
				if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "lock file "+link+" "+want) {
					t.Errorf("Set: %v", err)
				}
			} else {
				checkRefused(t, dir, secrets.ErrPermission, want)
			}
			if !isLink(t, link, target) {
				t.Errorf("the link was replaced")
			}
			if after, _ := os.ReadFile(target); !bytes.Equal(before, after) {
				t.Errorf("the link's target changed")
			}
		})
	}
}

// TestDanglingSymlinks: in a new store directory, a store file, key file
// or lock file that is a link to a missing file makes the first write
// fail: nothing is created where the link points, and the link stays.
func TestDanglingSymlinks(t *testing.T) {
	for _, name := range []string{"proj.age", "proj.key", "proj.lock"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "secrets")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "elsewhere", name)
			os.MkdirAll(filepath.Dir(target), 0o700)
			link := filepath.Join(dir, name)
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			err := open(t, dir).Set(context.Background(), "NEW", "v")
			if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), link+" is a symbolic link") {
				t.Errorf("Set: %v", err)
			}
			if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a file was created where the link points: %v", err)
			}
			if !isLink(t, link, target) {
				t.Errorf("the link was replaced")
			}
		})
	}
}

// TestIdentityFileSymlink: an identity_file given explicitly may be a
// link (the user named that path): it is followed, and its target is
// checked as a key file; a link to a missing file is refused, and no key
// is created through it.
func TestIdentityFileSymlink(t *testing.T) {
	ctx := context.Background()
	keys := t.TempDir()
	real := filepath.Join(keys, "real.key")
	link := filepath.Join(keys, "link.key")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	openKey := func(dir string) secrets.Store {
		s, err := file.Open(ctx, scope, file.Options{Dir: dir, IdentityFile: link})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dir := t.TempDir()
	if err := openKey(dir).Set(ctx, "A", "v"); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "identity_file "+link+" is a symbolic link to "+real+", which does not exist") {
		t.Errorf("Set with a dangling identity_file link: %v", err)
	}
	if _, err := os.Lstat(real); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key was created through the link: %v", err)
	}
	// A key of its own, reached through the link, is used.
	other, _ := seeded(t)
	key, _ := os.ReadFile(filepath.Join(other, "proj.key"))
	write(t, real, key)
	s := openKey(other)
	if got, err := s.Get(ctx, "SEED"); err != nil || got != marker {
		t.Errorf("Get through an identity_file link: mismatch (%v)", err)
	}
	if err := s.Set(ctx, "B", "v"); err != nil {
		t.Errorf("Set through an identity_file link: %v", err)
	}
	// The target is checked as a key file.
	os.Chmod(real, 0o644)
	if _, err := openKey(other).List(ctx); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("identity_file link to a key others can read: %v", err)
	}
}

// TestStoreDirSymlink: the store directory may be a link; its target is
// what the ownership checks look at.
func TestStoreDirSymlink(t *testing.T) {
	ctx := context.Background()
	real := filepath.Join(t.TempDir(), "real")
	link := filepath.Join(t.TempDir(), "secrets")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := open(t, link).Set(ctx, "A", "v"); err != nil {
		t.Fatalf("Set in a linked store directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(real, "proj.age")); err != nil {
		t.Errorf("store not in the link's target: %v", err)
	}
	os.Chmod(real, 0o777)
	if _, err := open(t, link).List(ctx); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("linked store directory others can write: %v", err)
	}
}
