package reliability

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

var (
	long   = flag.Bool("long", false, "run the long variants (more processes, more kills)")
	update = flag.Bool("update", false, "rewrite docs/bad-input.md from the bad-input table")
)

// cliBin is the dstack-secrets binary built for this run.
var cliBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "dstack-secrets-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cliBin = filepath.Join(dir, "dstack-secrets")
	// The programs of the vault, keyring and cloud backends beside it.
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "github.com/dstackai/dstack-secrets/cmd/...")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the CLI:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireServices reports whether absent services and capabilities must
// fail the tests (scripts/test sets it) rather than skip them.
func requireServices() bool { return os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" }

// repoID is the repository identity of every sandbox's git repository.
const repoID = "github.com/org/repo"

// sandbox is a fresh HOME, TMPDIR and git repository in which CLI
// processes run with a clean environment.
type sandbox struct {
	t    testing.TB
	root string
	home string
	tmp  string
	repo string
	env  map[string]string
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	root := t.TempDir()
	s := &sandbox{t: t, root: root, home: filepath.Join(root, "home"), tmp: filepath.Join(root, "tmp"), repo: filepath.Join(root, "repo"), env: map[string]string{}}
	for _, d := range []string{s.home, s.tmp, filepath.Join(s.repo, ".git")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(s.repo, ".git", "HEAD"), "ref: refs/heads/main\n", 0o644)
	writeFile(t, filepath.Join(s.repo, ".git", "config"), "[remote \"origin\"]\n\turl = git@github.com:org/repo.git\n", 0o644)
	return s
}

func writeFile(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// storeDir is the default project's store directory.
func (s *sandbox) storeDir() string { return filepath.Join(s.home, ".dstack", "secrets") }

// storePath is the default project's store file.
func (s *sandbox) storePath() string { return filepath.Join(s.storeDir(), "default.age") }

// environ is the environment of CLI processes: nothing from the test
// process but PATH.
func (s *sandbox) environ() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.home, "TMPDIR=" + s.tmp, "LANG=C.UTF-8"}
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	return env
}

// command prepares a CLI process in the repository.
func (s *sandbox) command(ctx context.Context, stdin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, cliBin, args...)
	cmd.Dir = s.repo
	cmd.Env = s.environ()
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the CLI to completion.
func (s *sandbox) run(stdin string, args ...string) result {
	s.t.Helper()
	cmd := s.command(context.Background(), stdin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			s.t.Fatalf("running %s: %v", args[0], err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func (s *sandbox) mustRun(stdin string, args ...string) result {
	s.t.Helper()
	r := s.run(stdin, args...)
	if r.code != 0 {
		s.t.Fatalf("dstack-secrets %s: exit %d: %s", args[0], r.code, r.stderr)
	}
	return r
}

// store opens the default project's store through the library.
func (s *sandbox) store() secrets.Store {
	s.t.Helper()
	st, err := file.Open(context.Background(), secrets.Scope{Project: "default", Repository: repoID}, file.Options{Dir: s.storeDir()})
	if err != nil {
		s.t.Fatal(err)
	}
	return st
}

// all reads every secret of the sandbox's repository through a fresh store.
func (s *sandbox) all() (map[string]string, error) {
	return secrets.GetAll(context.Background(), s.store())
}

// seed adds n secrets NAME_i = value(i) in one write per secret through
// the library.
func (s *sandbox) seed(n int, value func(i int) string) {
	s.t.Helper()
	st := s.store()
	for i := range n {
		if err := st.Set(context.Background(), fmt.Sprintf("SEED_%04d", i), value(i)); err != nil {
			s.t.Fatal(err)
		}
	}
}

// tempFiles lists the temporary files left in the store directory.
func (s *sandbox) tempFiles() []string {
	m, _ := filepath.Glob(filepath.Join(s.storeDir(), ".*.tmp-*"))
	return m
}

// writeUntilStopped starts writers goroutines, each calling write(w, i)
// with its number w and i = 0, 1, 2, ... until stop is closed; wg counts
// them, so that closing stop and then wg.Wait ends the writing.
func writeUntilStopped(wg *sync.WaitGroup, stop <-chan struct{}, writers int, write func(w, i int)) {
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				write(w, i)
			}
		}()
	}
}
