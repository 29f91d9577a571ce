//go:build unix

package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// childEnv makes the test binary act as a plugin program: see TestMain.
const childEnv = "DSTACK_SECRETS_TEST_PLUGIN_PROGRAM"

// TestMain runs the test binary as the plugin program serving
// testRegistry when childEnv is set; otherwise it runs the tests and then
// checks that no program was left running.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if len(os.Args) != 2 || os.Args[1] != ServeArg {
			fmt.Fprintf(os.Stderr, "test plugin: started with %q, want %q\n", os.Args[1:], ServeArg)
			os.Exit(2)
		}
		if err := Serve(context.Background(), testRegistry(), os.Stdin, os.Stdout, ServeEnv("fake", "PLUGIN_TEST_VAR", "PLUGIN_TEST_BYTES")); err != nil {
			fmt.Fprintln(os.Stderr, "test plugin:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Setenv(childEnv, "1")
	// Under -race a program exits a second late by default.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Setenv("PLUGIN_TEST_VAR", "from-the-process")
	os.Setenv("PLUGIN_TEST_UNDECLARED", "from-the-process")
	code := m.Run()
	if code == 0 {
		if kids := children(); len(kids) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: programs left running after the tests: pids %v\n", kids)
			code = 1
		}
	}
	os.Exit(code)
}

// children lists the child processes of the test process (Linux only).
func children() []string {
	var kids []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		data, _ := os.ReadFile(t)
		kids = append(kids, strings.Fields(string(data))...)
	}
	return kids
}

// testProgram finds the test binary itself, which serves testRegistry.
func testProgram() (string, error) { return os.Executable() }

func testBackends() *secrets.Registry {
	return secrets.NewRegistry(
		Backend("file", "the file backend, in a program", testProgram),
		Backend("fake", "the fake backend, in a program", testProgram),
	)
}

var testScope = secrets.Scope{Project: "p", Repository: "github.com/org/repo"}

// openFake opens the fake backend through the bridge and closes it at the
// end of the test, checking that its program is gone then.
func openFakeT(t *testing.T, env secrets.Env, opts secrets.Options) secrets.Store {
	t.Helper()
	s, err := testBackends().Open(context.Background(), secrets.OpenRequest{Scope: testScope, Backend: "fake", Options: opts, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	pid := pidOf(s)
	t.Cleanup(func() {
		if err := secrets.Close(s); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("the program (pid %d) is still there after Close: %v", pid, err)
		}
	})
	return s
}

func pidOf(s secrets.Store) int { return secrets.Unwrap(s).(*store).c.cmd.Process.Pid }

func TestConformanceFileBackendInAProgram(t *testing.T) {
	reg := testBackends()
	secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
		dir := t.TempDir()
		home := t.TempDir()
		return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
			return reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Options: secrets.Options{"dir": dir}, Env: secrets.Env{HomeDir: home}})
		}
	}, secretstest.Options{})
}

func TestErrorKindsRoundTrip(t *testing.T) {
	s := openFakeT(t, secrets.Env{}, nil)
	ctx := context.Background()
	const value = "MARKER-plugin-value-never-in-errors"
	for _, k := range errorKinds {
		name := "KIND_" + strings.ToUpper(k.name)
		_, err := s.Get(ctx, name)
		if !errors.Is(err, k.err) {
			t.Errorf("Get %s: %v does not match %v", name, err, k.err)
			continue
		}
		for _, other := range errorKinds {
			if other.err != k.err && errors.Is(err, other.err) && !errors.Is(k.err, other.err) {
				t.Errorf("Get %s: %v also matches %v", name, err, other.err)
			}
		}
		switch k.err {
		case secrets.ErrNotFound, secrets.ErrExists:
			// secrets.Wrap rewrites the message, with the location the
			// program's store gives.
			if want := "(backend fake, fake:/" + name + ")"; !strings.Contains(err.Error(), want) {
				t.Errorf("Get %s: %q lacks %q", name, err, want)
			}
		default:
			if want := "fake: kind " + k.name; !strings.Contains(err.Error(), want) {
				t.Errorf("Get %s: %q lacks the program's message %q", name, err, want)
			}
		}
		err = s.Set(ctx, name, value)
		if !errors.Is(err, k.err) {
			t.Errorf("Set %s: %v does not match %v", name, err, k.err)
		}
		if err != nil && strings.Contains(err.Error(), value) {
			t.Errorf("Set %s: the error contains the value", name)
		}
	}
	// The store of the program has no Create, GetAll or SetMany: its
	// secrets.Wrap answers them with its fallbacks, in the program.
	if all, err := secrets.GetAll(ctx, s); err != nil || len(all) != 2 || all["A"] != "value-A" || all["B"] != "value-B" {
		t.Errorf("GetAll: %d values (mismatch), %v", len(all), err)
	}
	if names, err := s.List(ctx); err != nil || strings.Join(names, ",") != "A,B" {
		t.Errorf("List = %q, %v; want A,B sorted", names, err)
	}
}

