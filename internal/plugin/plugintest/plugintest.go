// Package plugintest holds what the tests of the backend programs
// (cmd/dstack-secrets-*) and of the CLI that starts them share: building
// the programs once per test binary, and checking that a program declares
// every environment variable its backend reads.
package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Programs builds main packages once, on first use, into one temporary
// directory; TestMain calls Remove after the tests.
type Programs struct {
	pkgs []string
	once sync.Once
	dir  string
	err  error
}

// NewPrograms returns a Programs for the main packages pkgs (import paths,
// or directories relative to the test's package).
func NewPrograms(pkgs ...string) *Programs { return &Programs{pkgs: pkgs} }

// Dir builds the programs (the first time) and returns their directory.
func (p *Programs) Dir() (string, error) {
	p.once.Do(func() {
		if p.dir, p.err = os.MkdirTemp("", "dstack-secrets-programs-"); p.err != nil {
			return
		}
		cmd := exec.Command("go", append([]string{"build", "-o", p.dir + string(filepath.Separator)}, p.pkgs...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			p.err = fmt.Errorf("building %v: %v\n%s", p.pkgs, err, out)
		}
	})
	return p.dir, p.err
}

// Remove removes the directory of the programs, if they were built.
func (p *Programs) Remove() {
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
}

// CheckServeEnv runs exercise, which opens and uses backend with the Env
// it is given, and fails t for every variable the backend asked that Env
// for that is not in declared (the program's ServeEnv): dstack-secrets
// sends a program only the variables it declares. base supplies the
// answers (its Getenv may be nil); fewer than three variables asked means
// exercise did not reach the backend.
func CheckServeEnv(t *testing.T, backend string, declared []string, base secrets.Env, exercise func(secrets.Env)) {
	t.Helper()
	var mu sync.Mutex
	asked := map[string]bool{}
	env := base
	env.Getenv = func(k string) string {
		mu.Lock()
		asked[k] = true
		mu.Unlock()
		if base.Getenv != nil {
			return base.Getenv(k)
		}
		return ""
	}
	exercise(env)
	if len(asked) < 3 {
		t.Fatalf("the %s backend asked for %d variables: the test did not reach it", backend, len(asked))
	}
	for k := range asked {
		if !slices.Contains(declared, k) {
			t.Errorf("the %s backend reads %s, which serveEnv does not declare: dstack-secrets would not send it", backend, k)
		}
	}
}
