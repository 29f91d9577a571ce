package keyring_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

var scope = secrets.Scope{Project: "errors", Repository: "example.com/org/repo"}

// checkErr checks that err wraps want and that its message names the
// keychain and says each of the given fragments (the fix).
func checkErr(t *testing.T, err, want error, fragments ...string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want one wrapping %v", err, want)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not say %q", err, f)
		}
	}
}

func TestNoSessionBus(t *testing.T) {
	opts := keyring.Options{Keychains: []string{keyring.SecretService}}
	opts.Env.Getenv = envWith(map[string]string{"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": t.TempDir()})
	_, err := keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrUnavailable, "secret-service", "no D-Bus session bus", "backend: file")
}

func TestBusGone(t *testing.T) {
	opts := keyring.Options{Keychains: []string{keyring.SecretService}}
	opts.Env.Getenv = envWith(map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + filepath.Join(t.TempDir(), "gone")})
	_, err := keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrUnavailable, "secret-service", "cannot connect to the D-Bus session bus", "backend: file")
}

func TestNoSecretServiceOnBus(t *testing.T) {
	addr := startBus(t)
	opts := keyring.Options{Keychains: []string{keyring.SecretService}}
	opts.Env.Getenv = envWith(map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr})
	_, err := keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrUnavailable, "secret-service", "no Secret Service on the D-Bus session bus", "backend: file")
}

func TestLockedCollection(t *testing.T) {
	addr := startBus(t)
	conn := startKeyring(t, addr)
	base := keyring.Options{Keychains: []string{keyring.SecretService}, Service: "dstack-secrets-test-locked"}

	// Unlocked: a secret can be stored; then the collection is locked.
	opts := base
	opts.Env.Getenv = envWith(map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr, "DISPLAY": "", "WAYLAND_DISPLAY": ""})
	s, err := keyring.Open(testContext(t), scope, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	if err := s.Set(testContext(t), "BEFORE", "v"); err != nil {
		t.Fatal(err)
	}
	lockCollection(t, conn)

	t.Run("open without a display", func(t *testing.T) {
		_, err := keyring.Open(testContext(t), scope, opts)
		checkErr(t, err, secrets.ErrPermission, "secret-service", "locked", "no unlock prompt can be shown", "backend: file")
	})
	t.Run("store opened before the lock", func(t *testing.T) {
		_, err := s.Get(testContext(t), "BEFORE")
		checkErr(t, err, secrets.ErrPermission, "secret-service", "locked")
		err = s.Set(testContext(t), "AFTER", "v")
		checkErr(t, err, secrets.ErrPermission, "secret-service", "locked")
	})
	t.Run("prompt that never appears", func(t *testing.T) {
		// With a display the backend asks for the unlock prompt; there is
		// no prompter here, so the call must end by the timeout at the latest.
		withDisplay := base
		withDisplay.Timeout = 3 * time.Second
		withDisplay.Env.Getenv = envWith(map[string]string{"DBUS_SESSION_BUS_ADDRESS": addr, "DISPLAY": ":99"})
		_, err := keyring.Open(testContext(t), scope, withDisplay)
		if !errors.Is(err, secrets.ErrPermission) && !errors.Is(err, secrets.ErrUnavailable) {
			t.Fatalf("got %v, want a locked (ErrPermission) or timed out (ErrUnavailable) error", err)
		}
		if !strings.Contains(err.Error(), "secret-service") {
			t.Errorf("error %q does not name the keychain", err)
		}
	})
}

// TestSilentBus checks that a bus that accepts the connection and never
// answers cannot hang Open: the timeout ends it, and so does cancelling.
func TestSilentBus(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix sockets")
	}
	sock := filepath.Join(shortTempDir(t), "silent")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 4)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold the connection open, say nothing
			accepted <- struct{}{}
		}
	}()
	opts := keyring.Options{Keychains: []string{keyring.SecretService}, Timeout: 500 * time.Millisecond}
	opts.Env.Getenv = envWith(map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=" + sock})
	_, err = keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrUnavailable, "secret-service", "did not finish within", "backend: file")

	opts.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	<-accepted // the first Open's connection
	go func() {
		// Cancel once the backend has connected (the listener saw it).
		<-accepted
		cancel()
	}()
	_, err = keyring.Open(ctx, scope, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled context: got %v, want context.Canceled", err)
	}
}

