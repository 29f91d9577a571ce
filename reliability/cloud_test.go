package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// cloudServers are the object stores of scripts/services/{s3,azurite,gcs}.sh.
var cloudServers = []struct {
	name string
	get  func(testing.TB) cloudtest.Server
}{
	{"s3", cloudtest.S3},
	{"azurite", cloudtest.Azurite},
	{"gcs", cloudtest.GCS},
}

// cloudLoadServers are cloudServers and SeaweedFS (scripts/services/
// seaweedfs.sh): the load test also runs on a distributed store, whose
// contended conditional writes are much slower than versitygw's.
var cloudLoadServers = append(slices.Clone(cloudServers), struct {
	name string
	get  func(testing.TB) cloudtest.Server
}{"seaweedfs", cloudtest.SeaweedFS})

var cloudScope = secrets.Scope{Project: "team", Repository: repoID}

// cloudSandbox is a sandbox whose default project "team" uses the cloud
// backend in a fresh bucket of srv (recipients mode); the CLI processes get
// the server's credentials in their environment, as they would from a CI
// runner's.
func cloudSandbox(t *testing.T, srv cloudtest.Server) (*sandbox, cloud.Options) {
	t.Helper()
	s := newSandbox(t)
	loc := srv.NewBucket(t)
	cfg := fmt.Sprintf("default_project: team\nprojects:\n  team:\n    backend: cloud\n    options:\n      url: %q\n      endpoint: %q\n", loc.URL, loc.Endpoint)
	path := filepath.Join(s.root, "secrets.yml")
	writeFile(t, path, cfg, 0o600)
	s.env[secrets.ConfigEnvVar] = path
	for k, v := range srv.Env {
		s.env[k] = v
	}
	return s, cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint, Env: secrets.Env{HomeDir: s.home, Getenv: func(string) string { return "" }}}
}

func openCloud(t *testing.T, opts cloud.Options) secrets.Store {
	t.Helper()
	st, err := cloud.Open(context.Background(), cloudScope, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { secrets.Close(st) })
	return st
}

