package keyring_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// requireKeychains skips (or, under scripts/test, fails) a test that needs
// the real keychains started by scripts/services/keychains.sh.
func requireKeychains(t testing.TB) {
	t.Helper()
	if os.Getenv("DSTACK_SECRETS_TEST_KEYRING") == "1" {
		return
	}
	msg := "the real keychains are not running (DSTACK_SECRETS_TEST_KEYRING is not 1); run scripts/test, which starts gnome-keyring, pass and keyctl"
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func randomHex(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// testOptions gives options for keychain kc with a service name of its own,
// and removes everything stored under it when the test ends.
func testOptions(t testing.TB, kc string) keyring.Options {
	t.Helper()
	service := "dstack-secrets-test-" + randomHex(t)
	opts := keyring.Options{Keychains: []string{kc}, Service: service}
	switch kc {
	case keyring.File:
		opts.FileDir = t.TempDir()
		opts.Env.Getenv = func(k string) string {
			if k == keyring.PasswordEnvVar {
				return "test password"
			}
			return os.Getenv(k)
		}
	case keyring.Pass:
		t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(os.Getenv("PASSWORD_STORE_DIR"), service)) })
	case keyring.KeyCtl:
		t.Cleanup(func() { unlinkKeyrings(t, service) })
	case keyring.SecretService:
		t.Cleanup(func() { deleteItems(t, service) })
	}
	return opts
}

// deleteItems removes the Secret Service items of a test's service name.
func deleteItems(t testing.TB, service string) {
	conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer conn.Close()
	var unlocked, locked []dbus.ObjectPath
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0, map[string]string{"service": service}).Store(&unlocked, &locked); err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, p := range append(unlocked, locked...) {
		if err := conn.Object("org.freedesktop.secrets", p).Call("org.freedesktop.Secret.Item.Delete", 0).Err; err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

var testKeychains = []string{keyring.SecretService, keyring.KeyCtl, keyring.Pass, keyring.File}

func TestConformance(t *testing.T) {
	for _, kc := range testKeychains {
		t.Run(kc, func(t *testing.T) {
			if kc != keyring.File {
				requireKeychains(t)
			}
			secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
				opts := testOptions(t, kc)
				return func(ctx context.Context, sc secrets.Scope) (secrets.Store, error) {
					return keyring.Open(ctx, sc, opts)
				}
			}, secretstest.Options{NoCreate: true})
		})
	}
}

// TestNotFoundNamesTheItem checks, in each real keychain, that a missing
// secret is reported with the keychain and the item it was looked for
// (Store.Locate), and that KeychainOf names the keychain.
func TestNotFoundNamesTheItem(t *testing.T) {
	want := map[string][]string{
		keyring.SecretService: {"keychain secret-service, collection default, item service=", "name=Missing_Name"},
		keyring.KeyCtl:        {"keychain keyctl, key Missing_Name-7e7 in keyring dstack-secrets-test-", "of the user keyring"},
		keyring.Pass:          {"keychain pass, entry dstack-secrets-test-", "/Missing_Name-7e7 of the password store"},
		keyring.File:          {"keychain file, file ", "Missing_Name-7e7"},
	}
	for _, kc := range testKeychains {
		t.Run(kc, func(t *testing.T) {
			if kc != keyring.File {
				requireKeychains(t)
			}
			ctx := testContext(t)
			s, err := keyring.Open(ctx, scope, testOptions(t, kc))
			if err != nil {
				t.Fatal(err)
			}
			defer secrets.Close(s)
			if got := keyring.KeychainOf(s); got != kc {
				t.Errorf("KeychainOf = %q, want %q", got, kc)
			}
			_, err = s.Get(ctx, "Missing_Name")
			checkErr(t, err, secrets.ErrNotFound, append([]string{`"Missing_Name"`, "backend keyring"}, want[kc]...)...)
			err = s.Delete(ctx, "Missing_Name")
			checkErr(t, err, secrets.ErrNotFound, want[kc]...)
		})
	}
	if got := keyring.KeychainOf(nil); got != "" {
		t.Errorf("KeychainOf(nil) = %q, want \"\"", got)
	}
}