func TestMissingCollection(t *testing.T) {
	requireKeychains(t)
	opts := keyring.Options{Keychains: []string{keyring.SecretService}, Collection: "no-such-collection"}
	_, err := keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrInvalidConfig, "secret-service", `collection "no-such-collection" does not exist`, "login")
}

func TestPassNotInitialised(t *testing.T) {
	needBinary(t, "pass")
	opts := keyring.Options{Keychains: []string{keyring.Pass}, PassDir: t.TempDir()}
	_, err := keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrUnavailable, "keychain pass", "not initialised", "pass init", "backend: file")
}

func TestPassNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	opts := keyring.Options{Keychains: []string{keyring.Pass}, PassDir: t.TempDir()}
	_, err := keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrUnavailable, "keychain pass", "not installed", "backend: file")
}

func TestKeychainOfAnotherOS(t *testing.T) {
	for _, kc := range []string{keyring.Keychain, keyring.WinCred, keyring.KeyCtl} {
		if kc == keyring.Keychain && runtime.GOOS == "darwin" || kc == keyring.WinCred && runtime.GOOS == "windows" || kc == keyring.KeyCtl && runtime.GOOS == "linux" {
			continue
		}
		t.Run(kc, func(t *testing.T) {
			_, err := keyring.Open(testContext(t), scope, keyring.Options{Keychains: []string{kc}})
			checkErr(t, err, secrets.ErrUnavailable, "keychain "+kc, "is not available", "backend: file")
		})
	}
}

func TestFallbackNamesEveryKeychain(t *testing.T) {
	opts := keyring.Options{Keychains: []string{keyring.SecretService, keyring.Pass}, PassDir: t.TempDir()}
	opts.Env.Getenv = envWith(map[string]string{"DBUS_SESSION_BUS_ADDRESS": "", "XDG_RUNTIME_DIR": ""})
	_, err := keyring.Open(testContext(t), scope, opts)
	checkErr(t, err, secrets.ErrUnavailable, "tried secret-service, pass", "no D-Bus session bus", "keychain pass")
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		options secrets.Options
		want    string
	}{
		{"unknown option", secrets.Options{"colection": "login"}, `unknown option "colection"`},
		{"unknown keychain", secrets.Options{"keychains": []any{"gnome"}}, `unknown keychain "gnome"`},
		{"kwallet", secrets.Options{"keychains": []any{"kwallet"}}, "Secret Service interface"},
		{"duplicate", secrets.Options{"keychains": []any{"pass", "pass"}}, "listed twice"},
		{"thread scope", secrets.Options{"keychains": []any{"keyctl"}, "keyctl_scope": "thread"}, "Go moves goroutines"},
		{"bad scope", secrets.Options{"keychains": []any{"keyctl"}, "keyctl_scope": "group"}, `unknown keyctl_scope "group"`},
		{"bad timeout", secrets.Options{"timeout": "soon"}, "timeout"},
		{"negative timeout", secrets.Options{"timeout": "-1s"}, "negative"},
		{"service with slash", secrets.Options{"service": "a/b"}, "must not contain"},
	}
	b := keyring.Backend()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Open(testContext(t), secrets.OpenRequest{Scope: scope, Backend: b.Name, Options: tc.options})
			checkErr(t, err, secrets.ErrInvalidConfig, tc.want)
		})
	}
}

func TestFileKeychainNeedsPassword(t *testing.T) {
	opts := keyring.Options{Keychains: []string{keyring.File}, FileDir: t.TempDir()}
	opts.Env.Getenv = envWith(map[string]string{keyring.PasswordEnvVar: ""})
	s, err := keyring.Open(testContext(t), scope, opts)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Set(testContext(t), "NAME", "value")
	checkErr(t, err, secrets.ErrAuth, keyring.PasswordEnvVar)
}

func TestOptionsDecoded(t *testing.T) {
	dir := t.TempDir()
	b := keyring.Backend()
	env := secrets.Env{Getenv: envWith(map[string]string{keyring.PasswordEnvVar: "pw"})}
	s, err := b.Open(testContext(t), secrets.OpenRequest{Scope: scope, Backend: b.Name, Env: env,
		Options: secrets.Options{"keychains": []any{"file"}, "file_dir": dir, "timeout": "45s", "service": "svc"}})
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	if err := s.Set(testContext(t), "A", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, scope.Project)); err != nil {
		t.Errorf("file_dir was not used: %v", err)
	}
	if got := keyring.KeychainOf(s); got != keyring.File {
		t.Errorf("KeychainOf = %q, want file", got)
	}
}
