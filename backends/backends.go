// Package backends knows every built-in dstack-secrets backend and opens the
// store of the current project and git repository. Most programs that use
// dstack-secrets need only this package and package secrets:
//
//	store, target, err := backends.Open(ctx, secrets.Target{})
//	if err != nil { ... }
//	defer secrets.Close(store)
//	env, err := secrets.GetAll(ctx, store)
//
// Finding the store (reading the configuration, detecting the repository)
// is secrets.Resolve; opening it is Registry().OpenResolved. A program that
// opens several stores, or has a backend of its own, calls those two.
package backends

import (
	"context"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Registry returns a new registry holding every built-in backend. Programs
// with a backend of their own Register it on the result.
func Registry() *secrets.Registry {
	return secrets.NewRegistry(
		file.Backend(),
		keyring.Backend(),
		vault.Backend(),
	)
}

// Open resolves t (secrets.Resolve) and opens the store of its project and
// repository with the built-in backends. It returns what t resolved to,
// also when opening fails after resolving.
func Open(ctx context.Context, t secrets.Target) (secrets.Store, secrets.Resolved, error) {
	r, err := secrets.Resolve(t)
	if err != nil {
		return nil, r, err
	}
	s, err := Registry().OpenResolved(ctx, r)
	return s, r, err
}
