package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/keyring"
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
	dir, err := os.MkdirTemp("", "dsk-rel-") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"bus", "data", "cache", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "bus.conf")
	writeFile(t, conf, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`, 0o600)
	bus := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := bus.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Start(); err != nil {
		t.Fatal(err)
	}
	busDone := make(chan struct{})
	addr, err := bufio.NewReader(out).ReadString('\n')
	go func() { bus.Wait(); close(busDone) }()
	t.Cleanup(func() { bus.Process.Kill(); <-busDone })
	if err != nil {
		t.Fatalf("dbus-daemon printed no address: %v", err)
	}
	addr = strings.TrimSpace(addr)

	gkd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	gkd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DBUS_SESSION_BUS_ADDRESS=" + addr,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run")}
	gkd.Stdin = strings.NewReader("throwaway-password")
	logf, err := os.Create(filepath.Join(dir, "gkd.log"))
	if err != nil {
		t.Fatal(err)
	}
	gkd.Stdout, gkd.Stderr = logf, logf
	if err := gkd.Start(); err != nil {
		t.Fatal(err)
	}
	gkdDone := make(chan struct{})
	go func() { gkd.Wait(); close(gkdDone) }()
	t.Cleanup(func() { gkd.Process.Kill(); <-gkdDone; logf.Close() })
	return addr, gkd
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
	var s *keyring.Store
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
