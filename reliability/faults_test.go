//go:build linux

package reliability

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mount mounts or skips: a machine that refuses mounts (not root, or no
// CAP_SYS_ADMIN in a container) cannot run these tests, and that is a skip
// even under DSTACK_SECRETS_TEST_REQUIRE_SERVICES; any other failure fails.
// The mount is detached when the test ends.
func mount(t *testing.T, source, target, fstype string, flags uintptr, data string) {
	t.Helper()
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			t.Skipf("this machine refuses mounts (%v); the fault tests need root with CAP_SYS_ADMIN, as in CI", err)
		}
		t.Fatalf("mount %s on %s: %v", fstype, target, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(target, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", target, err)
		}
	})
}

// checkRefused runs a write that must fail with a clear error that
// mentions want, and checks that the store file is byte-identical and no
// temporary file is left.
func checkRefused(t *testing.T, s *sandbox, want string, stdin string, args ...string) {
	t.Helper()
	before, err := os.ReadFile(s.storePath())
	if err != nil {
		t.Fatal(err)
	}
	r := s.run(stdin, args...)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "dstack-secrets: ") || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("%s: want exit 1 and one line mentioning %q, got exit %d: %q", strings.Join(args[:2], " "), want, r.code, r.stderr)
	}
	after, err := os.ReadFile(s.storePath())
	if err != nil || !bytes.Equal(before, after) {
		t.Errorf("%s changed the store (err %v)", args[0], err)
	}
	if tmp := s.tempFiles(); len(tmp) > 0 {
		t.Errorf("%s left temporary files: %v", args[0], tmp)
	}
}

// TestFullDisk puts the store on a small tmpfs, fills it, and checks that
// writes fail with "no space left on device", reads still work, the store
// is unchanged, and writes work again once there is room.
func TestFullDisk(t *testing.T) {
	s := newSandbox(t)
	if err := os.MkdirAll(s.storeDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	mount(t, "tmpfs", s.storeDir(), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m,mode=0700")
	s.seed(20, func(i int) string { return strings.Repeat("v", 100+i) })

	filler := filepath.Join(s.storeDir(), "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()
	big := strings.Repeat("B", 60*1024)
	checkRefused(t, s, "no space left on device", "", "add", "NEW", "value")
	checkRefused(t, s, "no space left on device", "", "add", "-y", "SEED_0001", "other")
	checkRefused(t, s, "no space left on device", "", "delete", "-y", "SEED_0002")
	if r := s.run("", "list"); r.code != 0 || strings.Count(r.stdout, "\n") != 20 {
		t.Errorf("list on a full disk: exit %d, %q", r.code, r.stderr)
	}
	// Room for part of the new file only: the write fails half-way.
	fi, _ := os.Stat(filler)
	if err := os.Truncate(filler, fi.Size()-16*1024); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, s, "no space left on device", big, "add", "BIG")
	// Room again: writes work and nothing was lost.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s.mustRun(big, "add", "BIG")
	all, err := s.all()
	if err != nil || len(all) != 21 || all["BIG"] != big {
		t.Fatalf("after freeing space: %d secrets, %v", len(all), err)
	}
}

// TestReadOnlyDirectory makes the store directory read-only (a read-only
// bind mount: root ignores modes) and checks that writes fail clearly,
// reads work, and the store is unchanged.
func TestReadOnlyDirectory(t *testing.T) {
	s := newSandbox(t)
	s.seed(5, func(i int) string { return "value" })
	dir := s.storeDir()
	mount(t, dir, dir, "", unix.MS_BIND, "")
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
		t.Fatalf("remount read-only: %v", err)
	}
	checkRefused(t, s, "read-only file system", "", "add", "NEW", "value")
	checkRefused(t, s, "read-only file system", "", "add", "-y", "SEED_0001", "other")
	checkRefused(t, s, "read-only file system", "", "delete", "-y", "SEED_0002")
	if r := s.run("", "list"); r.code != 0 || strings.Count(r.stdout, "\n") != 5 {
		t.Errorf("list on a read-only directory: exit %d, %q", r.code, r.stderr)
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND, ""); err != nil {
		t.Fatalf("remount read-write: %v", err)
	}
	s.mustRun("", "add", "NEW", "value")
}
