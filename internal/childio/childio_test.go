//go:build linux

package childio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/redact"
)

// secret is the value the child prints; it is never shown by a failure.
const secret = "s3cr3t-V4lue-9f8e7d"

// TestMain runs the helper of the terminal tests when asked: a small "run"
// that starts CHILDIO_TEST_SCRIPT under sh through Run, with our standard
// streams, and exits with the status Run returns.
func TestMain(m *testing.M) {
	if os.Getenv("CHILDIO_TEST_HELPER") == "1" {
		os.Exit(helper())
	}
	os.Exit(m.Run())
}

func helper() int {
	r := redact.New(map[string]string{"SECRET": os.Getenv("SECRET")}, redact.Options{})
	cmd := exec.Command("sh", "-c", os.Getenv("CHILDIO_TEST_SCRIPT"))
	exiting := os.Getenv("CHILDIO_TEST_EXITING") == "1"
	code, err := Run(context.Background(), cmd, Options{Redactor: r, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Exiting: exiting})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 100
	}
	if os.Getenv("CHILDIO_TEST_TERM_AFTER") == "1" {
		// SIGTERM ourselves once Run has returned: fatal when Run restored
		// its disposition, ignored when Exiting left the handler in place.
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
		time.Sleep(500 * time.Millisecond)
		return 42
	}
	return code
}

// syncBuffer is a bytes.Buffer written by the copying goroutines and read
// by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// shell returns a command running script under sh with SECRET set.
func shell(script string) *exec.Cmd {
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "SECRET="+secret)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func masker() *redact.Redactor {
	return redact.New(map[string]string{"SECRET": secret}, redact.Options{})
}

// checkOutput fails when got is not want, or holds the secret, without
// printing the secret.
func checkOutput(t *testing.T, label, got, want string) {
	t.Helper()
	if strings.Contains(got, secret) {
		t.Errorf("%s: the secret was not masked", label)
		return
	}
	if got != want {
		t.Errorf("%s: got %q, want %q", label, got, want)
	}
}

func TestPipesMaskStdoutAndStderr(t *testing.T) {
	var out, errOut bytes.Buffer
	c, err := Start(shell(`printf 'out %s\n' "$SECRET"; printf 'err %s' "$SECRET" >&2; exit 3`),
		Options{Redactor: masker(), Stdout: &out, Stderr: &errOut})
	if err != nil {
		t.Fatal(err)
	}
	if c.Terminal() {
		t.Error("a command without a terminal must run on pipes")
	}
	code, err := c.Wait()
	if err != nil || code != 3 {
		t.Fatalf("Wait = %d, %v; want 3", code, err)
	}
	checkOutput(t, "stdout", out.String(), "out ***\n")
	checkOutput(t, "stderr", errOut.String(), "err ***")
}

func TestPipesSameWriterOneStream(t *testing.T) {
	var both bytes.Buffer
	// The value is split between the two streams' writes: one filter sees
	// both, in order.
	c, err := Start(shell(`printf '%s' "${SECRET%????}"; printf '%s\n' "${SECRET#${SECRET%????}}" >&2`),
		Options{Redactor: masker(), Stdout: &both, Stderr: &both})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(); err != nil || code != 0 {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	checkOutput(t, "stdout+stderr", both.String(), "***\n")
}

func TestPipesValueSplitAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	r := redact.New(map[string]string{"SECRET": secret}, redact.Options{IdleFlush: time.Minute})
	c, err := Start(shell(`printf 'a %s' "${SECRET%??????}"; sleep 0.2; printf '%s b\n' "${SECRET#${SECRET%??????}}"`),
		Options{Redactor: r, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, "stdout", out.String(), "a *** b\n")
}

func TestPipesStdinPassedThrough(t *testing.T) {
	var out bytes.Buffer
	c, err := Start(shell(`cat; echo done`), Options{Redactor: masker(), Stdin: strings.NewReader("hello " + secret + "\n"), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(); err != nil || code != 0 {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	checkOutput(t, "stdout", out.String(), "hello ***\ndone\n")
}

func TestNilRedactorPassesThrough(t *testing.T) {
	var out bytes.Buffer
	c, err := Start(shell(`printf 'plain %s' "$SECRET"`), Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "plain "+secret {
		t.Error("without a Redactor the output must be passed unchanged")
	}
}

func TestExitStatus(t *testing.T) {
	cases := []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 7", 7},
		{"exit 255", 255},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM)},
		{"kill -KILL $$", 128 + int(syscall.SIGKILL)},
	}
	for _, c := range cases {
		for _, tty := range []bool{false, true} {
			opts := Options{Redactor: masker(), Stdout: &bytes.Buffer{}}
			if tty {
				term := newTerminal(t)
				opts.Stdout = term.tty
			}
			code, err := Run(context.Background(), shell(c.script), opts)
			if err != nil || code != c.want {
				t.Errorf("%q (terminal %v): Run = %d, %v; want %d", c.script, tty, code, err, c.want)
			}
		}
	}
}

func TestStartErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing"), notExec} {
		_, err := Run(context.Background(), exec.Command(path), Options{Stdout: &bytes.Buffer{}})
		var se *StartError
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v is not a *StartError", filepath.Base(path), err)
		}
	}
	cmd := shell("true")
	cmd.Stdout = os.Stdout
	if _, err := Start(cmd, Options{}); err == nil {
		t.Error("Start must refuse a command whose streams are set")
	}
}

