package dotenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/joho/godotenv"
)

// The real peer parsers, run by the interop tests:
//
//   - python-dotenv: the Python interpreter in DSTACK_SECRETS_TEST_PYTHON, or
//     /usr/bin/python3 (Debian's python3-dotenv), runs testdata/peer_python.py;
//   - Node's dotenv: node runs testdata/peer_node.js with the package in
//     DSTACK_SECRETS_TEST_NODE_DOTENV/node_modules, by default the cache
//     directory scripts/services/peers.sh installs it in;
//   - godotenv: the Go module, in this process.
//
// Without python-dotenv or Node's dotenv the tests skip, and fail when
// DSTACK_SECRETS_TEST_REQUIRE_SERVICES=1 (as scripts/test sets it).

// peer identifies one reader of dotenv files.
type peer int

const (
	python peer = iota
	node
	goDotenv
	numPeers
)

func (p peer) String() string {
	return [...]string{"python-dotenv", "node-dotenv", "godotenv"}[p]
}

// reading is what one peer read from one document.
type reading struct {
	// ok is false when the peer reported that it could not read part of
	// the document (python-dotenv: a statement it skipped; godotenv: an
	// error) or a variable without a value (python-dotenv's None).
	ok   bool
	vals map[string]string
}

func (r reading) equal(vals map[string]string) bool {
	return r.ok && maps.Equal(r.vals, vals)
}

// readings is what every peer read from one document, and what
// python-dotenv reads with interpolate=False.
type readings struct {
	by        [numPeers]reading
	pythonRaw reading
}

type peerPrograms struct {
	python  string // interpreter with the dotenv module
	nodeDir string // directory holding node_modules/dotenv
}

var (
	peersOnce sync.Once
	peersErr  error
	peersProg peerPrograms
)

const installHint = "install them with: bash -c 'source scripts/services/peers.sh && peers_install' " +
	"(Debian's python3-dotenv, and Node's dotenv in the cache directory), or run scripts/test"

// findPeers returns the peer programs, or skips the test (fails it when
// DSTACK_SECRETS_TEST_REQUIRE_SERVICES=1) when one is missing.
func findPeers(t *testing.T) peerPrograms {
	t.Helper()
	peersOnce.Do(func() { peersProg, peersErr = lookPeers() })
	if peersErr != nil {
		if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatalf("the peer dotenv parsers are required (DSTACK_SECRETS_TEST_REQUIRE_SERVICES=1): %v", peersErr)
		}
		t.Skipf("%v; %s", peersErr, installHint)
	}
	return peersProg
}

// nodeDotenvVersion is the version of Node's dotenv that
// scripts/services/peers.sh installs (TestPeersScriptPinsNodeVersion
// checks that the two agree).
const nodeDotenvVersion = "17.4.2"

func lookPeers() (peerPrograms, error) {
	var p peerPrograms
	p.python = os.Getenv("DSTACK_SECRETS_TEST_PYTHON")
	if p.python == "" {
		p.python = "/usr/bin/python3"
	}
	if out, err := exec.Command(p.python, "testdata/peer_python.py", "--version").CombinedOutput(); err != nil {
		return p, fmt.Errorf("python-dotenv is not usable with %s (%v: %s)", p.python, err, strings.TrimSpace(string(out)))
	}
	if _, err := exec.LookPath("node"); err != nil {
		return p, fmt.Errorf("node is not installed, so Node's dotenv cannot run")
	}
	p.nodeDir = os.Getenv("DSTACK_SECRETS_TEST_NODE_DOTENV")
	if p.nodeDir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return p, err
			}
			cache = filepath.Join(home, ".cache")
		}
		p.nodeDir = filepath.Join(cache, "dstack-secrets", "npm-dotenv-"+nodeDotenvVersion)
	}
	cmd := exec.Command("node", "testdata/peer_node.js", "--version")
	cmd.Env = append(os.Environ(), "DSTACK_SECRETS_TEST_NODE_DOTENV="+p.nodeDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return p, fmt.Errorf("Node's dotenv is not installed in %s (%v: %s)", p.nodeDir, err, strings.TrimSpace(string(out)))
	}
	if v := strings.TrimSpace(string(out)); v != nodeDotenvVersion {
		return p, fmt.Errorf("Node's dotenv in %s is version %s, the tests expect %s", p.nodeDir, v, nodeDotenvVersion)
	}
	return p, nil
}

