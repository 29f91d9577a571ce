// Package testbus starts, for tests, a private D-Bus session bus and
// gnome-keyring's Secret Service on it, each stopped by PID when the test
// ends. It is shared by the keyring backend's tests and the reliability
// suite so that both run the real daemons the same way.
package testbus

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ShortTempDir returns a temporary directory with a path short enough for
// a unix socket (t.TempDir's can exceed the 108-byte limit), removed when
// the test ends.
func ShortTempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dsk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Start starts cmd and kills and reaps it when the test ends.
func Start(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
}

// busConfig is a session bus that listens in dir and activates no
// services: nothing but what a test starts itself is on it.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=DIR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// StartBus starts a private D-Bus session bus (dbus-daemon must be
// installed) and returns its address.
func StartBus(t testing.TB) string {
	t.Helper()
	dir := ShortTempDir(t)
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(strings.Replace(busConfig, "DIR", dir, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	Start(t, cmd)
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the bus address from dbus-daemon: %v", err)
	}
	return strings.TrimSpace(addr)
}

// StartSecretService starts gnome-keyring-daemon's Secret Service on the
// bus at addr, with fresh state and its login collection unlocked, and
// returns the running command (tests may kill it). It does not wait for the
// daemon to take its bus name.
func StartSecretService(t testing.TB, addr string) *exec.Cmd {
	t.Helper()
	dir := ShortTempDir(t)
	for _, d := range []string{"data", "cache", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Stdin = strings.NewReader("throwaway test keyring password")
	cmd.Env = append(os.Environ(), "HOME="+dir, "DBUS_SESSION_BUS_ADDRESS="+addr, "DISPLAY=",
		"XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "run"))
	Start(t, cmd)
	return cmd
}
