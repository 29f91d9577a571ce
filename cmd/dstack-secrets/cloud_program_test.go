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
