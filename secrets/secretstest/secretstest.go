// Package secretstest is the conformance suite for secrets.Store
// implementations. A backend's test file calls Run with a function that
// gives fresh, empty storage for each test; the suite then checks every rule
// of the secrets.Store contract against it, including that the shared
// checks of secrets.Wrap apply (validation, closed store, messages,
// fallbacks), so a backend's Open must return its store through Wrap.
//
//	func TestConformance(t *testing.T) {
//		secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
//			dir := t.TempDir()
//			return func(ctx context.Context, scope secrets.Scope) (secrets.Store, error) {
//				return mybackend.Open(ctx, dir, scope)
//			}
//		}, secretstest.Options{})
//	}
package secretstest

import (
	"context"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// OpenFunc opens a store for scope. All stores opened through one OpenFunc
// share the same underlying storage (one directory, one keychain service,
// one Vault path prefix), so that the suite can check that scopes are
// isolated from each other.
type OpenFunc func(ctx context.Context, scope secrets.Scope) (secrets.Store, error)

// Options says what a backend cannot do, so the suite skips those checks,
// and tunes the suite's load.
type Options struct {
	// Concurrency is how many goroutines the concurrency tests use;
	// 0 means 8.
	Concurrency int
	// OpsPerWorker is how many writes each of those goroutines makes;
	// 0 means 5.
	OpsPerWorker int
	// NoCreate says the backend has no atomic Create (it does not implement
	// secrets.Creator, or answers errors.ErrUnsupported); the suite then
	// checks the fallback of secrets.Wrap instead of atomic Create.
	NoCreate bool
	// NoBulk says the backend does not implement secrets.BulkGetter; GetAll
	// is then checked through the concurrent fallback of secrets.Wrap.
	NoBulk bool
	// NoRepositories says the backend cannot list the repositories of a
	// project (secrets.Repositories answers errors.ErrUnsupported); Move is
	// still checked.
	NoRepositories bool
	// NoConcurrentStores skips the check that several stores opened on the
	// same storage can write concurrently without losing updates.
	NoConcurrentStores bool
}

// NewFunc returns fresh, empty storage for one test, registering any
// cleanup with t.
type NewFunc func(t *testing.T) OpenFunc

// Scope returns the scope most checks use.
func Scope() secrets.Scope {
	return secrets.Scope{Project: "conformance", Repository: "example.com/org/repo"}
}

// TrickyValues are values every backend must store byte for byte.
func TrickyValues() map[string]string {
	return map[string]string{
		"MULTI_LINE":    "line one\nline two\r\nline three\n",
		"UNICODE":       "pässwörd-秘密-🔑",
		"EQUALS":        "a=b=c==",
		"QUOTES":        `it's "quoted" \ and \n not a newline`,
		"SPACES":        "  leading and trailing  ",
		"SHELL":         "$(rm -rf /) `x` ${HOME} ; | & > <",
		"JSONISH":       `{"key": ["v", 1, null]}`,
		"LONG":          strings.Repeat("0123456789abcdef", secrets.MaxValueSize/16),
		"SINGLE":        "x",
		"TAB_AND_CTRL":  "\t\x01\x1b[31m",
		"PERCENT_SLASH": "%2F/../..%00x",
	}
}

// Run runs the conformance suite. newStorage is called once per test.
func Run(t *testing.T, newStorage NewFunc, opts Options) {
	if opts.Concurrency == 0 {
		opts.Concurrency = 8
	}
	if opts.OpsPerWorker == 0 {
		opts.OpsPerWorker = 5
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, open OpenFunc, opts Options)
	}{
		{"EmptyList", testEmptyList},
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"TrickyValues", testTrickyValues},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"DeleteMissing", testDeleteMissing},
		{"ListSorted", testListSorted},
		{"Persistence", testPersistence},
		{"ScopeIsolation", testScopeIsolation},
		{"InvalidNames", testInvalidNames},
		{"InvalidValues", testInvalidValues},
		{"Create", testCreate},
		{"GetAll", testGetAll},
		{"SetMany", testSetMany},
		{"Repositories", testRepositories},
		{"Move", testMove},
		{"Closed", testClosed},
		{"Messages", testMessages},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentOneStore", testConcurrentOneStore},
		{"ConcurrentStores", testConcurrentStores},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			open := newStorage(t)
			tc.fn(t, open, opts)
		})
	}
}
