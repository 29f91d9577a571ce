package reliability

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestVaultInterruptedBatches interrupts `import -y` and `copy -y` of 300
// secrets into Vault (layout entry, KV v2) at random instants while the
// batch is being written: 30 SIGKILLs, 10 SIGINTs and 4 SIGTERMs (more with
// -long). After every interruption,
// the repository as the next command reads it must hold either every
// secret as before the batch or every secret of the batch: never a mix.
// A SIGINT or SIGTERM that lands during the writes must end in a rollback
// that the command reports, with exit code 128+N.
func TestVaultInterruptedBatches(t *testing.T) {
	srv := sharedVault(t)
	kills, ints := 30, 10
	if *long {
		kills, ints = 50, 30
	}
	const n = 300
	s := newSandbox(t)
	prefix := "batch-" + randomHex(t)
	cfg := filepath.Join(s.root, "secrets.yml")
	writeFile(t, cfg, "projects:\n  rel:\n    backend: vault\n    options:\n      address: "+srv.addr+"\n      prefix: "+prefix+"\n  src:\n    backend: file\n", 0o600)
	s.env = map[string]string{"VAULT_TOKEN": srv.token, "DSTACK_SECRETS_CONFIG": cfg}
	dst := openVault(t, srv, srv.token, prefix)
	src, err := file.Open(context.Background(), secrets.Scope{Project: "src", Repository: repoID}, file.Options{Dir: s.storeDir()})
	if err != nil {
		t.Fatal(err)
	}
	raw := vaultRoot(t, srv)
	intentPath := prefix + "/rel/" + repoID + "/.dstack-intent"
	// The repository starts with 100 of the 300 names and one other secret.
	start := map[string]string{"KEEP": "kept"}
	for i := range 100 {
		start[fmt.Sprintf("B_%03d", i)] = fmt.Sprintf("start %d", i)
	}
	if err := secrets.SetMany(context.Background(), dst, start, false); err != nil {
		t.Fatal(err)
	}
	batch := func(trial int) map[string]string {
		m := make(map[string]string, n)
		for i := range n {
			m[fmt.Sprintf("B_%03d", i)] = fmt.Sprintf("trial %d value %d %s", trial, i, strings.Repeat("x", 40))
		}
		return m
	}
	// prepare writes the trial's batch where the command reads it.
	prepare := func(trial int, op string) []string {
		vals := batch(trial)
		if op == "import" {
			var b strings.Builder
			for _, k := range secrets.SortedNames(vals) {
				fmt.Fprintf(&b, "%s='%s'\n", k, vals[k])
			}
			p := filepath.Join(s.root, "batch.env")
			writeFile(t, p, b.String(), 0o600)
			return []string{"--project", "rel", "import", "-y", p}
		}
		if err := secrets.SetMany(context.Background(), src, vals, true); err != nil {
			t.Fatal(err)
		}
		return []string{"copy", "-y", "--from-project", "src", "--to-project", "rel"}
	}
	batchRunning := func() bool {
		sec, _ := raw.KVv2("secret").Get(context.Background(), intentPath)
		return sec != nil && sec.Data["id"] != nil
	}
	// waitBatch polls until the command has begun writing its batch (the
	// record exists) or has exited.
	waitBatch := func(cmd *exec.Cmd, exited <-chan struct{}) bool {
		for {
			if batchRunning() {
				return true
			}
			select {
			case <-exited:
				return false
			case <-time.After(3 * time.Millisecond):
			}
		}
	}
	// How long is a batch being written, uninterrupted?
	var windows []time.Duration
	for trial := range 4 {
		cmd := s.command(context.Background(), "", prepare(1000+trial, []string{"import", "copy"}[trial%2])...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		if waitBatch(cmd, exited) {
			t0 := time.Now()
			<-exited
			windows = append(windows, time.Since(t0))
		}
		<-exited
		if cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("an uninterrupted batch failed (exit %d)", cmd.ProcessState.ExitCode())
		}
	}
	if len(windows) == 0 {
		t.Fatal("never saw a batch record while a batch was written")
	}
	slices.Sort(windows)
	typical := windows[len(windows)/2]
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	type outcome struct{ midBatch, rolledBack, completed, before int }
	results := map[string]*outcome{}
	trial := 0
	for _, plan := range []struct {
		sig   syscall.Signal
		count int
	}{{syscall.SIGKILL, kills}, {syscall.SIGINT, ints}, {syscall.SIGTERM, 4}} {
		for k := range plan.count {
			trial++
			op := []string{"import", "copy"}[k%2]
			key := fmt.Sprintf("%v during %s", plan.sig, op)
			if results[key] == nil {
				results[key] = &outcome{}
			}
			res := results[key]
			before, err := secrets.GetAll(context.Background(), dst)
			if err != nil {
				t.Fatal(err)
			}
			args := prepare(trial, op)
			cmd := s.command(context.Background(), "", args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			mid := waitBatch(cmd, exited)
			if mid {
				// Somewhere in the writes (or just after them).
				time.Sleep(time.Duration(rng.Int64N(int64(typical))))
				res.midBatch++
			}
			cmd.Process.Signal(plan.sig)
			<-exited
			code := cmd.ProcessState.ExitCode()
			after, err := secrets.GetAll(context.Background(), dst)
			if err != nil {
				t.Fatalf("trial %d (%s): the next read fails: %v", trial, key, err)
			}
			want := batch(trial)
			for k, v := range before {
				if _, ok := want[k]; !ok {
					want[k] = v
				}
			}
			switch {
			case sameMap(after, before):
				res.before++
			case sameMap(after, want):
				res.completed++
			default:
				t.Errorf("trial %d (%s, exit %d): a partial state: %d of %d names hold the batch's value", trial, key, code, countEqual(after, batch(trial)), n)
			}
			if plan.sig != syscall.SIGKILL && code != 0 {
				msg := stderr.String()
				if code != 128+int(plan.sig) || !strings.Contains(msg, "interrupted by SIG") {
					t.Errorf("trial %d (%s): exit %d, stderr %q: want exit %d and a message that it was interrupted", trial, key, code, msg, 128+int(plan.sig))
				}
				if strings.Contains(msg, "rolled back") {
					res.rolledBack++
				} else if mid && !strings.Contains(msg, "nothing was written") {
					t.Errorf("trial %d (%s): interrupted while writing, stderr %q does not say that the writes were rolled back", trial, key, msg)
				}
			}
			if sec, _ := raw.KVv2("secret").Get(context.Background(), intentPath); sec != nil && sec.Data["id"] != nil {
				t.Errorf("trial %d (%s): the batch record is still there after the next command", trial, key)
			}
		}
	}
	for _, key := range secrets.SortedNames(results) {
		r := results[key]
		t.Logf("%s of %d secrets (writes take %v): %d signals sent while the batch was being written; afterwards %d times as before, %d times complete; %d reported rollbacks; 0 partial states allowed",
			key, n, typical.Round(time.Millisecond), r.midBatch, r.before, r.completed, r.rolledBack)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func countEqual(got, want map[string]string) int {
	c := 0
	for k, v := range want {
		if got[k] == v {
			c++
		}
	}
	return c
}

// vaultRoot is a client of srv with its root token.
func vaultRoot(t *testing.T, srv vaultServer) *api.Client {
	cfg := api.DefaultConfig()
	cfg.Address = srv.addr
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(srv.token)
	return c
}
