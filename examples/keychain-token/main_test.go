package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/keyring"
)

func runToken(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestKeychainToken logs in, reads the token and logs out against each real
// keychain started by scripts/test (gnome-keyring, pass, keyctl).
func TestKeychainToken(t *testing.T) {
	if os.Getenv("DSTACK_SECRETS_TEST_KEYRING") != "1" {
		msg := "the real keychains are not running; run scripts/test"
		if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	for _, kc := range []string{keyring.SecretService, keyring.Pass, keyring.KeyCtl} {
		t.Run(kc, func(t *testing.T) {
			var b [6]byte
			rand.Read(b[:])
			service := "dstack-secrets-test-example-" + hex.EncodeToString(b[:])
			flags := []string{"-keychain", kc, "-service", service, "-repo", "github.com/org/desktop-app"}
			t.Cleanup(func() { runToken(t, "", append(flags, "logout")...) })
			const token = "tok_0123456789abcdef"
			if code, out, errs := runToken(t, token+"\n", append(flags, "login")...); code != 0 || !strings.Contains(out, "keychain "+kc) {
				t.Fatalf("login: exit %d, %q, %s", code, out, errs)
			}
			if code, out, errs := runToken(t, "", append(flags, "token")...); code != 0 || out != token+"\n" {
				t.Fatalf("token: exit %d (value matches: %v), %s", code, out == token+"\n", errs)
			}
			if code, _, errs := runToken(t, "", append(flags, "logout")...); code != 0 {
				t.Fatalf("logout: exit %d, %s", code, errs)
			}
			if code, _, errs := runToken(t, "", append(flags, "token")...); code != 1 || !strings.Contains(errs, "not logged in") {
				t.Fatalf("token after logout: exit %d, %q", code, errs)
			}
		})
	}
	if code, _, _ := runToken(t, "", "frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
}
