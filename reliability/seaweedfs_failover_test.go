package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// seaweedFailoverEnv selects the form of TestSeaweedFSFailover: unset, the
// short form (one volume server SIGKILLed during writes); "full", also the
// leader master SIGKILLed and a new one elected.
const seaweedFailoverEnv = "DSTACK_SECRETS_TEST_SEAWEEDFS_FAILOVER"

// weedNode is one process of a SeaweedFS cluster of the test's own.
type weedNode struct {
	name string
	args []string
	http string // 127.0.0.1:port of its HTTP API
	grpc int
	cmd  *exec.Cmd
	log  string
}

// addr is the node's address as SeaweedFS writes it with an explicit gRPC
// port: host:port.grpcPort.
func (n *weedNode) addr() string { return n.http + "." + strconv.Itoa(n.grpc) }

// weedCluster is 3 masters (Raft through -peers), 3 volume servers and one
// filer with the S3 gateway, with -defaultReplication=001 (every file on
// two volume servers), all on 127.0.0.1 in a temporary directory.
type weedCluster struct {
	t       *testing.T
	bin     string
	dir     string
	masters []*weedNode
	volumes []*weedNode
	filer   *weedNode
	server  cloudtest.Server // the S3 gateway, as a cloudtest server
}

// freePorts returns n distinct ports free on 127.0.0.1 (all held open
// until the last is found).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// freePortPair returns a port p in 20000..29999 such that p and p+offset
// are both free on 127.0.0.1.
func freePortPair(t *testing.T, offset int) int {
	t.Helper()
	for range 200 {
		p := 20000 + mrand.IntN(10000)
		a, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+offset))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free port pair found")
	return 0
}

