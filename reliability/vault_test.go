package reliability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// vaultServer is a Vault server the tests can use.
type vaultServer struct {
	addr, token string
}

// sharedVault returns the dev server started by scripts/services/vault.sh.
// Without one the test skips, or fails under
// DSTACK_SECRETS_TEST_REQUIRE_SERVICES.
func sharedVault(t *testing.T) vaultServer {
	t.Helper()
	addr, token := os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")
	if addr == "" || token == "" {
		if requireServices() {
			t.Fatal("no Vault server: DSTACK_SECRETS_TEST_VAULT_ADDR/TOKEN are unset (scripts/services/vault.sh starts one)")
		}
		t.Skip("no Vault server (DSTACK_SECRETS_TEST_VAULT_ADDR unset); run scripts/test, which starts one")
	}
	return vaultServer{addr, token}
}

// privateVault starts a dev server of this test's own (the test kills or
// seals it) from the binary scripts/services/vault.sh installed, and stops
// it by PID when the test ends.
func privateVault(t *testing.T) (vaultServer, *exec.Cmd) {
	t.Helper()
	sharedVault(t)
	bin := os.Getenv("DSTACK_SECRETS_TEST_VAULT_BIN")
	if bin == "" {
		if requireServices() {
			t.Fatal("DSTACK_SECRETS_TEST_VAULT_BIN is unset (scripts/services/vault.sh sets it)")
		}
		t.Skip("DSTACK_SECRETS_TEST_VAULT_BIN unset; run scripts/test")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostport := l.Addr().String()
	l.Close()
	token := "root-" + randomHex(t)
	home := t.TempDir()
	cmd := exec.Command(bin, "server", "-dev", "-dev-root-token-id="+token, "-dev-listen-address="+hostport, "-dev-no-store-token")
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	logf, err := os.Create(home + "/server.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		logf.Close()
	})
	srv := vaultServer{"http://" + hostport, token}
	// Wait until the server answers its health check (or exits).
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(srv.addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return srv, cmd
			}
		}
		select {
		case <-done:
			log, _ := os.ReadFile(home + "/server.log")
			t.Fatalf("the Vault dev server exited: %s", log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the Vault dev server did not become healthy within 60s")
		}
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// vaultScope is the scope of every Vault test; each test has its own prefix.
var vaultScope = secrets.Scope{Project: "rel", Repository: repoID}

// openVault opens a store on srv under prefix with token, reading nothing
// from the process environment or home directory.
func openVault(t *testing.T, srv vaultServer, token, prefix string) secrets.Store {
	t.Helper()
	return openVaultWith(t, srv, vault.Options{Token: token, Prefix: prefix})
}

// openVaultWith is openVault with more options (layout, timeout).
func openVaultWith(t *testing.T, srv vaultServer, o vault.Options) secrets.Store {
	t.Helper()
	o.Address, o.Mount, o.KVVersion = srv.addr, "secret", 2
	o.Env = secrets.Env{Getenv: func(string) string { return "" }, HomeDir: t.TempDir()}
	s, err := vault.Open(context.Background(), vaultScope, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secrets.Close(s) })
	return s
}

// checkClean fails when err leaks the token or a value.
func checkClean(t *testing.T, what string, err error, secretsInPlay ...string) {
	t.Helper()
	for _, s := range secretsInPlay {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%s: the error holds a secret: %v", what, err)
		}
	}
}

