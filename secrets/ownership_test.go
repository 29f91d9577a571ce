//go:build unix

package secrets_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// otherUID is a user id nobody on the test machine has.
const otherUID = 12345

// needRoot skips a test that gives files to another user.
func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root (chown), as in CI")
	}
}

const oneProject = "projects:\n  p:\n    backend: file\n"

// TestConfigFileModes: a configuration file, or its directory, that other
// users can write is refused with the chmod that fixes it.
func TestConfigFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cfg")
	path := filepath.Join(dir, "secrets.yml")
	write(t, path, oneProject)
	if _, err := secrets.LoadConfig(path); err != nil {
		t.Fatalf("a private file: %v", err)
	}
	os.Chmod(path, 0o666)
	if _, err := secrets.LoadConfig(path); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "chmod go-w "+path) {
		t.Errorf("a file everyone can write: %v", err)
	}
	os.Chmod(path, 0o644)
	os.Chmod(dir, 0o777)
	if _, err := secrets.LoadConfig(path); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "chmod go-w "+dir) {
		t.Errorf("a directory everyone can write: %v", err)
	}
	os.Chmod(dir, os.ModeSticky|0o777) // like /tmp: others cannot replace the file
	if _, err := secrets.LoadConfig(path); err != nil {
		t.Errorf("a directory with the sticky bit: %v", err)
	}
}

// TestConfigFileOwner: a configuration file another user owns is refused,
// as is one whose group (not the user's private group) can write it.
func TestConfigFileOwner(t *testing.T) {
	needRoot(t)
	path := filepath.Join(t.TempDir(), "secrets.yml")
	write(t, path, oneProject)
	if err := os.Chown(path, otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
	if _, err := secrets.LoadConfig(path); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "owned by uid 12345") {
		t.Errorf("a file of another user: %v", err)
	}
	os.Chown(path, 0, otherUID)
	os.Chmod(path, 0o664)
	if _, err := secrets.LoadConfig(path); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "mode 0664") {
		t.Errorf("a file another group can write: %v", err)
	}
}

// TestRepositoryOwner: a repository another user owns is refused as git
// refuses it, unless git's safe.directory names it (or "*"); an empty
// value resets the list.
func TestRepositoryOwner(t *testing.T) {
	needRoot(t)
	top := filepath.Join(t.TempDir(), "repo")
	write(t, filepath.Join(top, ".git", "HEAD"), "ref: refs/heads/main\n")
	write(t, filepath.Join(top, ".git", "config"), "[remote \"origin\"]\n\turl = git@github.com:org/repo.git\n")
	if id, err := secrets.DetectRepository(top); err != nil || id != "github.com/org/repo" {
		t.Fatalf("own repository: %q %v", id, err)
	}
	if err := os.Chown(filepath.Join(top, ".git"), otherUID, otherUID); err != nil {
		t.Fatal(err)
	}
	gitcfg := filepath.Join(t.TempDir(), "gitconfig")
	t.Setenv("GIT_CONFIG_GLOBAL", gitcfg)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("SUDO_UID", "")
	_, err := secrets.DetectRepository(filepath.Join(top))
	if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "dubious ownership") || !strings.Contains(err.Error(), "git config --global --add safe.directory "+top) {
		t.Errorf("a repository of another user: %v", err)
	}
	for content, ok := range map[string]bool{
		"[safe]\n\tdirectory = " + top + "\n":                 true,
		"[safe]\n\tdirectory = *\n":                           true,
		"[safe]\n\tdirectory = " + filepath.Dir(top) + "/*\n": true,
		"[safe]\n\tdirectory = *\n\tdirectory =\n":            false,
		"[safe]\n\tdirectory = /somewhere/else\n":             false,
		"[Safe]\n\tDirectory = \"" + top + "\"\n":             true,
		"[core]\n\tdirectory = *\n[safe]\n\tother = " + top:   false,
	} {
		write(t, gitcfg, content)
		_, err := secrets.DetectRepository(top)
		if (err == nil) != ok {
			t.Errorf("safe.directory %q: %v, want allowed %v", content, err, ok)
		}
	}
	// Under sudo, root may use the repositories of the user it runs for.
	write(t, gitcfg, "")
	t.Setenv("SUDO_UID", "12345")
	if _, err := secrets.DetectRepository(top); err != nil {
		t.Errorf("root under sudo for the owner: %v", err)
	}
}

// TestCheckOwnership: a file another user owns, or others can write, is
// refused with the command that fixes it; one of the user's own, or
// root's, is accepted.
func TestCheckOwnership(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	write(t, path, "x")
	check := func() error {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return secrets.CheckOwnership("key file", path, fi)
	}
	if err := check(); err != nil {
		t.Errorf("own file: %v", err)
	}
	os.Chmod(path, 0o646)
	if err := check(); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "key file "+path+" can be written by other users (mode 0646)") || !strings.Contains(err.Error(), "chmod go-w "+path) {
		t.Errorf("file others can write: %v", err)
	}
	if os.Geteuid() != 0 {
		return
	}
	os.Chmod(path, 0o600)
	os.Chown(path, otherUID, otherUID)
	if err := check(); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "owned by uid 12345") || !strings.Contains(err.Error(), "chown 0 "+path) {
		t.Errorf("file of another user: %v", err)
	}
	os.Chown(path, 0, otherUID)
	os.Chmod(path, 0o660)
	if err := check(); !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "mode 0660") {
		t.Errorf("file another group can write: %v", err)
	}
}
