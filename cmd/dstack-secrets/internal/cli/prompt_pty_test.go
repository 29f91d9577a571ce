//go:build linux

package cli

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// terminal is a real pseudo-terminal: the CLI gets its tty side as stdin
// and stderr, the test types on the other side and reads the screen.
type terminal struct {
	t      *testing.T
	ptmx   *os.File
	tty    *os.File
	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{}
}

func newTerminal(t *testing.T) *terminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	term := &terminal{t: t, ptmx: ptmx, tty: tty, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 1024)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		tty.Close()
		ptmx.Close()
		<-term.done
	})
	return term
}

func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

// waitFor polls until the screen shows s, or fails after a generous bound.
func (term *terminal) waitFor(s string) {
	term.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(term.text(), s) {
		if time.Now().After(deadline) {
			term.t.Fatalf("terminal never showed %q; screen: %q", s, term.text())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitEcho polls until the terminal's echo flag is as wanted: a masked
// prompt turns echo off before reading.
func (term *terminal) waitEcho(on bool) {
	term.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
		if err != nil {
			term.t.Fatalf("termios: %v", err)
		}
		if (st.Lflag&unix.ECHO != 0) == on {
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("terminal echo never became %v", on)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (term *terminal) typeText(s string) {
	term.t.Helper()
	if _, err := term.ptmx.Write([]byte(s)); err != nil {
		term.t.Fatal(err)
	}
}

// runOnTerminal starts the CLI with the terminal as stdin and stderr.
func (h *harness) runOnTerminal(term *terminal, args ...string) (<-chan int, *bytes.Buffer) {
	var out bytes.Buffer
	codes := make(chan int, 1)
	go func() {
		codes <- Run(context.Background(), args, Params{
			Stdin: term.tty, Stdout: &out, Stderr: term.tty,
			Getenv:  func(k string) string { return h.vars[k] },
			HomeDir: h.home, Dir: h.repo,
		})
	}()
	return codes, &out
}

const typedSecret = "hunter2-typed-secret"

func TestMaskedPromptDoesNotEcho(t *testing.T) {
	h := newHarness(t)
	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "add", "TYPED")
	term.waitFor("Value of TYPED: ")
	term.waitEcho(false)
	term.typeText(typedSecret + "\r")
	if code := <-codes; code != 0 {
		t.Fatalf("add exited %d; screen %q", code, term.text())
	}
	term.waitFor("Added secret TYPED")
	if strings.Contains(term.text(), "hunter2") {
		t.Fatalf("the typed value was echoed on the terminal")
	}
	if v, err := h.open().Get(context.Background(), "TYPED"); err != nil || v != typedSecret {
		t.Fatalf("stored value differs from the typed one (err %v)", err)
	}
	// The terminal's echo is back on after the prompt.
	term.waitEcho(true)
}

func TestOverwriteConfirmationOnTerminal(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "K", "old"), 0, "")

	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "add", "K")
	term.waitFor(`Secret "K" already exists in project "default" (repository github.com/org/repo). Overwrite it? [y/N] `)
	term.typeText("n\r")
	if code := <-codes; code != 1 {
		t.Fatalf("declined overwrite exited %d", code)
	}
	term.waitFor(`secret "K" not changed`)

	term2 := newTerminal(t)
	codes, _ = h.runOnTerminal(term2, "add", "K")
	term2.waitFor("Overwrite it? [y/N] ")
	term2.typeText("y\r")
	term2.waitFor("Value of K: ")
	term2.waitEcho(false)
	term2.typeText(typedSecret + "\r")
	if code := <-codes; code != 0 {
		t.Fatalf("confirmed overwrite exited %d: %q", code, term2.text())
	}
	if strings.Contains(term2.text(), "hunter2") {
		t.Fatalf("the typed value was echoed")
	}
	if v, _ := h.open().Get(context.Background(), "K"); v != typedSecret {
		t.Fatalf("value not replaced")
	}
}

func TestDeleteConfirmationOnTerminal(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "K", "v"), 0, "")
	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "delete", "K")
	term.waitFor(`Delete secret "K" from project "default" (repository github.com/org/repo)? [y/N] `)
	term.typeText("\r") // the default is no
	if code := <-codes; code != 1 {
		t.Fatalf("declined delete exited %d", code)
	}
	if got := h.list(); len(got) != 1 {
		t.Fatalf("declined delete removed the secret")
	}
	term2 := newTerminal(t)
	codes, _ = h.runOnTerminal(term2, "delete", "K")
	term2.waitFor("[y/N] ")
	term2.typeText("yes\r")
	if code := <-codes; code != 0 {
		t.Fatalf("confirmed delete exited %d", code)
	}
	if got := h.list(); len(got) != 0 {
		t.Fatalf("confirmed delete kept the secret")
	}
}

func TestPassphrasePromptOnTerminal(t *testing.T) {
	h := newHarness(t)
	cfg := h.home + "/secrets.yml"
	os.WriteFile(cfg, []byte("projects:\n  default:\n    backend: file\n    options:\n      passphrase: true\n      scrypt_work_factor: 10\n      allow_weak_scrypt: true\n"), 0o600)
	h.vars["DSTACK_SECRETS_CONFIG"] = cfg
	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "add", "K", "value")
	term.waitFor(`Passphrase for project "default": `)
	term.waitEcho(false)
	term.typeText("hunter2-pass\r")
	term.waitFor("Repeat the passphrase: ")
	term.waitEcho(false)
	term.typeText("hunter2-pass\r")
	if code := <-codes; code != 0 {
		t.Fatalf("add with a prompted passphrase exited %d: %q", code, term.text())
	}
	if strings.Contains(term.text(), "hunter2") {
		t.Fatalf("the passphrase was echoed")
	}
	h.vars["DSTACK_SECRETS_PASSPHRASE"] = "hunter2-pass"
	if got := h.list(); len(got) != 1 {
		t.Fatalf("store not readable with the passphrase: %q", got)
	}
}

// TestPromptSignalRestoresEcho: SIGTERM during a masked prompt ends the
// command with 128+15 and the terminal's echo back on.
func TestPromptSignalRestoresEcho(t *testing.T) {
	h := newHarness(t)
	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "add", "K")
	term.waitFor("Value of K: ")
	term.waitEcho(false) // the prompt has registered its signal handler by now
	if err := unix.Kill(os.Getpid(), unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := <-codes; code != 128+15 {
		t.Fatalf("exit code %d, want %d", code, 128+15)
	}
	term.waitEcho(true)
	if got := h.list(); len(got) != 0 {
		t.Fatalf("an interrupted add stored %q", got)
	}
	// The abandoned terminal read (harmless in a real process, which exits)
	// still holds the tty: end it so the terminal can close.
	term.typeText("\r")
}