func TestOpenErrorsKeepTheirKind(t *testing.T) {
	for _, kind := range []string{"invalid_config", "auth", "unavailable"} {
		_, err := testBackends().Open(context.Background(), secrets.OpenRequest{Scope: testScope, Backend: "fake", Options: secrets.Options{"fail": kind}})
		if want := kindError(kind); !errors.Is(err, errors.Unwrap(want)) || !strings.Contains(err.Error(), want.Error()) {
			t.Errorf("open failing with %s: %v", kind, err)
		}
	}
	_, err := testBackends().Open(context.Background(), secrets.OpenRequest{Scope: testScope, Backend: "fake", Options: secrets.Options{"colour": "blue"}})
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), `unknown option "colour"`) {
		t.Errorf("unknown option: %v", err)
	}
}

func TestOptionsEnvironmentAndHome(t *testing.T) {
	env := secrets.Env{
		Getenv: func(k string) string {
			switch k {
			case "PLUGIN_TEST_VAR":
				return "from-the-parent"
			case "PLUGIN_TEST_BYTES":
				return "\xff\x00\xfe"
			case "PLUGIN_TEST_UNDECLARED":
				return "from-the-parent"
			}
			return ""
		},
		HomeDir: "/home/someone",
	}
	s := openFakeT(t, env, secrets.Options{"count": 3, "ratio": 0.5})
	for name, want := range map[string]string{
		"ENV_PLUGIN_TEST_VAR":        "hex:" + fmt.Sprintf("%x", "from-the-parent"),
		"ENV_PLUGIN_TEST_BYTES":      "hex:ff00fe",
		"ENV_PLUGIN_TEST_UNDECLARED": "hex:", // not declared: not passed
		"HOME":                       "/home/someone",
		"OPTS":                       "3 0.5",
		"PROMPT":                     "no prompt",
	} {
		if got, err := s.Get(context.Background(), name); err != nil || got != want {
			t.Errorf("Get %s = %q, %v; want %q", name, got, err, want)
		}
	}
}

// recordingPrompt is a parent's prompt that answers from answers in turn
// and records what it was asked.
type recordingPrompt struct {
	mu      sync.Mutex
	asked   []string
	answers []string
	err     error
}