func TestRunPassesSignalsOn(t *testing.T) {
	var out syncBuffer
	done := make(chan struct{})
	var code int
	var err error
	go func() {
		defer close(done)
		code, err = Run(context.Background(), shell(`trap 'echo got-term; exit 5' TERM; echo ready; while :; do sleep 0.02; done`),
			Options{Redactor: masker(), Stdout: &out})
	}()
	waitFor(t, out.String, "ready")
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-done
	if err != nil || code != 5 {
		t.Fatalf("Run = %d, %v; want 5", code, err)
	}
	if !strings.Contains(out.String(), "got-term") {
		t.Errorf("the command did not get SIGTERM: %q", out.String())
	}
}

// TestRunRestoresSignals: after Run, a SIGTERM kills the process again,
// unless Options.Exiting left the forwarding handlers installed (the
// process exits anyway; restoring them costs a round trip per signal).
func TestRunRestoresSignals(t *testing.T) {
	for _, exiting := range []bool{false, true} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CHILDIO_TEST_HELPER=1", "CHILDIO_TEST_SCRIPT=exit 0", "CHILDIO_TEST_TERM_AFTER=1")
		if exiting {
			cmd.Env = append(cmd.Env, "CHILDIO_TEST_EXITING=1")
		}
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("exiting=%v: the helper: %v", exiting, err)
		}
		ws := ee.Sys().(syscall.WaitStatus)
		switch {
		case !exiting && !(ws.Signaled() && ws.Signal() == syscall.SIGTERM):
			t.Errorf("exiting=false: the helper was not killed by SIGTERM after Run (status %v): Run did not restore the signal", ws)
		case exiting && ws.ExitStatus() != 42:
			t.Errorf("exiting=true: the helper did not survive SIGTERM after Run (status %v)", ws)
		}
	}
}

func TestRunKillsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int)
	go func() {
		code, _ := Run(ctx, shell(`echo ready; exec sleep 60`), Options{Stdout: &out})
		done <- code
	}()
	waitFor(t, out.String, "ready")
	cancel()
	if code := <-done; code != 128+int(syscall.SIGKILL) {
		t.Errorf("code %d, want %d", code, 128+int(syscall.SIGKILL))
	}
}

// waitFor polls until get() holds s, or fails after a generous bound.
func waitFor(t *testing.T, get func() string, s string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(get(), s) {
		if time.Now().After(deadline) {
			got := get()
			if strings.Contains(got, secret) {
				got = "(output holding the secret)"
			}
			t.Fatalf("never saw %q; output: %q", s, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPipesSameFileOneStream: our standard output and error as two files
// open on the same pipe (2>&1) give the command one pipe and one filter:
// what it writes to each comes out in order, and a value split between
// them is masked.
func TestPipesSameFileOneStream(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fd, err := syscall.Dup(int(w.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	w2 := os.NewFile(uintptr(fd), "pipe")
	got := make(chan string)
	go func() {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r)
		got <- b.String()
	}()
	c, err := Start(shell(`echo a; echo b >&2; echo c; printf '%s' "${SECRET%????}"; printf '%s\n' "${SECRET#${SECRET%????}}" >&2`),
		Options{Redactor: masker(), Stdout: w, Stderr: w2})
	if err != nil {
		t.Fatal(err)
	}
	if code, err := c.Wait(); err != nil || code != 0 {
		t.Fatalf("Wait = %d, %v", code, err)
	}
	w.Close()
	w2.Close()
	// Pieces of the value would show if it were not masked: no content in
	// the failure.
	if out, want := <-got, "a\nb\nc\n***\n"; out != want {
		t.Errorf("stdout+stderr: %d bytes, not the %d expected (in order, the value masked)", len(out), len(want))
	}
}
