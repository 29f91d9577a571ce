//go:build linux

package reliability

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreOwnership runs the CLI as other users (setpriv, as root does
// in CI): a store directory or lock file another user owns is refused,
// naming it and the chown that fixes it; one root owns is accepted; and
// root is refused a store of another user, as OpenSSH's StrictModes does.
func TestStoreOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running as other users needs root, as in CI")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		if requireServices() {
			t.Fatal("setpriv is missing (apt-get install util-linux)")
		}
		t.Skip("setpriv is missing (apt-get install util-linux)")
	}
	const alice, bob = 12345, 12346
	s := newSandbox(t)
	for d := s.root; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	bin := filepath.Join(s.root, "bin", "dstack-secrets")
	copyFile(t, cliBin, bin, 0o755)
	os.Chmod(filepath.Dir(bin), 0o755)
	// alice's home and repository.
	home := filepath.Join(s.root, "alice")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(s.repo, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, alice, alice) })
	os.Chown(home, alice, alice)
	dir := filepath.Join(home, ".dstack", "secrets")
	lock := filepath.Join(dir, "default.lock")

	if r := asUser(t, bin, alice, s.repo, home, nil, "add", "A", "v"); r.code != 0 {
		t.Fatalf("alice's first secret: exit %d, %q", r.code, r.stderr)
	}
	// A store directory of root's that alice may read is used.
	os.Chown(dir, 0, 0)
	os.Chmod(dir, 0o755)
	if r := asUser(t, bin, alice, s.repo, home, nil, "list"); r.code != 0 || r.stdout != "A\n" {
		t.Errorf("alice with a store directory of root's: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	// One of bob's is not, even if bob lets everyone write it.
	os.Chown(dir, bob, bob)
	os.Chmod(dir, 0o777)
	if r := asUser(t, bin, alice, s.repo, home, nil, "add", "B", "v"); r.code != 1 || !strings.Contains(r.stderr, "store directory "+dir+" is owned by uid 12346") || !strings.Contains(r.stderr, "chown 12345 "+dir) {
		t.Errorf("alice with bob's store directory: exit %d, %q", r.code, r.stderr)
	}
	if r := asUser(t, bin, alice, s.repo, home, nil, "get", "A"); r.code != 1 || !strings.Contains(r.stderr, "owned by uid 12346") {
		t.Errorf("alice reading from bob's store directory: exit %d, %q", r.code, r.stderr)
	}
	os.Chown(dir, alice, alice)
	os.Chmod(dir, 0o700)
	// bob's lock file (which bob could hold forever) is refused too.
	os.Chown(lock, bob, bob)
	os.Chmod(lock, 0o666)
	if r := asUser(t, bin, alice, s.repo, home, nil, "add", "C", "v"); r.code != 1 || !strings.Contains(r.stderr, "lock file "+lock+" is owned by uid 12346") {
		t.Errorf("alice with bob's lock file: exit %d, %q", r.code, r.stderr)
	}
	os.Chown(lock, alice, alice)
	os.Chmod(lock, 0o600)
	// root (under sudo, keeping alice's HOME) is refused alice's store:
	// alice could change what root reads.
	s.home = home
	s.env = map[string]string{"SUDO_UID": "12345"}
	if r := s.run("", "list"); r.code != 1 || !strings.Contains(r.stderr, "store directory "+dir+" is owned by uid 12345") {
		t.Errorf("root with alice's store: exit %d, %q", r.code, r.stderr)
	}
	if r := asUser(t, bin, alice, s.repo, home, nil, "add", "D", "v"); r.code != 0 {
		t.Errorf("alice with her files back: exit %d, %q", r.code, r.stderr)
	}
}
