//go:build linux

package reliability

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// asUser runs the CLI as uid/gid id with setpriv, in dir, with HOME home
// and the extra environment env.
func asUser(t *testing.T, bin string, id int, dir, home string, env []string, args ...string) result {
	t.Helper()
	u := strconv.Itoa(id)
	cmd := exec.Command("setpriv", append([]string{"--reuid=" + u, "--regid=" + u, "--clear-groups", "--", bin}, args...)...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8", "GIT_CONFIG_NOSYSTEM=1"}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("setpriv: %v", err)
	}
	return result{code, out.String(), errb.String()}
}

// TestOwnership runs the CLI as other users (setpriv, as root does in CI):
// a repository owned by someone else is refused as git refuses it until
// git's safe.directory names it; a configuration file owned by another
// user (not root) is refused, one owned by root is not.
func TestOwnership(t *testing.T) {
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
	// Let other users reach the sandbox and run the CLI.
	for d := s.root; d != filepath.Dir(d) && strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	bin := filepath.Join(s.root, "bin", "dstack-secrets")
	copyFile(t, cliBin, bin, 0o755)
	os.Chmod(filepath.Dir(bin), 0o755)
	home := filepath.Join(s.root, "alice")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chown(home, alice, alice)

	// The sandbox repository belongs to root: alice may not use it.
	r := asUser(t, bin, alice, s.repo, home, nil, "add", "A", "v")
	if r.code != 1 || !strings.Contains(r.stderr, "dubious ownership in repository at "+s.repo) || !strings.Contains(r.stderr, "safe.directory "+s.repo) {
		t.Errorf("alice in root's repository: exit %d, %q", r.code, r.stderr)
	}
	gitcfg := filepath.Join(s.root, "alice.gitconfig")
	writeFile(t, gitcfg, "[safe]\n\tdirectory = "+s.repo+"\n", 0o644)
	if r := asUser(t, bin, alice, s.repo, home, []string{"GIT_CONFIG_GLOBAL=" + gitcfg}, "add", "A", "v"); r.code != 0 {
		t.Errorf("alice with safe.directory: exit %d, %q", r.code, r.stderr)
	}

	// Configuration files: root's is trusted, bob's is not.
	cfg := filepath.Join(s.root, "cfg", "secrets.yml")
	writeFile(t, cfg, "projects:\n  default:\n    backend: file\n", 0o644)
	os.Chmod(filepath.Dir(cfg), 0o755)
	env := []string{"GIT_CONFIG_GLOBAL=" + gitcfg, "DSTACK_SECRETS_CONFIG=" + cfg}
	if r := asUser(t, bin, alice, s.repo, home, env, "list"); r.code != 0 || r.stdout != "A\n" {
		t.Errorf("alice with root's configuration: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	os.Chown(cfg, bob, bob)
	if r := asUser(t, bin, alice, s.repo, home, env, "list"); r.code != 1 || !strings.Contains(r.stderr, "owned by uid 12346") {
		t.Errorf("alice with bob's configuration: exit %d, %q", r.code, r.stderr)
	}
	// And root with alice's.
	os.Chown(cfg, alice, alice)
	s.env = map[string]string{"DSTACK_SECRETS_CONFIG": cfg}
	if r := s.run("", "list"); r.code != 1 || !strings.Contains(r.stderr, "owned by uid 12345") {
		t.Errorf("root with alice's configuration: exit %d, %q", r.code, r.stderr)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