func (p *recordingPrompt) prompt(_ context.Context, text string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, text)
	if p.err != nil {
		return "", p.err
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

func TestPromptIsForwarded(t *testing.T) {
	const typed = "typed ü\x00\t passphrase \\\"" // byte for byte
	rec := &recordingPrompt{answers: []string{typed, "one", "two"}}
	s := openFakeT(t, secrets.Env{Prompt: rec.prompt}, nil)
	if got, err := s.Get(context.Background(), "PROMPT"); err != nil || got != typed {
		t.Errorf("Get PROMPT: %d bytes (mismatch: %v), %v", len(got), got != typed, err)
	}
	if got, err := s.Get(context.Background(), "PROMPT_TWICE"); err != nil || got != "one+two" {
		t.Errorf("Get PROMPT_TWICE = %q, %v", got, err)
	}
	if want := []string{"Passphrase: ", "First: ", "Second: "}; strings.Join(rec.asked, "|") != strings.Join(want, "|") {
		t.Errorf("the parent was asked %q, want %q", rec.asked, want)
	}
}

func TestPromptAtOpen(t *testing.T) {
	rec := &recordingPrompt{answers: []string{"at open", "later"}}
	s := openFakeT(t, secrets.Env{Prompt: rec.prompt}, secrets.Options{"prompt_at_open": true})
	if got, err := s.Get(context.Background(), "OPENED"); err != nil || got != "at open" {
		t.Errorf("the answer of the prompt at open: %q, %v", got, err)
	}
	// A backend that kept the context of open prompts with it later, as
	// the keyring backend's file keychain does.
	if got, err := s.Get(context.Background(), "PROMPT_LATER"); err != nil || got != "later" {
		t.Errorf("a later prompt under the context of open: %q, %v", got, err)
	}
	rec.err = exitCode{130}
	_, err := s.Get(context.Background(), "PROMPT_LATER")
	var ec exitCode
	if !errors.As(err, &ec) {
		t.Errorf("an interrupted later prompt: %v", err)
	}
}

func TestPromptUnderAnEndedOpenContext(t *testing.T) {
	rec := &recordingPrompt{answers: []string{"never"}}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := testBackends().Open(ctx, secrets.OpenRequest{Scope: testScope, Backend: "fake", Env: secrets.Env{Prompt: func(ctx context.Context, text string) (string, error) {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		return rec.prompt(ctx, text)
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	cancel()
	// The program's context of open lives on; the parent's ended: the
	// prompt fails as it would in-process, and promptly.
	if _, err := s.Get(context.Background(), "PROMPT_LATER"); !errors.Is(err, context.Canceled) {
		t.Errorf("a later prompt under an ended context of open: %v", err)
	}
}

// exitCode stands for the CLI's error of an interrupted prompt, which must
// reach the caller as it would in-process.
type exitCode struct{ code int }

func (e exitCode) Error() string { return fmt.Sprintf("interrupted (%d)", e.code) }

func TestPromptErrorKeepsItsIdentity(t *testing.T) {
	rec := &recordingPrompt{err: fmt.Errorf("%w: at the prompt", exitCode{130})}
	s := openFakeT(t, secrets.Env{Prompt: rec.prompt}, nil)
	_, err := s.Get(context.Background(), "PROMPT")
	var ec exitCode
	if !errors.As(err, &ec) || ec.code != 130 || !strings.Contains(err.Error(), "fake: the prompt failed: interrupted (130): at the prompt") {
		t.Errorf("an interrupted prompt: %v", err)
	}
	// The store still works.
	if _, err := s.Get(context.Background(), "OPTS"); err != nil {
		t.Errorf("after a failed prompt: %v", err)
	}
}

func TestPromptEndsWithTheCall(t *testing.T) {
	asked := make(chan struct{})
	env := secrets.Env{Prompt: func(ctx context.Context, _ string) (string, error) {
		close(asked)
		<-ctx.Done() // a person who never types
		return "", ctx.Err()
	}}
	s := openFakeT(t, env, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Get(ctx, "PROMPT")
	<-asked
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a prompt past the call's deadline: %v", err)
	}
	if d := time.Since(start); d >= CancelGrace {
		t.Errorf("the call took %v: the program did not end its prompt with the call", d)
	}
	if _, err := s.Get(context.Background(), "OPTS"); err != nil {
		t.Errorf("the store after a prompt that timed out: %v", err)
	}
}

func TestNoPromptWithoutATerminal(t *testing.T) {
	s := openFakeT(t, secrets.Env{}, nil)
	if got, err := s.Get(context.Background(), "PROMPT"); err != nil || got != "no prompt" {
		t.Errorf("without a prompt in the parent the backend gets none: %q, %v", got, err)
	}
}

func TestWarningsNoticesAndTimeout(t *testing.T) {
	var mu sync.Mutex
	var got []string
	env := secrets.Env{
		Warn:    func(m string) { mu.Lock(); got = append(got, "warn: "+m); mu.Unlock() },
		Notice:  func(m string) { mu.Lock(); got = append(got, "notice: "+m); mu.Unlock() },
		Timeout: 90 * time.Second,
	}
	s := openFakeT(t, env, nil)
	if v, err := s.Get(context.Background(), "WARN"); err != nil || v != "warned" {
		t.Fatalf("Get WARN = %q, %v", v, err)
	}
	// Delivered before the call returned, in order.
	mu.Lock()
	if want := "warn: fake: a warning|notice: fake: a notice"; strings.Join(got, "|") != want {
		t.Errorf("the parent got %q, want %q", got, want)
	}
	mu.Unlock()
	if v, err := s.Get(context.Background(), "TIMEOUT"); err != nil || v != "1m30s" {
		t.Errorf("the timeout in the program: %q, %v", v, err)
	}
}

func TestDeadlineReachesTheProgram(t *testing.T) {
	s := openFakeT(t, secrets.Env{}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	want, _ := ctx.Deadline()
	got, err := s.Get(ctx, "DEADLINE")
	if d, perr := time.Parse(time.RFC3339Nano, got); err != nil || perr != nil || !d.Equal(want) {
		t.Errorf("deadline in the program %q (%v), want %v", got, err, want)
	}
	if got, err := s.Get(context.Background(), "DEADLINE"); got != "none" || err != nil {
		t.Errorf("without a deadline: %q, %v", got, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.Get(short, "BLOCK"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a call past its deadline: %v", err)
	}
	if _, err := s.Get(context.Background(), "OPTS"); err != nil {
		t.Errorf("the store after a call that timed out: %v", err)
	}
}

func TestCancelledCall(t *testing.T) {
	s := openFakeT(t, secrets.Env{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Get(ctx, "BLOCK")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v", err)
	}
	if !strings.Contains(err.Error(), "blocked until") {
		t.Errorf("cancelled call: %q lacks the program's answer", err)
	}
	if d := time.Since(start); d >= CancelGrace {
		t.Errorf("the cancelled call took %v: the program was killed rather than cancelled", d)
	}
	if _, err := s.Get(context.Background(), "OPTS"); err != nil {
		t.Errorf("the store after a cancelled call: %v", err)
	}
}

// TestCancelCauseReachesTheProgram: a backend that reports why its
// context ended (the vault backend: "interrupted by SIGINT") says it in
// the program as it would in-process.
func TestCancelCauseReachesTheProgram(t *testing.T) {
	s := openFakeT(t, secrets.Env{}, nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(fmt.Errorf("interrupted by SIGINT: %w", context.Canceled)) })
	_, err := s.Get(ctx, "CAUSE")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "fake: stopped: interrupted by SIGINT: context canceled") {
		t.Errorf("a call cancelled with a cause: %v", err)
	}
	// Without a cause, the plain error.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := s.Get(ctx2, "CAUSE"); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "fake: stopped: context canceled") {
		t.Errorf("a call cancelled without a cause: %v", err)
	}
}

func TestHungProgramIsKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("checks processes in /proc")
	}
	cancelGrace = 200 * time.Millisecond
	defer func() { cancelGrace = CancelGrace }()
	pidFile := filepath.Join(t.TempDir(), "pid")
	s := openFakeT(t, secrets.Env{}, secrets.Options{"pid_file": pidFile})
	pid := pidOf(s)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := s.Get(ctx, "HANG")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "was killed") {
		t.Errorf("a hung call: %v", err)
	}
	_, err = s.List(context.Background())
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "did not end within") {
		t.Errorf("the store after its program was killed: %v", err)
	}
	waitGone(t, "the program", pid)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	sleep, _ := strconv.Atoi(string(data))
	waitGone(t, "the process the program started", sleep)
}

// waitGone waits until pid no longer exists.
func waitGone(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			return
		}
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") && what != "the program" {
			return // killed, waiting for init to reap it
		}
		if time.Now().After(deadline) {
			t.Errorf("%s (pid %d) is still running", what, pid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProgramCrashMidCall(t *testing.T) {
	s := openFakeT(t, secrets.Env{}, nil)
	_, err := s.Get(context.Background(), "CRASH")
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), "dstack-secrets-fake, the program of the backend, exited unexpectedly (exit status 3)") {
		t.Errorf("a crash: %v", err)
	}
	if _, err := s.List(context.Background()); !errors.Is(err, secrets.ErrUnavailable) {
		t.Errorf("after a crash: %v", err)
	}
}

func TestClosedStore(t *testing.T) {
	s, err := testBackends().Open(context.Background(), secrets.OpenRequest{Scope: testScope, Backend: "fake"})
	if err != nil {
		t.Fatal(err)
	}
	if err := secrets.Close(s); err != nil {
		t.Fatal(err)
	}
	inner := secrets.Unwrap(s)
	if _, err := inner.List(context.Background()); !errors.Is(err, secrets.ErrClosed) {
		t.Errorf("the inner store after Close: %v", err)
	}
	if err := secrets.Close(inner); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func TestMissingProgram(t *testing.T) {
	_, err := secrets.NewRegistry(Backend("nothere", "", nil)).Open(context.Background(), secrets.OpenRequest{Scope: testScope, Backend: "nothere"})
	if !errors.Is(err, secrets.ErrUnavailable) {
		t.Errorf("missing program: %v", err)
	}
	for _, want := range []string{"the program dstack-secrets-nothere is not installed", "and in PATH", "go install ./cmd/dstack-secrets-nothere"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing program: %v lacks %q", err, want)
		}
	}
}

// script writes a shell script standing for a plugin program.
func script(t *testing.T, body string) func() (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dstack-secrets-fake")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return func() (string, error) { return p, nil }
}

func TestNotAPluginProgram(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"other output", "echo 'Usage: something else'; exec sleep 300", "does not speak the dstack-secrets plugin protocol"},
		{"exits", "echo oops >&2; exit 4", "exited before greeting (exit status 4)"},
		{"other version", `echo '{"protocol":99,"backends":[{"name":"fake"}]}'; exec cat >/dev/null`, "speaks version 99 of the plugin protocol"},
		{"other backend", `echo '{"protocol":2,"backends":[{"name":"other"}]}'; exec cat >/dev/null`, "does not serve the fake backend (it serves: other)"},
		{"not executable", "", "cannot start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exe := script(t, tc.body)
			if tc.name == "not executable" {
				p, _ := exe()
				os.Chmod(p, 0o600)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := secrets.NewRegistry(Backend("fake", "", exe)).Open(ctx, secrets.OpenRequest{Scope: testScope, Backend: "fake"})
			if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want ErrUnavailable with %q", err, tc.want)
			}
		})
	}
}

