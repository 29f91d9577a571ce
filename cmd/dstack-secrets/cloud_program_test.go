//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstalledCLIFindsTheCloudProgram installs both programs as the
// README says and opens a cloud project with the installed dstack-secrets,
// with nothing in PATH: it must find dstack-secrets-cloud beside itself and
// speak to it (whatever the backend then answers without a bucket).
func TestInstalledCLIFindsTheCloudProgram(t *testing.T) {
	bin := installFromReadme(t)
	home := t.TempDir()
	cfg := filepath.Join(home, "secrets.yml")
	if err := os.WriteFile(cfg, []byte("projects:\n  team:\n    backend: cloud\n    options:\n      url: s3://bucket?region=us-east-1\n      endpoint: http://127.0.0.1:1\n      timeout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "dstack-secrets"), "--config", cfg, "--repo", "github.com/org/repo", "list")
	// Static credentials and no instance metadata: the SDK's credential
	// chain must not look for an EC2 metadata service off this machine.
	cmd.Env = []string{"HOME=" + home, "PATH=" + t.TempDir(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true"}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("list on a bucket that does not exist succeeded: %s", out)
	}
	for _, bad := range []string{"is not installed", "does not speak", "exited"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("dstack-secrets did not reach dstack-secrets-cloud beside it: %s", out)
		}
	}
	if !strings.HasPrefix(string(out), "dstack-secrets: ") || !strings.Contains(string(out), "cloud backend") || !strings.Contains(string(out), "127.0.0.1:1") {
		t.Errorf("unexpected message: %s", out)
	}
	help, err := exec.Command(filepath.Join(bin, "dstack-secrets-cloud"), "-h").Output()
	if err != nil || !strings.Contains(string(help), "share add") {
		t.Errorf("dstack-secrets-cloud -h: %v: %s", err, help)
	}
}

// TestInstalledCLIFindsTheVaultAndKeyringPrograms installs the programs
// as the README says and opens a vault and a keyring project with the
// installed dstack-secrets, with nothing in PATH: it must find their
// programs beside itself and get their backends' answers.
func TestInstalledCLIFindsTheVaultAndKeyringPrograms(t *testing.T) {
	bin := installFromReadme(t)
	home := t.TempDir()
	cfg := filepath.Join(home, "secrets.yml")
	if err := os.WriteFile(cfg, []byte("projects:\n  v:\n    backend: vault\n    options:\n      address: http://127.0.0.1:1\n      kv_version: 2\n  k:\n    backend: keyring\n    options:\n      keychains: [file]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, "dstack-secrets"), append([]string{"--config", cfg, "--repo", "github.com/org/repo"}, args...)...)
		cmd.Env = []string{"HOME=" + home, "PATH=" + t.TempDir(), "VAULT_TOKEN=t", "DSTACK_SECRETS_KEYRING_PASSWORD=pw"}
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("", "--project", "v", "--timeout", "1s", "list")
	if err == nil || !strings.Contains(out, "cannot reach Vault at http://127.0.0.1:1") {
		t.Errorf("list on a Vault that does not answer: %v: %s", err, out)
	}
	if out, err := run("a value\n", "--project", "k", "add", "TOKEN"); err != nil {
		t.Fatalf("add through dstack-secrets-keyring: %v: %s", err, out)
	}
	if out, err := run("", "--project", "k", "get", "TOKEN"); err != nil || out != "a value" {
		t.Errorf("get through dstack-secrets-keyring: %v, %d bytes (mismatch: %v)", err, len(out), out != "a value")
	}
	for _, p := range []string{"dstack-secrets-vault", "dstack-secrets-keyring"} {
		out, err := exec.Command(filepath.Join(bin, p), "-h").Output()
		if err != nil || !strings.Contains(string(out), "dstack-secrets starts it") {
			t.Errorf("%s -h: %v: %s", p, err, out)
		}
	}
}
