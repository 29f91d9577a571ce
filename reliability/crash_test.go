package reliability

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCrashKills SIGKILLs `add` and `delete` processes at random instants
// (at least 200 kills that land while the process runs) and checks after
// every kill that the store still opens, and at the end that every
// acknowledged (exit 0) write is in the store and that no unacknowledged
// write left a partial value.
func TestCrashKills(t *testing.T) {
	wantKills := 200
	if *long {
		wantKills = 2000
	}
	s := newSandbox(t)
	// A store of a realistic size, so that encryption and the write take a
	// while and kills land in every phase.
	big := strings.Repeat("x", 1024)
	s.seed(100, func(i int) string { return fmt.Sprintf("%d-%s", i, big) })

	// How long does an uninterrupted add take here?
	var durs []time.Duration
	for i := range 5 {
		start := time.Now()
		s.mustRun("", "add", fmt.Sprintf("WARM_%d", i), "warm")
		durs = append(durs, time.Since(start))
	}
	slices.Sort(durs)
	typical := durs[len(durs)/2]

	type state int
	const (
		present state = iota // acknowledged add: must be present with its value
		absent               // acknowledged delete: must be absent
		unknown              // unacknowledged op: either, but never a partial value
	)
	expect := map[string]state{}
	values := map[string]string{}
	var live, killedAdds []string // names acknowledged present and not targeted by a delete since
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	kills, acked, attempts, midWrite := 0, 0, 0, 0
	for kills < wantKills && attempts < wantKills*10 {
		attempts++
		var args []string
		var name string
		if len(live) > 0 && rng.IntN(10) < 3 {
			i := rng.IntN(len(live))
			name = live[i]
			live = slices.Delete(live, i, i+1)
			args = []string{"delete", "-y", name}
		} else {
			name = fmt.Sprintf("K_%05d", attempts)
			values[name] = fmt.Sprintf("value-%d-%s", attempts, big)
			args = []string{"add", name, values[name]}
		}
		cmd := s.command(context.Background(), "", args...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(typical) * 3 / 2))
		timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
		err := cmd.Wait()
		timer.Stop()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case err == nil:
			acked++
			if args[0] == "add" {
				expect[name] = present
				live = append(live, name)
			} else {
				expect[name] = absent
			}
		case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
			kills++
			expect[name] = unknown
			if args[0] == "add" {
				killedAdds = append(killedAdds, name)
			}
			if len(s.tempFiles()) > 0 {
				midWrite++
			}
		default:
			t.Fatalf("%s %s failed without being killed: %v: %s", args[0], name, err, errb.String())
		}
		// The store must open after every kill.
		if _, err := s.store().List(context.Background()); err != nil {
			t.Fatalf("after %d kills the store does not open: %v", kills, err)
		}
	}
	if kills < wantKills {
		t.Fatalf("only %d of %d attempts were killed in flight", kills, attempts)
	}
	all, err := s.all()
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range expect {
		v, ok := all[name]
		switch {
		case st == present && (!ok || v != values[name]):
			t.Errorf("acknowledged add of %s is lost (present %v)", name, ok)
		case st == absent && ok:
			t.Errorf("acknowledged delete of %s is lost", name)
		case ok && v != values[name]:
			t.Errorf("%s holds a value that was never written whole", name)
		}
	}
	for name := range all {
		if _, ok := expect[name]; !ok && !strings.HasPrefix(name, "SEED_") && !strings.HasPrefix(name, "WARM_") {
			t.Errorf("unexpected secret %s", name)
		}
	}
	// The next write cleans up what killed writers left.
	s.mustRun("", "add", "-y", "AFTER", "v")
	if tmp := s.tempFiles(); len(tmp) > 0 {
		t.Errorf("temporary files left after a successful write: %v", tmp)
	}
	if fi, err := os.Stat(s.storePath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("store file mode after the crashes: %v %v", fi.Mode(), err)
	}
	landed := 0
	for _, name := range killedAdds {
		if _, ok := all[name]; ok {
			landed++
		}
	}
	t.Logf("%d processes, %d SIGKILLed in flight (%d with a temporary file written, %d after the rename), %d acknowledged writes checked (typical add %v)",
		attempts, kills, midWrite, landed, acked, typical)
}
