package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// requireService skips a test whose real service is absent, or fails it
// under scripts/test (DSTACK_SECRETS_TEST_REQUIRE_SERVICES set).
func requireService(t *testing.T, ok bool, what, script string) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf("%s is not available: run scripts/test, which starts it with scripts/services/%s", what, script)
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func randomID(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestOtherBackendsEndToEnd runs copy, get, export, import and run against
// the keyring backend (gnome-keyring's Secret Service on the private bus of
// scripts/services/keychains.sh) and the vault backend (the dev server of
// scripts/services/vault.sh), starting from and returning to the file
// backend: file -> other -> file keeps every value byte for byte.
func TestOtherBackendsEndToEnd(t *testing.T) {
	id := randomID(t)
	for _, tc := range []struct {
		name, backend string
		options       string
		setup         func(t *testing.T, vars map[string]string)
	}{
		{
			name: "keyring", backend: "keyring",
			options: "      keychains: [secret-service]\n      service: dstack-secrets-test-cli-" + id + "\n",
			setup: func(t *testing.T, vars map[string]string) {
				requireService(t, os.Getenv("DSTACK_SECRETS_TEST_KEYRING") == "1" && os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "",
					"gnome-keyring on a private D-Bus session bus", "keychains.sh")
				vars["DBUS_SESSION_BUS_ADDRESS"] = os.Getenv("DBUS_SESSION_BUS_ADDRESS")
			},
		},
		{
			name: "vault", backend: "vault",
			options: "      mount: secret\n      prefix: cli-e2e-" + id + "\n",
			setup: func(t *testing.T, vars map[string]string) {
				addr, token := os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")
				requireService(t, addr != "" && token != "", "the Vault dev server", "vault.sh")
				vars["VAULT_ADDR"], vars["VAULT_TOKEN"] = addr, token
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			tc.setup(t, h.vars)
			h.useConfig("default_project: main\nprojects:\n" +
				"  main:\n    backend: file\n" +
				"  other:\n    backend: " + tc.backend + "\n    options:\n" + tc.options +
				"  back:\n    backend: file\n    options:\n      dir: " + filepath.Join(h.home, "back") + "\n")
			other := h.openProject("other", nil)
			t.Cleanup(func() { deleteAll(t, other) })
			endToEnd(t, h, tc.backend)
		})
	}
}

// deleteAll removes what a test left in a shared service.
func deleteAll(t *testing.T, s secrets.Store) {
	ctx := context.Background()
	names, err := s.List(ctx)
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	for _, n := range names {
		if err := s.Delete(ctx, n); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

func endToEnd(t *testing.T, h *harness, backend string) {
	ctx := context.Background()
	want := trickyWithMarker()
	src := h.openProject("main", nil)
	for name, v := range want {
		if err := src.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	desc := func(project, backend string) string {
		return fmt.Sprintf("project %q (backend %s, %s)", project, backend, repoDesc)
	}

	// copy file -> other backend.
	h.want(h.run("", "copy", "--to-project", "other"), 0, "Copied 17 secrets from "+desc("main", "file")+" to "+desc("other", backend)+": ")
	if got := h.allOf("other"); !maps.Equal(got, want) {
		for n := range want {
			if got[n] != want[n] {
				t.Errorf("%s differs in the %s backend after copy", n, backend)
			}
		}
		t.FailNow()
	}
	h.want(h.run("", "copy", "--to-project", "other", "TOKEN"), 1, "1 secret already exists in "+desc("other", backend)+": TOKEN; pass -y")

	// get and export read the same bytes from the other backend.
	for name, v := range want {
		if r := h.run("", "get", "--project", "other", name); r.code != 0 || r.stdout != v {
			t.Errorf("get %s from %s: exit %d, %d bytes, want %d", name, backend, r.code, len(r.stdout), len(v))
		}
	}
	fromFile := h.run("", "export", "--format", "json")
	fromOther := h.run("", "export", "--project", "other", "--format", "json")
	if fromFile.code != 0 || fromOther.code != 0 || fromOther.stdout != fromFile.stdout {
		t.Errorf("export from %s differs from export of the same secrets from the file backend (exit %d)", backend, fromOther.code)
	}
	if !strings.Contains(fromOther.stdout, `"ZERO_PADDED": "007"`) {
		t.Errorf("export --format json from %s lacks ZERO_PADDED", backend)
	}

	// run gets every secret from the other backend.
	if _, err := os.Stat("/usr/bin/env"); err == nil {
		r := h.runEnv([]string{"PATH=" + os.Getenv("PATH"), "TOKEN=inherited"}, "", "run", "--no-mask", "--project", "other", "env", "-0")
		env := parseEnv0(t, r.stdout)
		delete(env, "PATH")
		if r.code != 0 || !maps.Equal(env, want) {
			t.Errorf("run with %s: exit %d, the command got %d variables, want the %d secrets byte for byte", backend, r.code, len(env), len(want))
		}
	}

	// import into the other backend: refused, then overwritten with -y.
	doc := writeTemp(t, "TOKEN='"+marker+" imported'\nIMPORTED=\"line\\nbreak\"\n")
	h.want(h.run("", "import", "--project", "other", doc), 1, "1 secret already exists in project \"other\"")
	h.want(h.run("", "import", "--project", "other", "-y", doc), 0, "Imported 2 secrets into project \"other\" ("+repoDesc+"): TOKEN, IMPORTED (1 overwritten: TOKEN)")
	want["TOKEN"], want["IMPORTED"] = marker+" imported", "line\nbreak"

	// copy other backend -> another file project.
	h.want(h.run("", "copy", "--from-project", "other", "--to-project", "back"), 0, "Copied 18 secrets from "+desc("other", backend)+" to "+desc("back", "file")+": ")
	if got := h.allOf("back"); !maps.Equal(got, want) {
		t.Errorf("file -> %s -> file changed values", backend)
	}
}