func TestOpenCancelledWhileStarting(t *testing.T) {
	exe := script(t, "exec sleep 300")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := secrets.NewRegistry(Backend("fake", "", exe)).Open(ctx, secrets.OpenRequest{Scope: testScope, Backend: "fake"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("open of a program that never greets: %v", err)
	}
}

// TestProjectLimitsReachTheProgram: the project's allow_unsafe_names and
// max_secrets are applied by the program's own checks (the CLI's side
// leaves the capacity check to it).
func TestProjectLimitsReachTheProgram(t *testing.T) {
	ctx := context.Background()
	open := func(req secrets.OpenRequest) secrets.Store {
		t.Helper()
		req.Scope, req.Backend = testScope, "file"
		req.Options, req.Env = secrets.Options{"dir": t.TempDir()}, secrets.Env{HomeDir: t.TempDir()}
		s, err := testBackends().Open(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { secrets.Close(s) })
		return s
	}
	if err := open(secrets.OpenRequest{}).Set(ctx, "LD_PRELOAD", "x"); err == nil {
		t.Errorf("LD_PRELOAD was stored without allow_unsafe_names")
	}
	if err := open(secrets.OpenRequest{AllowUnsafeNames: []string{"LD_PRELOAD"}}).Set(ctx, "LD_PRELOAD", "x"); err != nil {
		t.Errorf("LD_PRELOAD with allow_unsafe_names: %v", err)
	}
	s := open(secrets.OpenRequest{MaxSecrets: 2})
	if err := secrets.SetMany(ctx, s, map[string]string{"A": "1", "B": "2"}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "C", "3"); !errors.Is(err, secrets.ErrLimit) {
		t.Errorf("a third secret with max_secrets 2: %v, want ErrLimit", err)
	}
}

// TestEveryErrorOfSecretsCrosses: every sentinel error of package secrets
// is a kind of the protocol, so errors.Is works in the CLI as it does
// in-process (a new sentinel must be added here and to errorKinds).
func TestEveryErrorOfSecretsCrosses(t *testing.T) {
	for _, err := range []error{
		secrets.ErrNotFound, secrets.ErrExists, secrets.ErrInvalidName, secrets.ErrInvalidValue,
		secrets.ErrInvalidScope, secrets.ErrNotInRepository, secrets.ErrUnknownProject,
		secrets.ErrUnknownBackend, secrets.ErrInvalidConfig, secrets.ErrPermission,
		secrets.ErrUnavailable, secrets.ErrConflict, secrets.ErrCorrupt, secrets.ErrAuth,
		secrets.ErrClosed, secrets.ErrUnsafeName, secrets.ErrLimit,
	} {
		if !slices.ContainsFunc(errorKinds, func(k struct {
			name string
			err  error
		}) bool {
			return k.err == err
		}) {
			t.Errorf("%q is not a kind of the protocol (errorKinds)", err)
		}
	}
}