// TestVaultConcurrentWriters runs 16 writers with their own clients against
// one repository, each adding 50 secrets, all of them also overwriting one
// shared secret and racing to create another: nothing is lost, the shared
// secret holds one writer's whole value, and exactly one create wins.
func TestVaultConcurrentWriters(t *testing.T) {
	srv := sharedVault(t)
	prefix := "reliability-" + randomHex(t)
	writers, perWriter := 16, 50
	if *long {
		perWriter = 200
	}
	ctx := context.Background()
	stores := make([]secrets.Store, writers)
	for w := range writers {
		stores[w] = openVault(t, srv, srv.token, prefix)
	}
	var wg sync.WaitGroup
	var created atomic.Int32
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[w]
			for i := range perWriter {
				if err := s.Set(ctx, fmt.Sprintf("W%02d_%03d", w, i), fmt.Sprintf("value %d of writer %d", i, w)); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				if i == perWriter/2 {
					if err := s.Set(ctx, "SHARED", fmt.Sprintf("shared value of writer %d", w)); err != nil {
						t.Errorf("writer %d: SHARED: %v", w, err)
					}
					switch err := secrets.Create(ctx, s, "ONCE", fmt.Sprintf("created by writer %d", w)); {
					case err == nil:
						created.Add(1)
					case !errors.Is(err, secrets.ErrExists):
						t.Errorf("writer %d: Create: %v", w, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	all, err := secrets.GetAll(ctx, openVault(t, srv, srv.token, prefix))
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for w := range writers {
		for i := range perWriter {
			if all[fmt.Sprintf("W%02d_%03d", w, i)] != fmt.Sprintf("value %d of writer %d", i, w) {
				lost++
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d writes lost", lost, writers*perWriter)
	}
	if !strings.HasPrefix(all["SHARED"], "shared value of writer ") {
		t.Errorf("SHARED holds a value no writer wrote whole")
	}
	if created.Load() != 1 || !strings.HasPrefix(all["ONCE"], "created by writer ") {
		t.Errorf("%d creates of ONCE succeeded, want exactly 1", created.Load())
	}
	t.Logf("%d writers, %d secrets written and read back", writers, writers*perWriter)
}

// TestVaultKilled kills a Vault server while reads and writes are in
// flight: every operation retries for the store's timeout (3 s here) and
// then fails with a clear ErrUnavailable error naming the server, well
// before the caller's deadline.
func TestVaultKilled(t *testing.T) {
	srv, cmd := privateVault(t)
	prefix := "killed"
	s := openVaultWith(t, srv, vault.Options{Token: srv.token, Prefix: prefix, Timeout: 3 * time.Second})
	ctx := context.Background()
	for i := range 100 {
		if err := s.Set(ctx, fmt.Sprintf("K_%03d", i), "value"); err != nil {
			t.Fatal(err)
		}
	}
	ops := 0
	var killed atomic.Bool
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
				var err error
				if g%2 == 0 {
					_, err = secrets.GetAll(dctx, s)
				} else {
					err = s.Set(dctx, fmt.Sprintf("K_%03d", g), "new value")
				}
				cancel()
				if err != nil {
					errs <- err
					return
				}
				if killed.Load() {
					continue // requests that were answered before the kill
				}
			}
		}()
	}
	// Let the readers and writers run, then kill the server under them.
	for ops < 20 {
		if _, err := s.Get(ctx, "K_000"); err != nil {
			t.Fatal(err)
		}
		ops++
	}
	killed.Store(true)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, secrets.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("after the kill: want ErrUnavailable before the deadline, got %v", err)
		}
		checkClean(t, "killed", err, srv.token)
	}
	_, err := s.Get(ctx, "K_001")
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), srv.addr) {
		t.Errorf("Get from a dead server: %v", err)
	}
	t.Logf("error after the kill: %v", err)
}

// TestVaultSealed seals a Vault server: every operation retries for the
// store's timeout (an operator may unseal it meanwhile), then fails with
// ErrUnavailable saying it is sealed.
func TestVaultSealed(t *testing.T) {
	srv, _ := privateVault(t)
	s := openVaultWith(t, srv, vault.Options{Token: srv.token, Prefix: "sealed", Timeout: 2 * time.Second})
	ctx := context.Background()
	if err := s.Set(ctx, "A", "value"); err != nil {
		t.Fatal(err)
	}
	cfg := api.DefaultConfig()
	cfg.Address = srv.addr
	root, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	root.SetToken(srv.token)
	if err := root.Sys().Seal(); err != nil {
		t.Fatal(err)
	}
	_, getErr := s.Get(ctx, "A")
	_, listErr := s.List(ctx)
	for what, err := range map[string]error{
		"Get":    getErr,
		"List":   listErr,
		"Set":    s.Set(ctx, "A", "new"),
		"Delete": s.Delete(ctx, "A"),
	} {
		if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "sealed") {
			t.Errorf("%s on a sealed Vault: %v", what, err)
		} else {
			checkClean(t, what, err, srv.token, "value")
		}
	}
	t.Logf("error when sealed: %v", getErr)
}

// TestVaultForbidden uses a token whose policies grant nothing on the
// secrets: every operation fails with ErrPermission naming the missing
// capability, and nothing is written.
func TestVaultForbidden(t *testing.T) {
	srv := sharedVault(t)
	prefix := "reliability-" + randomHex(t)
	cfg := api.DefaultConfig()
	cfg.Address = srv.addr
	root, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	root.SetToken(srv.token)
	sec, err := root.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"default"}, TTL: "10m", NoParent: true})
	if err != nil {
		t.Fatal(err)
	}
	weak := sec.Auth.ClientToken
	s := openVault(t, srv, weak, prefix)
	ctx := context.Background()
	marker := newMarker(t)
	_, getErr := s.Get(ctx, "A")
	_, listErr := s.List(ctx)
	for what, err := range map[string]error{
		"Get":    getErr,
		"List":   listErr,
		"Set":    s.Set(ctx, "A", marker),
		"Create": secrets.Create(ctx, s, "B", marker),
		"Delete": s.Delete(ctx, "A"),
	} {
		if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), "capabilit") {
			t.Errorf("%s with a token without access: %v", what, err)
		}
		if err != nil {
			checkClean(t, what, err, marker, weak, srv.token)
		}
	}
	names, err := openVault(t, srv, srv.token, prefix).List(ctx)
	if err != nil || len(names) != 0 {
		t.Errorf("something was written with a forbidden token: %v %v", names, err)
	}
	t.Logf("error with a forbidden token: %v", getErr)
}

