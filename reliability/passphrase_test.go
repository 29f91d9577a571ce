package reliability

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPassphraseSources runs the CLI with the passphrase given through a
// file descriptor (DSTACK_SECRETS_PASSPHRASE_FD, as 3<file in a shell)
// and through passphrase_command: the descriptor is closed before run
// starts the command, which gets neither it nor the variable; a short
// passphrase gets a warning.
func TestPassphraseSources(t *testing.T) {
	s := newSandbox(t)
	passFile := filepath.Join(s.root, "pass.txt")
	writeFile(t, passFile, "correct horse battery staple\n", 0o600)
	cfg := filepath.Join(s.root, "secrets.yml")
	writeFile(t, cfg, "projects:\n  pp:\n    backend: file\n    options:\n      dir: "+filepath.Join(s.root, "pp")+"\n      passphrase: true\n      scrypt_work_factor: 10\n      allow_weak_scrypt: true\n", 0o600)
	s.env = map[string]string{"DSTACK_SECRETS_PASSPHRASE_FD": "3"}
	withFD := func(stdin string, args ...string) result {
		t.Helper()
		f, err := os.Open(passFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := s.command(context.Background(), stdin, append([]string{"--config", cfg}, args...)...)
		cmd.ExtraFiles = []*os.File{f} // descriptor 3
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		_ = cmd.Run()
		return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
	}
	if r := withFD("", "add", "A", "value-a"); r.code != 0 || strings.Contains(r.stderr, "warning") {
		t.Fatalf("add with the passphrase on descriptor 3: exit %d, %q", r.code, r.stderr)
	}
	r := withFD("", "run", "--", "sh", "-c", `if (true >&3) 2>/dev/null; then echo "fd 3 open"; else echo "fd 3 closed"; fi; echo "var=${DSTACK_SECRETS_PASSPHRASE_FD-unset}"`)
	if r.code != 0 || r.stdout != "fd 3 closed\nvar=unset\n" {
		t.Errorf("run with the passphrase on descriptor 3: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}

	// The same store through passphrase_command.
	s.env = nil
	writeFile(t, cfg, "projects:\n  pp:\n    backend: file\n    options:\n      dir: "+filepath.Join(s.root, "pp")+"\n      passphrase: true\n      passphrase_command: [cat, "+passFile+"]\n", 0o600)
	if r := s.run("", "--config", cfg, "get", "A"); r.code != 0 || r.stdout != "value-a" {
		t.Errorf("get through passphrase_command: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	writeFile(t, cfg, "projects:\n  pp:\n    backend: file\n    options:\n      dir: "+filepath.Join(s.root, "pp")+"\n      passphrase: true\n      passphrase_command: [sh, -c, 'echo correct horse battery staple; exit 1']\n", 0o600)
	if r := s.run("", "--config", cfg, "get", "A"); r.code != 1 || !strings.Contains(r.stderr, "passphrase_command sh failed (exit status 1); its output is not shown") || strings.Contains(r.stderr, "horse") {
		t.Errorf("a failing passphrase_command: exit %d, %q", r.code, r.stderr)
	}

	// A short passphrase is used, with a warning.
	writeFile(t, cfg, "projects:\n  short:\n    backend: file\n    options:\n      dir: "+filepath.Join(s.root, "short")+"\n      passphrase: true\n      scrypt_work_factor: 10\n      allow_weak_scrypt: true\n", 0o600)
	s.env = map[string]string{"DSTACK_SECRETS_PASSPHRASE": "hunter2"}
	if r := s.run("", "--config", cfg, "add", "A", "v"); r.code != 0 || !strings.Contains(r.stderr, "dstack-secrets: warning: the passphrase of project \"short\" is 7 characters long") || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("add with a 7-character passphrase: exit %d, %q", r.code, r.stderr)
	}
}
