package reliability

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/internal/testbus"
	"github.com/dstackai/dstack-secrets/secrets"
)

// requireKeychainTools skips (or fails under
// DSTACK_SECRETS_TEST_REQUIRE_SERVICES) when the keychain programs that
// scripts/services/keychains.sh installs are missing.
func requireKeychainTools(t *testing.T) {
	t.Helper()
	msg := "the real keychains are not installed (DSTACK_SECRETS_TEST_KEYRING is not 1); run scripts/test, which installs and starts them"
	if os.Getenv("DSTACK_SECRETS_TEST_KEYRING") != "1" {
		if requireServices() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, prog := range []string{"dbus-daemon", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("%s: %v", prog, err)
		}
	}
}

// privateKeychain starts a D-Bus session bus and gnome-keyring's Secret
// Service on it, both this test's own (it kills them), and returns the bus
// address and the daemon. Both are stopped by PID when the test ends.
func privateKeychain(t *testing.T) (string, *exec.Cmd) {
	t.Helper()
	addr := testbus.StartBus(t)
	return addr, testbus.StartSecretService(t, addr)
}

// TestKeychainDaemonKilled kills gnome-keyring-daemon while reads and
// writes through the keyring backend are in flight: every operation then
// fails with a clear error (ErrUnavailable, naming the Secret Service), and
// none hangs.
func TestKeychainDaemonKilled(t *testing.T) {
	requireKeychainTools(t)
	addr, gkd := privateKeychain(t)
	opts := keyring.Options{
		Keychains: []string{keyring.SecretService},
		Service:   "dstack-secrets-reliability",
		Timeout:   10 * time.Second,
		Env: secrets.Env{HomeDir: t.TempDir(), Getenv: func(k string) string {
			if k == "DBUS_SESSION_BUS_ADDRESS" {
				return addr
			}
			return ""
		}},
	}
	ctx := context.Background()
	// The daemon takes its bus name and creates the login collection a
	// moment after it starts: retry opening and writing until it serves.
	var s secrets.Store
	deadline := time.Now().Add(30 * time.Second)
	for {
		var err error
		if s, err = keyring.Open(ctx, secrets.Scope{Project: "rel", Repository: repoID}, opts); err == nil {
			if err = s.Set(ctx, "A", "value"); err == nil {
				break
			}
			secrets.Close(s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private gnome-keyring did not serve within 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { secrets.Close(s) })
	for i := range 10 {
		if err := s.Set(ctx, fmt.Sprintf("K_%d", i), "value"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	started := make(chan struct{}, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				var err error
				if g%2 == 0 {
					_, err = secrets.GetAll(ctx, s)
				} else {
					err = s.Set(ctx, fmt.Sprintf("K_%d", g), "new value")
				}
				if first {
					started <- struct{}{}
					first = false
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 4 {
		<-started
	}
	if err := gkd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, secrets.ErrUnavailable) {
			t.Errorf("after the daemon was killed: want ErrUnavailable, got %v", err)
		}
	}
	_, err := s.Get(ctx, "A")
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(strings.ToLower(err.Error()), "secret service") {
		t.Errorf("Get with the daemon gone: %v", err)
	}
	t.Logf("error after the kill: %v", err)
}
