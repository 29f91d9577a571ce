package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/internal/plugin"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// programEnv makes the test binary act as dstack-secrets-cloud: see
// TestMain.
const programEnv = "DSTACK_SECRETS_TEST_CLOUD_PROGRAM"

// TestMain runs this program's main when the test binary is started as
// the plugin program (programEnv set, argument serve-plugin).
func TestMain(m *testing.M) {
	if os.Getenv(programEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Setenv(programEnv, "1")
	// Under -race a program exits a second late by default.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

var servers = []struct {
	name string
	get  func(testing.TB) cloudtest.Server
}{
	{"s3", cloudtest.S3},
	{"azurite", cloudtest.Azurite},
	{"gcs", cloudtest.GCS},
}

// bridged is the registry of the CLI for the cloud backend: this program,
// started through package plugin.
func bridged() *secrets.Registry {
	return secrets.NewRegistry(plugin.Backend(backendName, "", os.Executable))
}

// TestConformanceThroughTheProgram runs the conformance suite on the cloud
// backend as the CLI uses it: in this program, through package plugin.
func TestConformanceThroughTheProgram(t *testing.T) {
	reg := bridged()
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			server := srv.get(t)
			secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
				loc := server.NewBucket(t)
				env := secrets.Env{HomeDir: t.TempDir(), Getenv: func(string) string { return "" }}
				return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
					return reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: backendName, Env: env,
						Options: secrets.Options{"url": loc.URL, "endpoint": loc.Endpoint}})
				}
			}, secretstest.Options{Concurrency: 8, OpsPerWorker: 4})
		})
	}
}

// TestIdentityAndShare runs the commands of this program on a versitygw
// bucket: a first member writes through the bridge (creating the member
// list), adds a second member, lists, and removes them.
func TestIdentityAndShare(t *testing.T) {
	server := cloudtest.S3(t)
	loc := server.NewBucket(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg := filepath.Join(home, "secrets.yml")
	if err := os.WriteFile(cfg, []byte("projects:\n  team:\n    backend: cloud\n    options:\n      url: "+loc.URL+"\n      endpoint: "+loc.Endpoint+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cli := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := run(ctx, append([]string{"--config", cfg}, args...), strings.NewReader(""), &out, &errb)
		return out.String(), errb.String(), code
	}
	s, err := bridged().Open(ctx, secrets.OpenRequest{Scope: secrets.Scope{Project: "team", Repository: "github.com/org/repo"}, Backend: backendName,
		Options: secrets.Options{"url": loc.URL, "endpoint": loc.Endpoint}, Env: secrets.Env{HomeDir: home}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "TOKEN", "MARKER-cloud-program"); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Close(s); err != nil {
		t.Fatal(err)
	}
	me, stderr, code := cli("identity")
	if code != 0 || !strings.HasPrefix(me, "age1") || !strings.Contains(stderr, "share add KEY") {
		t.Fatalf("identity: exit %d, %q, %q", code, me, stderr)
	}
	t.Setenv("HOME", t.TempDir())
	other, _, code := cli("identity")
	t.Setenv("HOME", home)
	if code != 0 || other == me {
		t.Fatalf("identity of another home: exit %d", code)
	}
	out, stderr, code := cli("share", "add", "--name", "bob", strings.TrimSpace(other))
	if code != 0 || !strings.Contains(out, "Added SHA256:") || !strings.Contains(out, "project_id: sha256:") || !strings.Contains(out, "Re-encrypted 1 repositories: github.com/org/repo") {
		t.Errorf("share add: exit %d, %q, %q", code, out, stderr)
	}
	out, _, code = cli("share", "list")
	if code != 0 || strings.Count(out, "can write") != 2 || !strings.Contains(out, "bob") {
		t.Errorf("share list: exit %d, %q", code, out)
	}
	out, stderr, code = cli("share", "remove", strings.TrimSpace(other))
	if code != 0 || !strings.Contains(out, "Rotate these secrets") || !strings.Contains(out, "github.com/org/repo: TOKEN") || strings.Contains(out+stderr, "MARKER") {
		t.Errorf("share remove: exit %d, %q, %q", code, out, stderr)
	}
	if _, stderr, code = cli("--project", "nope", "share", "list"); code != 1 || !strings.Contains(stderr, `unknown project "nope"`) {
		t.Errorf("unknown project: exit %d, %q", code, stderr)
	}
}