// TestCloudConcurrentAdds: 16 workers each start 50 `add` processes one
// after another (800 processes, 16 at a time, all writing the one object
// of the repository with conditional writes), on every server and on
// SeaweedFS: all 800 secrets are present with their values.
func TestCloudConcurrentAdds(t *testing.T) {
	workers, perWorker := 16, 50
	if *long {
		perWorker = 200
	}
	for _, srv := range cloudLoadServers {
		t.Run(srv.name, func(t *testing.T) {
			s, opts := cloudSandbox(t, srv.get(t))
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan string, workers*perWorker)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWorker {
						name, value := fmt.Sprintf("W%02d_%03d", w, i), fmt.Sprintf("value %d of worker %d", i, w)
						if r := s.run("", "add", name, value); r.code != 0 {
							errs <- fmt.Sprintf("add %s: exit %d: %s", name, r.code, r.stderr)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			all, err := secrets.GetAll(context.Background(), openCloud(t, opts))
			if err != nil {
				t.Fatal(err)
			}
			missing := 0
			for w := range workers {
				for i := range perWorker {
					if all[fmt.Sprintf("W%02d_%03d", w, i)] != fmt.Sprintf("value %d of worker %d", i, w) {
						missing++
					}
				}
			}
			if missing > 0 || len(all) != workers*perWorker {
				t.Fatalf("%d of %d secrets missing or wrong; the store holds %d", missing, workers*perWorker, len(all))
			}
			if m := fileMode(t, filepath.Join(s.home, ".dstack", "secrets", cloud.DefaultIdentityFile)); m != 0o600 {
				t.Errorf("the identity file created by the first processes has mode %04o", m)
			}
			t.Logf("%s: %d processes (%d at a time) added %d secrets in %v; all present", srv.name, workers*perWorker, workers, len(all), time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestCloudCrashKills SIGKILLs `add` processes at random instants (50
// kills that land while the process runs, on every server) and checks that
// the store reads after every kill, that every acknowledged add is present
// and that no killed add left a partial value.
func TestCloudCrashKills(t *testing.T) {
	wantKills := 50
	if *long {
		wantKills = 500
	}
	for _, srv := range cloudServers {
		t.Run(srv.name, func(t *testing.T) {
			s, opts := cloudSandbox(t, srv.get(t))
			big := strings.Repeat("x", 1024)
			values := map[string]string{}
			for i := range 50 {
				values[fmt.Sprintf("SEED_%03d", i)] = fmt.Sprintf("%d-%s", i, big)
			}
			if err := secrets.SetMany(context.Background(), openCloud(t, opts), values, false); err != nil {
				t.Fatal(err)
			}
			var durs []time.Duration
			for i := range 5 {
				start := time.Now()
				s.mustRun("", "add", fmt.Sprintf("WARM_%d", i), "warm")
				durs = append(durs, time.Since(start))
			}
			slices.Sort(durs)
			typical := durs[len(durs)/2]
			acked := map[string]bool{}
			rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
			kills, attempts := 0, 0
			for kills < wantKills && attempts < wantKills*10 {
				attempts++
				name := fmt.Sprintf("K_%05d", attempts)
				values[name] = fmt.Sprintf("value-%d-%s", attempts, big)
				cmd := s.command(context.Background(), "", "add", name, values[name])
				var errb bytes.Buffer
				cmd.Stderr = &errb
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				timer := time.AfterFunc(time.Duration(rng.Int64N(int64(typical)*3/2)), func() { cmd.Process.Signal(syscall.SIGKILL) })
				err := cmd.Wait()
				timer.Stop()
				ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
				switch {
				case err == nil:
					acked[name] = true
				case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
					kills++
				default:
					t.Fatalf("add %s failed without being killed: %v: %s", name, err, errb.String())
				}
				if _, err := openCloud(t, opts).List(context.Background()); err != nil {
					t.Fatalf("after %d kills the store does not read: %v", kills, err)
				}
			}
			if kills < wantKills {
				t.Fatalf("only %d of %d attempts were killed in flight", kills, attempts)
			}
			all, err := secrets.GetAll(context.Background(), openCloud(t, opts))
			if err != nil {
				t.Fatal(err)
			}
			landed := 0
			for name, v := range all {
				if want, ok := values[name]; ok && v != want {
					t.Errorf("%s holds a value that was never written whole", name)
				}
				if strings.HasPrefix(name, "K_") && !acked[name] {
					landed++
				}
			}
			for name := range acked {
				if all[name] != values[name] {
					t.Errorf("acknowledged add of %s is lost", name)
				}
			}
			t.Logf("%s: %d processes, %d SIGKILLed in flight (%d of them had written), %d acknowledged adds present (typical add %v)",
				srv.name, attempts, kills, landed, len(acked), typical)
		})
	}
}

// TestCloudServerKilled SIGKILLs a versitygw of the test's own while
// writers and readers are in flight: each operation fails with a clear
// error by itself, within the timeout; after a restart on the same data
// every acknowledged write is present and the object is intact.
func TestCloudServerKilled(t *testing.T) {
	srv := cloudtest.S3(t)
	if srv.Bin == "" {
		t.Skip("DSTACK_SECRETS_TEST_S3_BIN is unset (scripts/services/s3.sh sets it)")
	}
	data := t.TempDir()
	addr := freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(srv.Bin, "--access", srv.Env["AWS_ACCESS_KEY_ID"], "--secret", srv.Env["AWS_SECRET_ACCESS_KEY"], "--port", addr, "posix", data)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		for range 3000 { // 30 s: the machine may be loaded
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return cmd
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("versitygw did not start")
		return nil
	}
	server := start()
	own := srv
	own.Endpoint = "http://" + addr
	loc := own.NewBucket(t)
	opts := cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint, Timeout: "15s", Env: secrets.Env{HomeDir: t.TempDir(), Getenv: func(string) string { return "" }}}
	st := openCloud(t, opts)
	ctx := context.Background()
	var (
		mu     sync.Mutex
		acked  = map[string]string{}
		killed atomic.Bool
		wg     sync.WaitGroup
		failed = make(chan error, 8)
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				name, value := fmt.Sprintf("G%d_%04d", g, i), fmt.Sprintf("value %d of %d", i, g)
				opStart := time.Now()
				var err error
				if g%4 == 3 {
					_, err = secrets.GetAll(ctx, st)
				} else {
					err = st.Set(ctx, name, value)
				}
				if err != nil {
					if !killed.Load() {
						t.Errorf("writer %d failed before the kill: %v", g, err)
					} else if took := time.Since(opStart); took > 30*time.Second {
						t.Errorf("writer %d: the failure took %v", g, took)
					}
					failed <- err
					return
				}
				if g%4 != 3 {
					mu.Lock()
					acked[name] = value
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(time.Second)
	killed.Store(true)
	server.Process.Signal(syscall.SIGKILL)
	server.Wait()
	wg.Wait()
	close(failed)
	for err := range failed {
		if !errors.Is(err, secrets.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("after the kill: not a clear unavailable error: %v", err)
		}
		if strings.Contains(err.Error(), "value ") {
			t.Errorf("an error holds a value: %v", err)
		}
	}
	start()
	all, err := secrets.GetAll(ctx, openCloud(t, opts))
	if err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	for name, v := range acked {
		if all[name] != v {
			t.Errorf("acknowledged write of %s lost", name)
		}
	}
	if err := st.Set(ctx, "AFTER_RESTART", "v"); err != nil {
		t.Errorf("writing after the restart: %v", err)
	}
	t.Logf("%d acknowledged writes before the kill, all present after the restart", len(acked))
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCloudPreconditionStorm: 32 writers, each with a store (and client) of
// its own, write to the one object of a repository at once, on every
// server: each adds its own secrets, all overwrite one shared secret and
// race to create another. Nothing is lost, the shared secret holds one
// writer's whole value, and exactly one create wins.
func TestCloudPreconditionStorm(t *testing.T) {
	writers, perWriter := 32, 10
	if *long {
		perWriter = 50
	}
	for _, srv := range cloudServers {
		t.Run(srv.name, func(t *testing.T) {
			server := srv.get(t)
			loc := server.NewBucket(t)
			opts := cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint, Timeout: "5m", Env: secrets.Env{HomeDir: t.TempDir(), Getenv: func(string) string { return "" }}}
			ctx := context.Background()
			if err := openCloud(t, opts).Set(ctx, "FIRST", "v"); err != nil {
				t.Fatal(err)
			}
			stores := make([]secrets.Store, writers)
			for w := range writers {
				stores[w] = openCloud(t, opts)
			}
			start := time.Now()
			var wg sync.WaitGroup
			var created atomic.Int32
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range perWriter {
						if err := stores[w].Set(ctx, fmt.Sprintf("W%02d_%03d", w, i), fmt.Sprintf("value %d of %d", i, w)); err != nil {
							t.Errorf("writer %d: %v", w, err)
							return
						}
						if i == perWriter/2 {
							if err := stores[w].Set(ctx, "SHARED", fmt.Sprintf("shared value of writer %d", w)); err != nil {
								t.Errorf("writer %d: SHARED: %v", w, err)
							}
							switch err := secrets.Create(ctx, stores[w], "ONCE", fmt.Sprintf("created by writer %d", w)); {
							case err == nil:
								created.Add(1)
							case !errors.Is(err, secrets.ErrExists):
								t.Errorf("writer %d: Create: %v", w, err)
							}
						}
					}
				}()
			}
			wg.Wait()
			took := time.Since(start)
			all, err := secrets.GetAll(ctx, openCloud(t, opts))
			if err != nil {
				t.Fatal(err)
			}
			lost := 0
			for w := range writers {
				for i := range perWriter {
					if all[fmt.Sprintf("W%02d_%03d", w, i)] != fmt.Sprintf("value %d of %d", i, w) {
						lost++
					}
				}
			}
			if lost > 0 {
				t.Errorf("%d of %d writes lost", lost, writers*perWriter)
			}
			if !strings.HasPrefix(all["SHARED"], "shared value of writer ") {
				t.Error("SHARED holds a value no writer wrote whole")
			}
			if created.Load() != 1 {
				t.Errorf("%d creates of ONCE succeeded, want exactly 1", created.Load())
			}
			n := writers*(perWriter+1) + 1
			t.Logf("%s: %d writers, %d conditional updates of one object in %v (%.1f/s)", srv.name, writers, n, took.Round(time.Millisecond), float64(n)/took.Seconds())
		})
	}
}

// fileMode returns the permission bits of path.
func fileMode(t *testing.T, path string) os.FileMode {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
