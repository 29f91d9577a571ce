//go:build linux

package childio

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/dstackai/dstack-secrets/redact"
	"golang.org/x/sys/unix"
)

// terminal is a real pseudo-terminal standing for the user's terminal:
// the code under test gets its tty side, the test types on the other side
// and reads the screen.
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
		if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("open a pseudo-terminal: %v", err)
		}
		t.Skipf("no pseudo-terminal here (%v): mount devpts to run this test", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 20, Cols: 60}); err != nil {
		t.Fatal(err)
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

func (term *terminal) typeText(s string) {
	term.t.Helper()
	if _, err := term.ptmx.Write([]byte(s)); err != nil {
		term.t.Fatal(err)
	}
}

func (term *terminal) termios() unix.Termios {
	term.t.Helper()
	st, err := unix.IoctlGetTermios(int(term.tty.Fd()), unix.TCGETS)
	if err != nil {
		term.t.Fatalf("termios: %v", err)
	}
	return *st
}

// sameMode reports whether two terminal modes are the same.
func sameMode(a, b unix.Termios) bool {
	return a.Iflag == b.Iflag && a.Oflag == b.Oflag && a.Cflag == b.Cflag && a.Lflag == b.Lflag && a.Cc == b.Cc
}

// startHelper runs the test binary's helper (see TestMain) in a new session
// whose controlling terminal is term, in the foreground, as a user's shell
// would run dstack-secrets run SCRIPT.
func startHelper(t *testing.T, term *terminal, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHILDIO_TEST_HELPER=1", "SECRET="+secret, "CHILDIO_TEST_SCRIPT="+script)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = term.tty, term.tty, term.tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// exitCode waits for the helper and returns its exit status; it kills a
// helper still running after a generous bound and fails.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	if !timer.Stop() {
		t.Fatal("the helper was still running after 30 s: killed")
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatal(err)
		}
	}
	return cmd.ProcessState.ExitCode()
}

func TestTerminalOutputMasked(t *testing.T) {
	term := newTerminal(t)
	var errOut bytes.Buffer
	c, err := Start(shell(`test -t 1 && echo "stdout-is-a-tty"; test -t 2 || echo "stderr-is-not"; printf 'value=%s\n' "$SECRET"; printf 'err=%s\n' "$SECRET" >&2; exit 6`),
		Options{Redactor: masker(), Stdout: term.tty, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Terminal() {
		t.Fatal("a command whose output is a terminal must run on a pseudo-terminal")
	}
	if code, err := c.Wait(); err != nil || code != 6 {
		t.Fatalf("Wait = %d, %v; want 6", code, err)
	}
	// Our terminal, in its normal mode, turns "\n" into "\r\n" (ONLCR);
	// the command's does not do it a second time.
	waitFor(t, term.text, "value=***\r\n")
	checkOutput(t, "screen", term.text(), "stdout-is-a-tty\r\nstderr-is-not\r\nvalue=***\r\n")
	checkOutput(t, "stderr", errOut.String(), "err=***\n")
}

func TestTerminalInteractive(t *testing.T) {
	term := newTerminal(t)
	before := term.termios()
	cmd := startHelper(t, term, `stty size; echo ready; read line; printf 'got:%s\n' "$line"; printf 'value:%s\n' "$SECRET"; exit 4`)
	waitFor(t, term.text, "ready")
	during := term.termios()
	if during.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 {
		t.Error("our terminal is not in raw mode while the command runs")
	}
	// Typed in one write, as a paste: the command's terminal echoes it, and
	// the echo is masked too. Line editing is the command's terminal's: the
	// backspace erases the x.
	term.typeText("hi " + secret + "x\x7f\r")
	code := exitCode(t, cmd)
	if code != 4 {
		t.Errorf("exit status %d, want 4; screen %q", code, term.text())
	}
	// The helper wrote everything to the terminal before it exited; the
	// screen's reader may still be reading it.
	for _, want := range []string{"20 60\r\n", "got:hi ***\r\n", "value:***\r\n"} {
		waitFor(t, term.text, want)
	}
	if strings.Contains(term.text(), secret) {
		t.Fatal("the secret was shown on the terminal")
	}
	if !sameMode(term.termios(), before) {
		t.Error("the terminal's mode was not restored")
	}
}

func TestTerminalRestoredWhenKilled(t *testing.T) {
	term := newTerminal(t)
	before := term.termios()
	cmd := startHelper(t, term, `echo ready; sleep 0.2; kill -KILL $$`)
	waitFor(t, term.text, "ready")
	if code := exitCode(t, cmd); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGKILL))
	}
	if !sameMode(term.termios(), before) {
		t.Error("the terminal's mode was not restored")
	}
}

func TestTerminalCtrlC(t *testing.T) {
	term := newTerminal(t)
	before := term.termios()
	cmd := startHelper(t, term, `trap 'echo got-int; exit 9' INT; echo ready; sleep 20`)
	waitFor(t, term.text, "ready")
	term.typeText("\x03")
	if code := exitCode(t, cmd); code != 9 {
		t.Errorf("exit status %d, want 9; screen %q", code, term.text())
	}
	waitFor(t, term.text, "got-int")
	if !sameMode(term.termios(), before) {
		t.Error("the terminal's mode was not restored")
	}
}

func TestTerminalWindowSize(t *testing.T) {
	term := newTerminal(t)
	cmd := startHelper(t, term, `stty size; echo ready; i=0; while [ "$(stty size)" = "20 60" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i+1)); done; echo "now $(stty size)"`)
	waitFor(t, term.text, "ready")
	// Resizing our terminal signals its foreground group (the helper) with
	// SIGWINCH; the helper must set the new size on the command's terminal.
	if err := pty.Setsize(term.ptmx, &pty.Winsize{Rows: 33, Cols: 77}); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("exit status %d; screen %q", code, term.text())
	}
	waitFor(t, term.text, "now 33 77")
}

func TestTerminalIdlePromptShown(t *testing.T) {
	// A prompt that ends with the start of the value is held back, then
	// shown after the idle time, while the command waits for input.
	term := newTerminal(t)
	cmd := startHelper(t, term, `printf 'enter %s' "${SECRET%???????}"; read line; echo "got $line"`)
	waitFor(t, term.text, "enter "+secret[:len(secret)-7])
	term.typeText("ok\r")
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("exit status %d", code)
	}
	waitFor(t, term.text, "got ok")
}

func TestTerminalCtrlZDoesNotHang(t *testing.T) {
	term := newTerminal(t)
	cmd := startHelper(t, term, `echo ready; sleep 0.3; echo after`)
	waitFor(t, term.text, "ready")
	term.typeText("\x1a")
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("exit status %d", code)
	}
	waitFor(t, term.text, "after")
}

func TestTerminalNothingToMaskSharesOurs(t *testing.T) {
	term := newTerminal(t)
	for _, r := range []*redact.Redactor{nil, redact.New(map[string]string{"SHORT": "abc"}, redact.Options{})} {
		c, err := Start(shell(`test -t 1 && echo tty`), Options{Redactor: r, Stdout: term.tty})
		if err != nil {
			t.Fatal(err)
		}
		if c.Terminal() {
			t.Error("with nothing to mask the command must get our terminal as it is")
		}
		if code, err := c.Wait(); code != 0 || err != nil {
			t.Errorf("Wait = %d, %v", code, err)
		}
	}
	waitFor(t, term.text, "tty\r\ntty\r\n")
}
