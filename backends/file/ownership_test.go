//go:build unix

package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// otherUID is a user id nobody on the test machine has.
const otherUID = 12345

// TestStoreFileModes: a store directory, store file, key file or lock file
// that others can write is refused, with the chmod that fixes it, before
// anything is read or written; a sticky bit (as on /tmp) does not make a
// store directory others can write acceptable.
func TestStoreFileModes(t *testing.T) {
	for _, tc := range []struct {
		file string
		mode os.FileMode
		what string
	}{
		{"", 0o777, "store directory"},
		{"", os.ModeSticky | 0o777, "store directory"},
		{"", 0o703, "store directory"},
		{"proj.age", 0o606, "store file"},
		{"proj.key", 0o602, "key file"},
	} {
		t.Run(tc.what+" "+tc.mode.String(), func(t *testing.T) {
			dir, _ := seeded(t)
			path := filepath.Join(dir, tc.file)
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			checkRefused(t, dir, secrets.ErrPermission, tc.what+" "+filepath.Clean(path)+" can be written by other users")
		})
	}
	// The lock file is only taken by writers.
	dir, _ := seeded(t)
	lock := filepath.Join(dir, "proj.lock")
	os.Chmod(lock, 0o666)
	if err := open(t, dir).Set(context.Background(), "NEW", "v"); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "chmod go-w "+lock) {
		t.Errorf("Set with a lock file others can write: %v", err)
	}
}

// TestStoreFileOwners: a store directory, store file, key file or lock
// file another user owns is refused, as is one a group other than the
// user's private group can write.
func TestStoreFileOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root (chown), as in CI")
	}
	for _, tc := range []struct {
		file, what string
		gid        int
		mode       os.FileMode
		want       string
	}{
		{"", "store directory", otherUID, 0o700, "owned by uid 12345"},
		{"proj.age", "store file", otherUID, 0o600, "owned by uid 12345"},
		{"proj.key", "key file", otherUID, 0o600, "owned by uid 12345"},
		{"proj.lock", "lock file", otherUID, 0o600, "owned by uid 12345"},
		{"", "store directory", -1, 0o770, "mode 0770"},
	} {
		t.Run(tc.what+" "+tc.want, func(t *testing.T) {
			dir, _ := seeded(t)
			path := filepath.Join(dir, tc.file)
			uid := otherUID
			if tc.gid < 0 {
				uid = 0 // root's file, writable by another group
			}
			if err := os.Chown(path, uid, otherUID); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tc.mode)
			mention := tc.what + " " + filepath.Clean(path)
			if tc.file == "proj.lock" {
				err := open(t, dir).Set(context.Background(), "NEW", "v")
				if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), mention) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("Set: %v", err)
				}
				return
			}
			checkRefused(t, dir, secrets.ErrPermission, mention)
			_, err := open(t, dir).List(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("List: %v, want %q", err, tc.want)
			}
		})
	}
}
