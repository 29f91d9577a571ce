package keyring_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

// passEntry returns the pass entry of the secret name in store s, from its
// location ("keychain pass, entry E of the password store D").
func passEntry(t *testing.T, s secrets.Store, name string) string {
	t.Helper()
	loc := secrets.Unwrap(s).(secrets.Locator).Locate(name)
	_, rest, _ := strings.Cut(loc, "entry ")
	entry, _, ok := strings.Cut(rest, " of the password store")
	if !ok {
		t.Fatalf("no entry in %q", loc)
	}
	return entry
}

// pass runs the pass program on the test's password store.
func pass(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("pass", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pass %s: %v: %s", args[0], err, errb.String())
	}
	return out
}

// TestPassEntries: entries that pass's own users write (pass insert, pass
// insert -m) read as their values, entries the keyring module wrote (JSON)
// still read, and what the store writes is what "pass show" users expect:
// the value and a newline.
func TestPassEntries(t *testing.T) {
	requireKeychains(t)
	ctx := context.Background()
	opts := testOptions(t, keyring.Pass)
	s, err := keyring.Open(ctx, secrets.Scope{Project: "p", Repository: "github.com/org/pass"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	entry := func(name string) string { return passEntry(t, s, name) }

	// pass insert (one line, as typed at its prompt: it adds a newline).
	pass(t, []byte("Zs3cr3t\nZs3cr3t\n"), "insert", entry("API_TOKEN"))
	// pass insert -m (several lines).
	pass(t, []byte("-----BEGIN KEY-----\nabc\n-----END KEY-----\n"), "insert", "-m", entry("PEM"))
	// What earlier versions wrote through the keyring module.
	legacy := `{"Key":"OLD","Data":"` + base64.StdEncoding.EncodeToString([]byte("old value\n")) + `","Label":"dstack-secrets OLD","Description":"x"}`
	pass(t, []byte(legacy), "insert", "-m", entry("OLD"))
	for name, want := range map[string]string{"API_TOKEN": "Zs3cr3t", "PEM": "-----BEGIN KEY-----\nabc\n-----END KEY-----", "OLD": "old value\n"} {
		got, err := s.Get(ctx, name)
		if err != nil {
			t.Errorf("Get(%s): %v", name, err)
		} else if got != want {
			t.Errorf("Get(%s): mismatch (%d bytes, want %d)", name, len(got), len(want))
		}
	}
	// Written: the value and a newline, for pass show; values that could be
	// misread are kept in the unambiguous JSON form and read back exactly.
	for name, value := range map[string]string{
		"NEW":        "a value",
		"MULTI":      "line 1\nline 2\n",
		"LOOKS_JSON": `{"Key":"LOOKS_JSON","Data":"eA=="}`,
		"CR":         "ends in CR\r",
	} {
		if err := s.Set(ctx, name, value); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(ctx, name); err != nil || got != value {
			t.Errorf("round trip of %s: %v (mismatch: %v)", name, err, got != value)
		}
	}
	if out := pass(t, nil, "show", entry("NEW")); string(out) != "a value\n" {
		t.Errorf("pass show of a written entry: %q", out)
	}
	if out := pass(t, nil, "show", entry("MULTI")); string(out) != "line 1\nline 2\n\n" {
		t.Errorf("pass show of a written multi-line entry: %q", out)
	}
}

// TestPassForeignEntries: an entry that holds no secret value (binary) or
// that cannot be decrypted with the user's keys fails Get with a message
// that names the entry and quotes none of it, under secrets.ErrCorrupt
// rather than "backend unavailable"; GetAll leaves it out with a warning
// naming it and returns the others.
func TestPassForeignEntries(t *testing.T) {
	requireKeychains(t)
	ctx := context.Background()
	opts := testOptions(t, keyring.Pass)
	var warnings []string
	opts.Env.Warn = func(msg string) { warnings = append(warnings, msg) }
	s, err := keyring.Open(ctx, secrets.Scope{Project: "p", Repository: "github.com/org/foreign"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	if err := s.Set(ctx, "GOOD", "good value"); err != nil {
		t.Fatal(err)
	}
	pass(t, []byte("Z\xff\xfe\x00binary"), "insert", "-m", passEntry(t, s, "BINARY"))
	// An entry encrypted to another key, as a teammate's pass would write.
	other := t.TempDir()
	gpg := func(home string, stdin []byte, args ...string) []byte {
		cmd := exec.Command("gpg", append([]string{"--homedir", home, "--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %s: %v", args[0], err)
		}
		return out
	}
	gpg(other, nil, "--quick-gen-key", "other <other@example.invalid>", "future-default", "default", "never")
	enc := gpg(other, []byte("Zteammate\n"), "--encrypt", "--recipient", "other@example.invalid", "--trust-model", "always", "--output", "-")
	path := filepath.Join(os.Getenv("PASSWORD_STORE_DIR"), filepath.FromSlash(passEntry(t, s, "TEAMMATE"))+".gpg")
	if err := os.WriteFile(path, enc, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("gpgconf", "--homedir", other, "--kill", "all").Run() })

	for _, name := range []string{"BINARY", "TEAMMATE"} {
		_, err := s.Get(ctx, name)
		if !errors.Is(err, secrets.ErrCorrupt) || errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), passEntry(t, s, name)) {
			t.Errorf("Get(%s): %v", name, err)
		}
		if err != nil && (strings.Contains(err.Error(), "'Z'") || strings.Contains(err.Error(), "Zteammate") || strings.Contains(err.Error(), "invalid character")) {
			t.Errorf("Get(%s) quotes the entry: %v", name, err)
		}
	}
	all, err := secrets.GetAll(ctx, s)
	if err != nil {
		t.Fatalf("GetAll with foreign entries: %v", err)
	}
	if len(all) != 1 || all["GOOD"] != "good value" {
		t.Errorf("GetAll: %v", secrets.SortedNames(all))
	}
	if len(warnings) != 2 || !strings.Contains(warnings[0], "BINARY") || !strings.Contains(warnings[1], "TEAMMATE") {
		t.Errorf("warnings: %q", warnings)
	}
}
