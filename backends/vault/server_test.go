package vault_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// server is a running Vault dev server.
type server struct {
	addr, token, bin string
	// stop kills a server started by ownServer and waits for it to exit.
	stop func()
}

// sharedServer returns the dev server started by scripts/services/vault.sh
// (scripts/test). Without it the test is skipped, or fails when
// DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set (as in CI).
func sharedServer(t testing.TB) server {
	t.Helper()
	s := server{
		addr:  os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"),
		token: os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN"),
		bin:   os.Getenv("DSTACK_SECRETS_TEST_VAULT_BIN"),
	}
	if s.addr == "" || s.token == "" {
		const how = "no Vault dev server: run scripts/test, or in bash `source scripts/services/vault.sh && vault_install && vault_start` before go test"
		if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal(how + " (DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set, so this is a failure)")
		}
		t.Skip(how)
	}
	return s
}

func kv1Mount() string {
	if m := os.Getenv("DSTACK_SECRETS_TEST_VAULT_KV1_MOUNT"); m != "" {
		return m
	}
	return "kv1"
}

// ownServer starts a Vault dev server of the test's own, for tests that
// seal or stop it; it is killed when the test ends.
func ownServer(t *testing.T) server {
	t.Helper()
	return startServer(t, "")
}

// ownTLSServer starts a dev server that speaks TLS with a certificate from a
// CA of its own, written to certDir/vault-ca.pem.
func ownTLSServer(t *testing.T, certDir string) server {
	t.Helper()
	return startServer(t, certDir)
}

func startServer(t *testing.T, tlsCertDir string) server {
	t.Helper()
	shared := sharedServer(t)
	if shared.bin == "" {
		t.Fatal("DSTACK_SECRETS_TEST_VAULT_BIN is not set: scripts/services/vault.sh exports it")
	}
	home := t.TempDir()
	token := "root-" + randomHex(8)
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		scheme := "http"
		if tlsCertDir != "" {
			scheme = "https"
		}
		s := server{addr: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port), token: token, bin: shared.bin}
		logPath := filepath.Join(home, fmt.Sprintf("server%d.log", attempt))
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"server", "-dev", "-dev-root-token-id=" + token,
			fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port), "-dev-no-store-token"}
		if tlsCertDir != "" {
			args = append(args, "-dev-tls", "-dev-tls-cert-dir="+tlsCertDir)
		}
		cmd := exec.Command(s.bin, args...)
		cmd.Env = append(os.Environ(), "HOME="+home, "VAULT_ADDR=", "VAULT_TOKEN=")
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); logFile.Close(); close(exited) }()
		s.stop = func() {
			cmd.Process.Kill()
			<-exited
		}
		t.Cleanup(s.stop)
		if waitHealthy(s.addr, exited) {
			return s
		}
		log, _ := os.ReadFile(logPath)
		if attempt == 2 {
			t.Fatalf("own Vault dev server did not start:\n%s", log)
		}
		cmd.Process.Kill()
		<-exited
	}
}

// waitHealthy polls /v1/sys/health until the server answers 200, it exits,
// or 60 seconds pass.
func waitHealthy(addr string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	// Readiness only: the TLS dev server's certificate is checked by the
	// tests themselves.
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for time.Now().Before(deadline) {
		resp, err := client.Get(addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-exited:
			return false
		case <-tick.C:
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// rootClient is a Vault client with the server's root token.
func (s server) rootClient(t testing.TB) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = s.addr
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(s.token)
	c.ClearNamespace()
	return c
}

// env is an environment holding only the given variables, with an empty
// home directory.
func env(t testing.TB, kv ...string) secrets.Env {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return secrets.Env{Getenv: func(k string) string { return m[k] }, HomeDir: t.TempDir()}
}

// tokenEnv is an environment that points at s with token.
func (s server) tokenEnv(t testing.TB, token string) secrets.Env {
	return env(t, "VAULT_ADDR", s.addr, "VAULT_TOKEN", token)
}

// openTest opens a store on s with the root token and a fresh prefix
// unless opts sets one.
func (s server) open(t testing.TB, opts vault.Options, scope secrets.Scope) secrets.Store {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = "test/" + randomHex(6)
	}
	if opts.Env.Getenv == nil {
		opts.Env = s.tokenEnv(t, s.token)
	}
	st, err := vault.Open(ctx(t), scope, opts)
	if err != nil {
		t.Fatalf("vault.Open: %v", err)
	}
	t.Cleanup(func() { secrets.Close(st) })
	return st
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// shortCtx is a context with deadline d, cancelled when the test ends.
func shortCtx(t testing.TB, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}
