package keyring

import (
	"bytes"
	"os"
	"runtime"
	"slices"
	"testing"

	kr "github.com/99designs/keyring"
)

// TestModuleInitGuarded checks, in this test binary, that the keyring
// module's init functions ran without connecting to the session bus (the
// cause of the dbus-daemon leak, 99designs/keyring#103) and that the
// environment was restored afterwards. Under scripts/test the process has a
// live bus address, so an unguarded module would have registered its
// Secret Service backend.
func TestModuleInitGuarded(t *testing.T) {
	if !moduleInitGuarded {
		t.Fatal("the D-Bus guard was not in place when the keyring module initialised: package initialisation order changed")
	}
	for _, b := range []kr.BackendType{kr.SecretServiceBackend, kr.KWalletBackend} {
		if slices.Contains(kr.AvailableBackends(), b) {
			t.Errorf("the keyring module registered %s: its init function connected to the session bus", b)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	environ, err := os.ReadFile("/proc/self/environ")
	if err != nil {
		t.Fatal(err)
	}
	want, had := "", false
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("DBUS_SESSION_BUS_ADDRESS=")); ok {
			want, had = string(v), true
		}
	}
	got, has := os.LookupEnv("DBUS_SESSION_BUS_ADDRESS")
	if got != want || has != had {
		t.Errorf("DBUS_SESSION_BUS_ADDRESS is %q (set: %v) after initialisation, but the process started with %q (set: %v)", got, has, want, had)
	}
}