// slowProxy forwards to a Vault server and, once slow is set, holds every
// response until the client gives up (the request was already applied by
// Vault: the client sees a timeout after the fact).
func slowProxy(t *testing.T, target string) (addr string, slow *atomic.Bool) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	slow = &atomic.Bool{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if slow.Load() {
			<-resp.Request.Context().Done()
			return resp.Request.Context().Err()
		}
		return nil
	}
	rp.ErrorLog = nil
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
	srv := &http.Server{Handler: rp, ErrorLog: nil}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String(), slow
}

// TestVaultSlow puts a proxy that stops answering between the store and
// Vault: each operation returns the caller's deadline error, and a write
// that timed out left the old or the new value whole.
func TestVaultSlow(t *testing.T) {
	srv := sharedVault(t)
	proxyAddr, slow := slowProxy(t, srv.addr)
	prefix := "reliability-" + randomHex(t)
	s := openVault(t, vaultServer{proxyAddr, srv.token}, srv.token, prefix)
	ctx := context.Background()
	if err := s.Set(ctx, "A", "old value"); err != nil {
		t.Fatal(err)
	}
	slow.Store(true)
	for _, op := range []string{"Get", "List", "GetAll", "Set", "Delete"} {
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		var err error
		switch op {
		case "Get":
			_, err = s.Get(dctx, "A")
		case "List":
			_, err = s.List(dctx)
		case "GetAll":
			_, err = secrets.GetAll(dctx, s)
		case "Set":
			err = s.Set(dctx, "A", "new value")
		case "Delete":
			err = s.Delete(dctx, "B")
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s through a stalled connection: want the deadline error, got %v", op, err)
		} else {
			checkClean(t, op, err, srv.token, "old value", "new value")
		}
	}
	slow.Store(false)
	v, err := openVault(t, srv, srv.token, prefix).Get(ctx, "A")
	if err != nil || (v != "old value" && v != "new value") {
		t.Errorf("after a timed-out write: %q, %v", v, err)
	}
}

// TestVaultConcurrentAddProcesses runs 16 concurrent workers, each starting
// `dstack-secrets add` processes one after another against one repository
// on Vault (16 x 50, or 16 x 200 with -long), in both layouts: every
// secret is present. In the bundle layout all of them write the same KV
// entry, with check-and-set retries.
func TestVaultConcurrentAddProcesses(t *testing.T) {
	srv := sharedVault(t)
	for _, layout := range []string{vault.LayoutEntry, vault.LayoutBundle} {
		t.Run(layout, func(t *testing.T) {
			workers, perWorker := 16, 50
			if *long {
				perWorker = 200
			}
			s := newSandbox(t)
			prefix := "reliability-" + randomHex(t)
			writeFile(t, filepath.Join(s.root, "secrets.yml"), "projects:\n  rel:\n    backend: vault\n    options:\n      address: "+srv.addr+"\n      prefix: "+prefix+"\n      layout: "+layout+"\n", 0o600)
			s.env = map[string]string{"VAULT_TOKEN": srv.token, "DSTACK_SECRETS_CONFIG": filepath.Join(s.root, "secrets.yml")}
			start := time.Now()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWorker {
						name := fmt.Sprintf("W%02d_%03d", w, i)
						if r := s.run("", "add", name, "value of "+name); r.code != 0 {
							t.Errorf("add %s: exit %d: %s", name, r.code, r.stderr)
						}
					}
				}()
			}
			wg.Wait()
			took := time.Since(start)
			all, err := secrets.GetAll(context.Background(), openVaultWith(t, srv, vault.Options{Token: srv.token, Prefix: prefix, Layout: layout}))
			if err != nil {
				t.Fatal(err)
			}
			lost := 0
			for w := range workers {
				for i := range perWorker {
					name := fmt.Sprintf("W%02d_%03d", w, i)
					if all[name] != "value of "+name {
						lost++
					}
				}
			}
			if lost > 0 || len(all) != workers*perWorker {
				t.Fatalf("%d of %d secrets lost; Vault holds %d", lost, workers*perWorker, len(all))
			}
			t.Logf("layout %s: %d add processes (%d at a time) against Vault in %v; all %d secrets present", layout, workers*perWorker, workers, took.Round(time.Millisecond), len(all))
		})
	}
}
