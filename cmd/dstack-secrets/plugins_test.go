package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestMain runs the tests and removes the plugin programs built for them.
func TestMain(m *testing.M) {
	code := m.Run()
	if programs.dir != "" {
		os.RemoveAll(programs.dir)
	}
	os.Exit(code)
}

// programs are dstack-secrets-vault and dstack-secrets-keyring, built once
// for the tests that run the CLI in-process on those backends.
var programs struct {
	once sync.Once
	dir  string
	err  error
}

// pluginsInPath builds the programs of the vault and keyring backends and
// puts them in PATH for the rest of the test, where the CLI run in-process
// (from the test binary, with nothing beside it) finds them.
func pluginsInPath(t *testing.T) {
	t.Helper()
	programs.once.Do(func() {
		programs.dir, programs.err = os.MkdirTemp("", "dstack-secrets-main-plugins-")
		if programs.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", programs.dir+string(filepath.Separator), "../dstack-secrets-vault", "../dstack-secrets-keyring")
		if out, err := cmd.CombinedOutput(); err != nil {
			programs.err = fmt.Errorf("building the plugin programs: %v\n%s", err, out)
		}
	})
	if programs.err != nil {
		t.Fatal(programs.err)
	}
	t.Setenv("PATH", programs.dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}