// readAll has every peer read each of docs; it runs python-dotenv and
// Node's dotenv once each for all documents.
func readAll(t *testing.T, docs [][]byte) []readings {
	t.Helper()
	progs := findPeers(t)
	dir := t.TempDir()
	files := make([]string, len(docs))
	for i, doc := range docs {
		files[i] = filepath.Join(dir, fmt.Sprintf("%04d.env", i))
		if err := os.WriteFile(files[i], doc, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]readings, len(docs))
	var wg sync.WaitGroup
	var pyErr, nodeErr error
	wg.Go(func() {
		pyErr = runHelper(exec.Command(progs.python, append([]string{"testdata/peer_python.py"}, files...)...), func(i int, line peerLine) {
			out[i].by[python] = line.reading(line.Values)
			out[i].pythonRaw = line.reading(line.Raw)
		})
	})
	wg.Go(func() {
		cmd := exec.Command("node", append([]string{"testdata/peer_node.js"}, files...)...)
		cmd.Env = append(os.Environ(), "DSTACK_SECRETS_TEST_NODE_DOTENV="+progs.nodeDir)
		nodeErr = runHelper(cmd, func(i int, line peerLine) { out[i].by[node] = line.reading(line.Values) })
	})
	for i, doc := range docs {
		vals, err := godotenv.Parse(bytes.NewReader(doc))
		out[i].by[goDotenv] = reading{ok: err == nil, vals: vals}
	}
	wg.Wait()
	if pyErr != nil {
		t.Fatalf("python-dotenv: %v", pyErr)
	}
	if nodeErr != nil {
		t.Fatalf("Node's dotenv: %v", nodeErr)
	}
	return out
}

// peerLine is one line of output of a helper script.
type peerLine struct {
	OK     bool               `json:"ok"`
	Values map[string]*string `json:"values"`
	Raw    map[string]*string `json:"raw"`
}

func (l peerLine) reading(vals map[string]*string) reading {
	r := reading{ok: l.OK, vals: map[string]string{}}
	for k, v := range vals {
		if v == nil {
			r.ok = false
			continue
		}
		r.vals[k] = *v
	}
	return r
}

// runHelper runs a helper script and calls each with the index of the
// document and its line of output. Its error never holds a value.
func runHelper(cmd *exec.Cmd, each func(int, peerLine)) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s failed: %v: %s", filepath.Base(cmd.Args[1]), err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(nil, 64<<20)
	i := 0
	for ; sc.Scan(); i++ {
		var line peerLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("%s printed a line that is not JSON: %v", filepath.Base(cmd.Args[1]), err)
		}
		each(i, line)
	}
	if want := len(cmd.Args) - 2; i != want {
		return fmt.Errorf("%s printed %d lines for %d files", filepath.Base(cmd.Args[1]), i, want)
	}
	return nil
}

// TestPeersScriptPinsNodeVersion checks that scripts/services/peers.sh
// installs the version of Node's dotenv these tests expect.
func TestPeersScriptPinsNodeVersion(t *testing.T) {
	script, err := os.ReadFile("../../scripts/services/peers.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PEERS_NODE_DOTENV_VERSION=(\S+)$`).FindSubmatch(script)
	if m == nil || string(m[1]) != nodeDotenvVersion {
		t.Fatalf("scripts/services/peers.sh does not pin PEERS_NODE_DOTENV_VERSION=%s", nodeDotenvVersion)
	}
}
