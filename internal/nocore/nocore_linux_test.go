package nocore

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDisable: after Disable the process has a soft core limit of 0 and is
// not dumpable, and a child started with Start gets the core limit back.
func TestDisable(t *testing.T) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		t.Fatal(err)
	}
	rl.Cur = min(rl.Max, 4096*1024)
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur == 0 {
		t.Skip("the hard core limit is 0: nothing to test")
	}
	if err := Disable(); err != nil {
		t.Fatal(err)
	}
	var now unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &now); err != nil || now.Cur != 0 || now.Max != rl.Max {
		t.Errorf("core limit after Disable: %+v %v, want soft 0, hard %d", now, err, rl.Max)
	}
	if d, err := dumpable(); err != nil || d {
		t.Errorf("dumpable after Disable: %v %v", d, err)
	}
	cmd := exec.Command("cat", "/proc/self/limits")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "Max core file size") {
			line = l
		}
	}
	if f := strings.Fields(line); len(f) < 5 || f[4] != "4194304" && rl.Cur == 4096*1024 {
		t.Errorf("the child's core limit: %q, want soft 4194304", line)
	}
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &now); err != nil || now.Cur != 0 {
		t.Errorf("core limit after Start: %+v %v, want 0 again", now, err)
	}
}
