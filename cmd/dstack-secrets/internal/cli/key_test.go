//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIssue12KeyCustody replays friction 4 of issue 12: the first add
// created ~/.dstack/secrets/default.key silently. Now it says so once,
// with the path and how to back it up; key export and key import back it
// up and put it back; a store whose key is missing says exactly that.
func TestIssue12KeyCustody(t *testing.T) {
	h := newHarness(t)
	keyPath := filepath.Join(h.home, ".dstack", "secrets", "default.key")
	storePath := filepath.Join(h.home, ".dstack", "secrets", "default.age")
	r := h.run("", "add", "-y", "TOKEN", marker)
	h.want(r, 0, "dstack-secrets: created the key file "+keyPath+", which encrypts the secrets of project \"default\": without it they cannot be decrypted, so losing it loses every one of them. Back it up now")
	h.want(r, 0, "`dstack-secrets key export > FILE` writes a copy")
	if strings.Count(r.stderr, "created the key file") != 1 {
		t.Errorf("the notice is not said once: %q", r.stderr)
	}
	if r := h.run("", "add", "-y", "SECOND", "v"); strings.Contains(r.stderr, "key file") {
		t.Errorf("the second add mentions the key again: %q", r.stderr)
	}

	// Export: to a file (not a terminal) it is the key file's content.
	r = h.run("", "key", "export")
	onDisk, _ := os.ReadFile(keyPath)
	if r.code != 0 || r.stdout != string(onDisk) || !strings.Contains(r.stdout, "AGE-SECRET-KEY-1") {
		t.Fatalf("key export: exit %d, %d bytes (the key file has %d)", r.code, len(r.stdout), len(onDisk))
	}
	backup := writeTemp(t, r.stdout)

	// On a terminal it is refused unless --force.
	term := newTerminal(t)
	code := Run(context.Background(), []string{"key", "export"}, Params{Stdout: term.tty, Stderr: term.tty, HomeDir: h.home, Dir: h.repo, Getenv: func(string) string { return "" }})
	term.waitFor("key export: standard output is a terminal, where the key would stay on the screen; redirect it to a file (dstack-secrets key export > FILE) or pass --force")
	if code != 1 || strings.Contains(term.text(), "AGE-SECRET-KEY") {
		t.Errorf("key export on a terminal: exit %d, the key shown: %v", code, strings.Contains(term.text(), "AGE-SECRET-KEY"))
	}
	term2 := newTerminal(t)
	code = Run(context.Background(), []string{"key", "export", "--force"}, Params{Stdout: term2.tty, Stderr: term2.tty, HomeDir: h.home, Dir: h.repo, Getenv: func(string) string { return "" }})
	term2.waitFor("AGE-SECRET-KEY-1")
	if code != 0 {
		t.Errorf("key export --force: exit %d", code)
	}

	// The key is lost: every command says so, with the paths.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	h.want(h.run("", "list"), 1, "the store "+storePath+" exists but its key file "+keyPath+" is missing; restore the key file")
	h.want(h.run("", "key", "export"), 1, "its key file "+keyPath+" is missing; restore the key file from a backup (dstack-secrets key import FILE)")

	// Another store's key is refused; the backup restores the secrets.
	other := newHarness(t)
	other.want(other.run("", "add", "-y", "X", "x"), 0, "")
	foreign := writeTemp(t, other.run("", "key", "export").stdout)
	h.want(h.run("", "key", "import", foreign), 1, "the key to import does not decrypt "+storePath)
	h.want(h.run("", "key", "import", "--project", "default", backup), 0, "Installed the key of project \"default\": "+keyPath+"\n")
	if got := strings.Join(h.list(), ","); got != "SECOND,TOKEN" {
		t.Errorf("after import: %q", got)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the imported key file: %v, %v", fi.Mode(), err)
	}
	h.want(h.run(r.stdout, "key", "import", "-"), 0, "already holds this key; nothing changed")
	h.want(h.run("", "key", "import", foreign), 1, "the key file "+keyPath+" exists and holds another key; it was not replaced")
	if now, _ := os.ReadFile(keyPath); !bytes.Equal(now, onDisk) {
		t.Errorf("the key file changed")
	}

	// Usage mistakes, and backends without a key file.
	h.want(h.run("", "key"), 2, "key: missing export or import FILE")
	h.want(h.run("", "key", "import"), 2, "key: missing FILE")
	h.want(h.run("", "key", "show"), 2, `key: unknown action "show" (actions: export, import)`)
	h.want(h.run("", "key", "import", "--force", backup), 2, "key: --force is for export")
	h.useConfig("projects:\n  default:\n    backend: file\n    options:\n      passphrase: true\n")
	h.want(h.run("", "key", "export"), 1, "is encrypted with a passphrase (option passphrase: true): there is no key file")
}
