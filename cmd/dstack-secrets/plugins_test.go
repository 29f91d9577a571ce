package main

import (
	"os"
	"testing"

	"github.com/dstackai/dstack-secrets/internal/plugin/plugintest"
)

// TestMain runs the tests and removes the plugin programs built for them.
func TestMain(m *testing.M) {
	code := m.Run()
	programs.Remove()
	os.Exit(code)
}

// programs are dstack-secrets-vault and dstack-secrets-keyring, built once
// for the tests that run the CLI in-process on those backends.
var programs = plugintest.NewPrograms("../dstack-secrets-vault", "../dstack-secrets-keyring")

// pluginsInPath builds the programs of the vault and keyring backends and
// puts them in PATH for the rest of the test, where the CLI run in-process
// (from the test binary, with nothing beside it) finds them.
func pluginsInPath(t *testing.T) {
	t.Helper()
	dir, err := programs.Dir()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}