// startWeedCluster starts the cluster from bin and waits until a leader is
// elected, the three volume servers have registered and a bucket takes
// writes. Every process is stopped by PID when the test ends, also when it
// fails.
func startWeedCluster(t *testing.T, bin string) *weedCluster {
	t.Helper()
	c := &weedCluster{t: t, bin: bin, dir: t.TempDir()}
	ports := freePorts(t, 16)
	ak, sk := "AK"+randomHex(t), "SK"+randomHex(t)
	s3json := filepath.Join(c.dir, "s3.json")
	writeFile(t, s3json, fmt.Sprintf(`{"identities":[{"name":"admin","credentials":[{"accessKey":%q,"secretKey":%q}],"actions":["Admin","Read","Write","List","Tagging"]}]}`, ak, sk), 0o600)
	node := func(name string, i int) *weedNode {
		d := filepath.Join(c.dir, name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		return &weedNode{name: name, http: "127.0.0.1:" + strconv.Itoa(ports[2*i]), grpc: ports[2*i+1], log: filepath.Join(d, "log")}
	}
	for i := range 3 {
		c.masters = append(c.masters, node(fmt.Sprintf("master%d", i+1), i))
	}
	var peers []string
	for _, m := range c.masters {
		peers = append(peers, m.addr())
	}
	masterList := strings.Join(peers, ",")
	common := func(n *weedNode) []string {
		port := strings.TrimPrefix(n.http, "127.0.0.1:")
		return []string{"-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-port=" + port, "-port.grpc=" + strconv.Itoa(n.grpc)}
	}
	for _, m := range c.masters {
		m.args = append([]string{"master"}, common(m)...)
		m.args = append(m.args, "-mdir="+filepath.Dir(m.log), "-peers="+masterList, "-defaultReplication=001",
			"-volumeSizeLimitMB=64", "-telemetry=false")
	}
	for i := range 3 {
		v := node(fmt.Sprintf("volume%d", i+1), 3+i)
		v.args = append([]string{"volume"}, common(v)...)
		v.args = append(v.args, "-dir="+filepath.Dir(v.log), "-master="+masterList, "-max=30", "-preStopSeconds=0")
		c.volumes = append(c.volumes, v)
	}
	c.filer = node("filer", 6)
	// The S3 gateway inside the filer dials the filer's gRPC at the
	// default port+10000 whatever -port.grpc says, so the filer gets a
	// port whose +10000 is free too, and no -port.grpc.
	fport := freePortPair(t, 10000)
	c.filer.http, c.filer.grpc = "127.0.0.1:"+strconv.Itoa(fport), fport+10000
	fd := filepath.Dir(c.filer.log)
	c.filer.args = append([]string{"filer"}, common(c.filer)[:3]...)
	c.filer.args = append(c.filer.args, "-master="+masterList, "-defaultStoreDir="+fd, "-localSocket="+filepath.Join(fd, "f.sock"),
		"-s3", "-s3.port="+strconv.Itoa(ports[14]), "-s3.port.grpc="+strconv.Itoa(ports[15]), "-s3.config="+s3json,
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.localSocket="+filepath.Join(fd, "s.sock"))
	c.server = cloudtest.Server{Name: "seaweedfs", Endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[14]), Bin: bin, Env: map[string]string{
		"AWS_ACCESS_KEY_ID": ak, "AWS_SECRET_ACCESS_KEY": sk, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
	}}

	for _, n := range c.masters {
		c.start(n)
	}
	for _, n := range c.volumes {
		c.start(n)
	}
	c.start(c.filer)
	deadline := time.Now().Add(90 * time.Second)
	for c.leader() < 0 || c.dataNodes() < 3 {
		if time.Now().After(deadline) {
			c.fatalf("no leader with 3 volume servers within 90 s (leader %d, volume servers %d)", c.leader(), c.dataNodes())
		}
		time.Sleep(200 * time.Millisecond)
	}
	s3addr := strings.TrimPrefix(c.server.Endpoint, "http://")
	for {
		if conn, err := net.Dial("tcp", s3addr); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			c.fatalf("the S3 gateway on %s did not start within 90 s", s3addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return c
}

// newBucket creates a bucket through the S3 gateway, retrying while the
// filer is still connecting to the masters.
func (c *weedCluster) newBucket() cloudtest.Location {
	c.t.Helper()
	c.server.Setenv(c.t)
	name := cloudtest.RandomName("dstack")
	for try := 0; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.server.CreateBucket(ctx, name)
		cancel()
		if err == nil {
			return c.server.Options(name, "team")
		}
		if try == 40 {
			c.fatalf("creating bucket %s: %v", name, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// start starts node n; the test's cleanup SIGKILLs it by PID and reaps it.
func (c *weedCluster) start(n *weedNode) {
	c.t.Helper()
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(c.bin, n.args...)
	cmd.Dir = filepath.Dir(n.log) // weed reads ./*.toml and writes ./ files
	cmd.Env = []string{"HOME=" + filepath.Dir(n.log), "PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	n.cmd = cmd
	c.t.Cleanup(func() { c.kill(n) })
}

// kill SIGKILLs node n by PID and reaps it (a no-op when it is gone).
func (c *weedCluster) kill(n *weedNode) {
	if n.cmd == nil || n.cmd.ProcessState != nil {
		return
	}
	n.cmd.Process.Kill()
	n.cmd.Wait()
}

// fatalf fails the test with the tail of every node's log.
func (c *weedCluster) fatalf(format string, args ...any) {
	c.t.Helper()
	for _, n := range slices.Concat(c.masters, c.volumes, []*weedNode{c.filer}) {
		b, _ := os.ReadFile(n.log)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		c.t.Logf("%s (%s) log tail:\n%s", n.name, n.http, strings.Join(lines[max(0, len(lines)-8):], "\n"))
	}
	c.t.Fatalf(format, args...)
}

var weedHTTP = http.Client{Timeout: 2 * time.Second}

func getJSON(url string, v any) error {
	resp, err := weedHTTP.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// leader returns the index of the master that is the Raft leader and
// knows it, or -1.
func (c *weedCluster) leader() int {
	for i, m := range c.masters {
		if m.cmd == nil || m.cmd.ProcessState != nil {
			continue
		}
		var st struct{ IsLeader bool }
		if getJSON("http://"+m.http+"/cluster/status", &st) == nil && st.IsLeader {
			return i
		}
	}
	return -1
}

// dataNodes is the number of volume servers the leader knows.
func (c *weedCluster) dataNodes() int {
	l := c.leader()
	if l < 0 {
		return 0
	}
	var st struct {
		Topology struct {
			DataCenters []struct {
				Racks []struct {
					DataNodes []json.RawMessage
				}
			}
		}
	}
	if getJSON("http://"+c.masters[l].http+"/dir/status", &st) != nil {
		return 0
	}
	n := 0
	for _, dc := range st.Topology.DataCenters {
		for _, r := range dc.Racks {
			n += len(r.DataNodes)
		}
	}
	return n
}

// weedOp is one operation of the failover test's writers and reader.
type weedOp struct {
	writer     int
	name       string // empty for a read
	start, end time.Duration
	err        error
}

// TestSeaweedFSFailover runs 4 writers (each on a repository of its own,
// so that no precondition contention slows them) and a reader against a
// 3-master, 3-volume-server SeaweedFS cluster with replication 001 and
// SIGKILLs one volume server mid-write: no operation may fail, writes and
// reads go on, every acknowledged write is present. With
// DSTACK_SECRETS_TEST_SEAWEEDFS_FAILOVER=full it then also SIGKILLs the
// leader master, waits for a new leader and checks the same (operations
// may be slow during the election; the store's timeout is 60 s).
func TestSeaweedFSFailover(t *testing.T) {
	bin := os.Getenv("DSTACK_SECRETS_TEST_SEAWEEDFS_BIN")
	if bin == "" {
		const how = "no SeaweedFS binary: run scripts/test, or in bash `source scripts/services/seaweedfs.sh && seaweedfs_install && seaweedfs_start` before go test"
		if requireServices() {
			t.Fatal(how + " (DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set, so this is a failure)")
		}
		t.Skip(how)
	}
	full := false
	switch v := os.Getenv(seaweedFailoverEnv); v {
	case "", "short":
	case "full":
		full = true
	default:
		t.Fatalf("%s=%q: want short (the default) or full", seaweedFailoverEnv, v)
	}
	begin := time.Now()
	c := startWeedCluster(t, bin)
	clusterUp := time.Since(begin)

	loc := c.newBucket()
	const writers = 4
	ctx := context.Background()
	stores := make([]secrets.Store, writers)
	opts := cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint, Timeout: "60s", Env: secrets.Env{HomeDir: t.TempDir(), Getenv: func(string) string { return "" }}}
	scope := func(w int) secrets.Scope {
		return secrets.Scope{Project: "team", Repository: fmt.Sprintf("github.com/org/repo%d", w)}
	}
	firstWrite := time.Now()
	for w := range writers {
		st, err := cloud.Open(ctx, scope(w), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { secrets.Close(st) })
		stores[w] = st
		// The first write to a new bucket grows its volumes: allow it time.
		for try := 0; ; try++ {
			err := st.Set(ctx, "FIRST", "v")
			if err == nil {
				break
			}
			if try == 20 {
				c.fatalf("writer %d: the first write does not succeed: %v", w, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	ready := time.Since(begin)
	t.Logf("cluster up (leader, 3 volume servers) in %v; first writes of %d repositories done %v later", clusterUp.Round(time.Millisecond), writers, time.Since(firstWrite).Round(time.Millisecond))

	var (
		mu  sync.Mutex
		ops []weedOp
		wg  sync.WaitGroup
	)
	stop := make(chan struct{})
	record := func(op weedOp) {
		mu.Lock()
		ops = append(ops, op)
		mu.Unlock()
	}
	writeUntilStopped(&wg, stop, writers, func(w, i int) {
		name := fmt.Sprintf("W%d_%05d", w, i)
		st := time.Since(begin)
		err := stores[w].Set(ctx, name, "value of "+name)
		record(weedOp{w, name, st, time.Since(begin), err})
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			st := time.Since(begin)
			_, err := secrets.GetAll(ctx, stores[0])
			record(weedOp{-1, "", st, time.Since(begin), err})
		}
	}()

	type event struct {
		what string
		at   time.Duration
	}
	var events []event
	mark := func(what string) { events = append(events, event{what, time.Since(begin)}) }
	time.Sleep(2 * time.Second)
	victim := c.volumes[1]
	c.kill(victim)
	mark("volume server " + victim.name + " SIGKILLed")
	time.Sleep(5 * time.Second)
	if full {
		l := c.leader()
		if l < 0 {
			c.fatalf("no leader before the master kill")
		}
		c.kill(c.masters[l])
		mark(fmt.Sprintf("leader %s SIGKILLed", c.masters[l].name))
		for c.leader() < 0 {
			if time.Since(begin) > events[len(events)-1].at+60*time.Second {
				close(stop)
				wg.Wait()
				c.fatalf("no new leader within 60 s of the kill")
			}
			time.Sleep(100 * time.Millisecond)
		}
		mark(fmt.Sprintf("new leader %s", c.masters[c.leader()].name))
		// Go on until every writer has written after the election.
		elected := events[len(events)-1].at
		for !allWroteAfter(&mu, &ops, writers, elected) && time.Since(begin) < elected+60*time.Second {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
	}
	close(stop)
	wg.Wait()

	// Check: every operation succeeded, every writer wrote after each
	// event, and every acknowledged write is present.
	failed := 0
	for _, op := range ops {
		if op.err != nil {
			failed++
			if failed <= 3 {
				what := "read"
				if op.name != "" {
					what = "write of " + op.name
				}
				t.Errorf("%s (started at %.1fs) failed: %v", what, op.start.Seconds(), op.err)
			}
		}
	}
	for _, ev := range events {
		if !allWroteAfter(&mu, &ops, writers, ev.at) {
			t.Errorf("some writer had no successful write after %q", ev.what)
		}
	}
	lost, acked := 0, 0
	for w := range writers {
		st, err := cloud.Open(ctx, scope(w), opts)
		if err != nil {
			t.Fatal(err)
		}
		all, err := secrets.GetAll(ctx, st)
		secrets.Close(st)
		if err != nil {
			t.Fatalf("reading repository %d after the failover: %v", w, err)
		}
		for _, op := range ops {
			if op.writer == w && op.name != "" && op.err == nil {
				acked++
				if all[op.name] != "value of "+op.name {
					lost++
				}
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, acked)
	}

	// Report, for the time before the first event and after each: writes
	// and reads started in it (count, median, slowest), and how long after
	// the event writes were acknowledged again (the end of the first write
	// that started after it).
	var b strings.Builder
	form := "short"
	if full {
		form = "full"
	}
	fmt.Fprintf(&b, "SeaweedFS failover (%s form): cluster ready in %.1fs; %d writes acknowledged, %d operations failed, %d lost", form, ready.Seconds(), acked, failed, lost)
	bounds := append([]event{{"start", 0}}, events...)
	stats := func(from, to time.Duration, writes bool) string {
		var durs []time.Duration
		for _, op := range ops {
			if op.start >= from && op.start < to && (op.name != "") == writes {
				durs = append(durs, op.end-op.start)
			}
		}
		if len(durs) == 0 {
			return "none"
		}
		slices.Sort(durs)
		return fmt.Sprintf("%d, median %v, slowest %v", len(durs), durs[len(durs)/2].Round(time.Millisecond), durs[len(durs)-1].Round(time.Millisecond))
	}
	for i, ev := range bounds {
		to := time.Duration(1 << 62)
		if i+1 < len(bounds) {
			to = bounds[i+1].at
		}
		fmt.Fprintf(&b, "\n  %.1fs %s: writes %s; reads %s", ev.at.Seconds(), ev.what, stats(ev.at, to, true), stats(ev.at, to, false))
		if i > 0 {
			resumed := time.Duration(-1)
			for _, op := range ops {
				if op.name != "" && op.err == nil && op.start > ev.at && (resumed < 0 || op.end < resumed) {
					resumed = op.end
				}
			}
			if resumed >= 0 {
				fmt.Fprintf(&b, "; a write acknowledged again %.1fs after it", (resumed - ev.at).Seconds())
			}
		}
	}
	t.Log(b.String())
}

// allWroteAfter reports whether every writer has a successful write that
// started after at.
func allWroteAfter(mu *sync.Mutex, ops *[]weedOp, writers int, at time.Duration) bool {
	mu.Lock()
	defer mu.Unlock()
	seen := map[int]bool{}
	for _, op := range *ops {
		if op.name != "" && op.err == nil && op.start > at {
			seen[op.writer] = true
		}
	}
	return len(seen) == writers
}
