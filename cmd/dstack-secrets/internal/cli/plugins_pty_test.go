//go:build linux

package cli

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestKeyringPasswordPromptThroughItsProgram: the keyring backend's
// encrypted-file keychain, in dstack-secrets-keyring, asks for its
// password; dstack-secrets asks at its terminal, masked, and the program
// gets what was typed.
func TestKeyringPasswordPromptThroughItsProgram(t *testing.T) {
	h := newHarness(t)
	h.useConfig("default_project: k\nprojects:\n  k:\n    backend: keyring\n    options:\n      keychains: [file]\n")
	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "add", "TOKEN", marker)
	term.waitFor("Password of the keyring file store: ")
	term.waitEcho(false)
	term.typeText("hunter2-keyring\r")
	if code := <-codes; code != 0 {
		t.Fatalf("add with the password typed at the prompt exited %d: %q", code, term.text())
	}
	term.waitFor(`Added secret TOKEN in project "k"`)
	if strings.Contains(term.text(), "hunter2") {
		t.Fatalf("the password was echoed")
	}
	term.waitEcho(true)
	// The password typed is the keychain's: it reads the value back.
	h.vars[keyringPasswordEnvVar] = "hunter2-keyring"
	if r := h.run("", "get", "TOKEN"); r.code != 0 || r.stdout != marker {
		t.Errorf("get with the password: exit %d, %d bytes (mismatch)", r.code, len(r.stdout))
	}

	// A wrong password typed at the prompt fails as in-process.
	delete(h.vars, keyringPasswordEnvVar)
	term2 := newTerminal(t)
	codes, out := h.runOnTerminal(term2, "get", "TOKEN")
	term2.waitFor("Password of the keyring file store: ")
	term2.waitEcho(false)
	term2.typeText("wrong\r")
	if code := <-codes; code != 1 || out.Len() != 0 {
		t.Fatalf("get with a wrong password exited %d with %d bytes of output", code, out.Len())
	}
	term2.waitFor("wrong password")
}

// TestSignalAtAPluginPrompt: SIGTERM at the keyring program's password
// prompt ends the command with 128+15 and the terminal's echo back on, as
// at a prompt of the CLI itself.
func TestSignalAtAPluginPrompt(t *testing.T) {
	h := newHarness(t)
	h.useConfig("default_project: k\nprojects:\n  k:\n    backend: keyring\n    options:\n      keychains: [file]\n")
	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "add", "TOKEN", marker)
	term.waitFor("Password of the keyring file store: ")
	term.waitEcho(false)
	if err := unix.Kill(os.Getpid(), unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-codes; code != 128+15 {
		t.Fatalf("exit code %d, want %d; screen %q", code, 128+15, term.text())
	}
	term.waitEcho(true)
	term.typeText("\r") // ends the abandoned terminal read
}
