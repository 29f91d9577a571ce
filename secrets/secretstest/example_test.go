package secretstest_test

import (
	"context"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// The conformance test of a backend is a few lines of harness: fresh,
// empty storage for every check, and the backend's Open.
func ExampleRun() {
	testConformance := func(t *testing.T) {
		secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
			dir := t.TempDir() // fresh storage for each check
			return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
				return file.Open(ctx, scope, file.Options{Dir: dir})
			}
		}, secretstest.Options{})
	}
	_ = testConformance // in mybackend_test.go: func TestConformance(t *testing.T) { ... }
}
