//go:build linux

package reliability

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// coreLimit returns the "Max core file size" soft limit of a process as
// /proc shows it ("0", "unlimited", ...).
func coreLimit(t *testing.T, pid int) string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "Max core file size") {
			return strings.Fields(l)[4]
		}
	}
	t.Fatal("no core limit in /proc/PID/limits")
	return ""
}

// TestNoCoreDump crashes dstack-secrets (SIGABRT with GOTRACEBACK=crash,
// started with ulimit -c unlimited) while run holds the decrypted secrets
// and waits for its command: the kernel must not dump core. The wait
// status's core flag tells whatever core_pattern is (a file, or a pipe to
// systemd-coredump or apport, which ignores RLIMIT_CORE but not the
// dumpable flag); with a file pattern the test also looks for the file.
// The command run started still has the unlimited core limit.
func TestNoCoreDump(t *testing.T) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		t.Fatal(err)
	}
	saved := rl
	rl.Cur = rl.Max
	if rl.Max != unix.RLIM_INFINITY {
		t.Skipf("the hard core limit is %d, not unlimited; run as root or raise it", rl.Max)
	}
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_CORE, &saved)
	pattern, _ := os.ReadFile("/proc/sys/kernel/core_pattern")
	t.Logf("core_pattern %q", strings.TrimSpace(string(pattern)))

	s := newSandbox(t)
	m := newMarker(t)
	s.mustRun("", "add", "A", m)
	s.env = map[string]string{"GOTRACEBACK": "crash"}
	cmd := s.command(context.Background(), "", "run", "--", "sleep", "60")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.WaitDelay = time.Second // the command keeps stderr open
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	// Wait for the command: by then run has read the secrets.
	child := 0
	for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
		for _, task := range tasks {
			data, _ := os.ReadFile(task)
			if f := strings.Fields(string(data)); len(f) > 0 {
				child, _ = strconv.Atoi(f[0])
			}
		}
	}
	if child == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("run did not start its command: %s", errb.String())
	}
	defer syscall.Kill(child, syscall.SIGKILL)
	if got := coreLimit(t, child); got != "unlimited" {
		t.Errorf("the command run started has core limit %s, want the unlimited one run was started with", got)
	}
	t.Logf("dstack-secrets core limit %s, its command's %s", coreLimit(t, pid), coreLimit(t, child))
	if err := cmd.Process.Signal(syscall.SIGABRT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if err == nil || !ws.Signaled() || ws.Signal() != syscall.SIGABRT {
		t.Fatalf("dstack-secrets did not crash on SIGABRT: %v", err)
	}
	if ws.CoreDump() {
		t.Errorf("the kernel dumped core of dstack-secrets, with the decrypted secrets in it")
	}
	if p := strings.TrimSpace(string(pattern)); p != "" && !strings.HasPrefix(p, "|") {
		dir := s.repo // a relative pattern is relative to the crashing process's directory
		if filepath.IsAbs(p) {
			dir = filepath.Dir(p)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), "core") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			data, _ := os.ReadFile(path)
			if fi, _ := e.Info(); fi != nil && fi.ModTime().After(time.Now().Add(-time.Minute)) {
				t.Errorf("core file %s (%d bytes, holds the secret: %v)", path, len(data), bytes.Contains(data, []byte(m)))
				if strings.HasPrefix(path, s.root) {
					os.Remove(path)
				}
			}
		}
	}
}
