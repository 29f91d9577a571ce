//go:build unix

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// helperEnv makes the test binary act as the dstack-secrets command: see
// TestHelperCLI.
const helperEnv = "DSTACK_SECRETS_TEST_HELPER_CLI"

// TestHelperCLI is not a test: when the test binary is started with
// helperEnv set, it runs the CLI with the arguments after "--" and exits,
// so that tests can send signals to a real dstack-secrets process.
func TestHelperCLI(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr, true))
}

// cliProcess starts the CLI as a separate process in a fresh home and
// repository, running "run -- sh -c script". It returns the process and a
// reader of its standard output.
func cliProcess(t *testing.T, script string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	return cliProcessWith(t, nil, script)
}

// cliProcessWith is cliProcess with run flags before "--".
func cliProcessWith(t *testing.T, runFlags []string, script string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	home := t.TempDir()
	repo := filepath.Join(t.TempDir(), "repo")
	os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	os.WriteFile(filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(repo, ".git", "config"), []byte("[remote \"origin\"]\n\turl = https://github.com/org/signals\n"), 0o644)
	// A safety net against a hung test, not a timing assertion.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	add := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperCLI$", "--", "add", "TOKEN", "from-the-store")
	add.Dir = repo
	add.Env = append(os.Environ(), helperEnv+"=1", "HOME="+home, "DSTACK_SECRETS_CONFIG=", "DSTACK_SECRETS_PROJECT=", "DSTACK_SECRETS_REPO=")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("add: %v: %s", err, out)
	}

	args := append([]string{"-test.run=^TestHelperCLI$", "--", "run"}, runFlags...)
	cmd := exec.CommandContext(ctx, os.Args[0], append(args, "--", "sh", "-c", script)...)
	cmd.Dir = repo
	cmd.Env = add.Env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewReader(out)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child's output: %v (got %q)", err, line)
	}
	return strings.TrimSuffix(line, "\n")
}

// TestRunForwardsSignals sends SIGINT and SIGTERM to a real dstack-secrets
// process running a shell that traps them: the shell must get the signal
// and its exit code must become dstack-secrets' exit code.
func TestRunForwardsSignals(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{
		{syscall.SIGTERM, "TERM", 42},
		{syscall.SIGINT, "INT", 43},
		{syscall.SIGHUP, "HUP", 44},
		{syscall.SIGUSR1, "USR1", 45},
		{syscall.SIGQUIT, "QUIT", 46},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The shell waits on a background sleep so that a trapped
			// signal interrupts the wait at once.
			script := `sleep 600 & p=$!
trap 'kill $p; echo "got TERM"; exit 42' TERM
trap 'kill $p; echo "got INT"; exit 43' INT
trap 'kill $p; echo "got HUP"; exit 44' HUP
trap 'kill $p; echo "got USR1"; exit 45' USR1
trap 'kill $p; echo "got QUIT"; exit 46' QUIT
echo "ready $TOKEN"
wait $p`
			cmd, out := cliProcess(t, script)
			if got := readLine(t, out); got != "ready ***" { // the secret reached the command, and its output is masked
				t.Fatalf("child said %q", got)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			if got := readLine(t, out); got != "got "+tc.name {
				t.Errorf("after SIG%s the child said %q", tc.name, got)
			}
			err := cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Errorf("dstack-secrets exited with %d (%v), want the child's %d", code, err, tc.code)
			}
		})
	}
}

// TestRunChildKilledBySignal: a child without a trap dies of the forwarded
// signal, and dstack-secrets exits with 128 + the signal number.
func TestRunChildKilledBySignal(t *testing.T) {
	cmd, out := cliProcess(t, `echo ready; exec sleep 600`)
	if got := readLine(t, out); got != "ready" {
		t.Fatalf("child said %q", got)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("dstack-secrets exited with %d, want %d", code, 128+int(syscall.SIGTERM))
	}
}

