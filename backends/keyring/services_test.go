package keyring_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/dstackai/dstack-secrets/internal/testbus"
)

// needBinary skips (or, under scripts/test, fails) a test whose real
// component is not installed.
func needBinary(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err == nil {
		return
	}
	msg := name + " is not installed; run scripts/test, which installs it"
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// shortTempDir returns a temporary directory with a path short enough for
// unix socket names.
func shortTempDir(t *testing.T) string { return testbus.ShortTempDir(t) }

// startBus starts a private D-Bus session bus without service activation
// and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	needBinary(t, "dbus-daemon")
	return testbus.StartBus(t)
}

// startKeyring starts gnome-keyring-daemon on the bus at addr with a fresh
// login collection, unlocked, and returns a connection to the bus.
func startKeyring(t *testing.T, addr string) *dbus.Conn {
	t.Helper()
	needBinary(t, "gnome-keyring-daemon")
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	// Watch for the daemon taking its name before starting it.
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, "org.freedesktop.secrets")); err != nil {
		t.Fatal(err)
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	testbus.StartSecretService(t, addr)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case sig := <-signals:
			if len(sig.Body) == 3 && sig.Body[2] != "" {
				return conn
			}
		case <-timeout:
			t.Fatal("gnome-keyring-daemon did not take org.freedesktop.secrets within 30s")
		}
	}
}

// lockCollection locks the default collection, as a screen lock does.
func lockCollection(t *testing.T, conn *dbus.Conn) {
	t.Helper()
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	var coll dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&coll); err != nil {
		t.Fatal(err)
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{coll}).Store(&locked, &prompt); err != nil {
		t.Fatalf("locking %s: %v", coll, err)
	}
	if len(locked) != 1 || prompt != "/" {
		t.Fatalf("locking %s: locked %v, prompt %s", coll, locked, prompt)
	}
}

// envWith is an environment lookup of the process environment with some
// variables replaced ("" unsets them).
func envWith(vars map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