// TestRunTerminalInterruptNotDoubled runs dstack-secrets on a real
// pseudo-terminal as its controlling terminal, as in an interactive shell,
// and types Ctrl-C: the terminal sends SIGINT to the whole foreground
// process group, so the command must get it once, not a second time
// forwarded by dstack-secrets. A SIGTERM sent afterwards is forwarded (and
// would be delivered after a forwarded SIGINT), and the command reports
// how many SIGINTs it got.
func TestRunTerminalInterruptNotDoubled(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	home := t.TempDir()
	repo := filepath.Join(t.TempDir(), "repo")
	os.MkdirAll(filepath.Join(repo, ".git"), 0o755)
	os.WriteFile(filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	script := `n=0
sleep 600 & p=$!
trap 'n=$((n+1)); echo "INT $n"' INT
trap 'kill $p 2>/dev/null; echo "total $n"; exit 42' TERM
echo ready
while :; do wait $p; done`
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperCLI$", "--", "run", "--", "sh", "-c", script)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), helperEnv+"=1", "HOME="+home, "DSTACK_SECRETS_CONFIG=", "DSTACK_SECRETS_PROJECT=", "DSTACK_SECRETS_REPO=")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	screen := bufio.NewReader(ptmx)
	next := func() string {
		t.Helper()
		line, err := screen.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the terminal: %v (got %q)", err, line)
		}
		// The terminal echoes Ctrl-C as ^C.
		return strings.TrimPrefix(strings.TrimRight(line, "\r\n"), "^C")
	}
	if got := next(); got != "ready" {
		t.Fatalf("the command said %q", got)
	}
	if _, err := ptmx.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	for {
		got := next()
		if got == "INT 1" {
			break
		}
		if got != "" {
			t.Fatalf("after Ctrl-C the command said %q", got)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		got := next()
		if got == "total 1" {
			break
		}
		if got == "INT 2" || got == "total 2" {
			t.Fatalf("the command got SIGINT twice: the terminal's and a forwarded one")
		}
		t.Fatalf("the command said %q", got)
	}
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 {
		t.Errorf("dstack-secrets exited with %d, want the command's 42", code)
	}
}

// TestRunFileRemoved: the file of run --file is private while the command
// runs and gone after it ends, whether run is sent SIGTERM or SIGINT, or
// the command crashes or exits.
func TestRunFileRemoved(t *testing.T) {
	for _, how := range []string{"SIGTERM", "SIGINT", "crash", "exit"} {
		t.Run(how, func(t *testing.T) {
			// The command waits on a FIFO until the test has looked at the file.
			fifo := filepath.Join(t.TempDir(), "go")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Skip("no FIFOs here:", err)
			}
			then := map[string]string{"SIGTERM": "exec sleep 60", "SIGINT": "exec sleep 60", "crash": "kill -SEGV $$", "exit": "exit 3"}[how]
			script := `printf '%s\n' "$CRED"; read x < '` + fifo + `'; ` + then
			cmd, out := cliProcessWith(t, []string{"--file", "TOKEN=CRED"}, script)
			path := readLine(t, out)
			data, err := os.ReadFile(path)
			if err != nil || string(data) != "from-the-store" {
				t.Fatalf("the --file file holds %d bytes (%v), want the secret", len(data), err)
			}
			fi, _ := os.Stat(path)
			di, _ := os.Stat(filepath.Dir(path))
			if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
				t.Errorf("file mode %o in directory mode %o, want 600 in 700", fi.Mode().Perm(), di.Mode().Perm())
			}
			if err := os.WriteFile(fifo, []byte("go\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			switch how {
			case "SIGTERM":
				cmd.Process.Signal(syscall.SIGTERM)
			case "SIGINT":
				cmd.Process.Signal(syscall.SIGINT)
			}
			_ = cmd.Wait()
			if _, err := os.Stat(filepath.Dir(path)); err == nil {
				t.Errorf("the private directory of --file is still there after %s", how)
			}
		})
	}
}
