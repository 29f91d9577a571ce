// Package secrets is the core of dstack-secrets: the Store contract that every
// backend implements, secret name and value rules, scopes (project plus git
// repository), sentinel errors, the project configuration file and the
// backend registry.
//
// Most programs should not open a backend directly: they use package
// github.com/dstackai/dstack-secrets/backends, whose Open function reads the
// project configuration, detects the current git repository and opens the
// configured backend through a Registry that knows every built-in backend.
//
// # The contract
//
// A Store is opened for exactly one Scope and never sees secrets of another
// scope. It has four methods (List, Get, Set, Delete); everything else is an
// optional interface found by type assertion (Creator, BulkGetter,
// BatchWriter, io.Closer) and the helpers Create, GetAll and Close use the
// optional interface when a backend has it and fall back to the four methods
// otherwise.
//
// # Repository identities
//
// A scope's repository is an identity (DetectRepository): its origin
// remote, or its working tree's path when it has none. When that identity
// changes (a remote added or renamed) the secrets stay under the old one;
// Repositories lists a project's identities with their counts (backends
// implementing RepositoryLister), DetectRepositoryInfo gives a working
// tree's path identity, and Move moves a scope's secrets to another one,
// all or nothing (atomically for backends implementing Mover).
//
// # Reaching workflows
//
// Environ, MergeEnviron and PrepareCmd turn every secret of a scope into
// environment variables for a child process, from one snapshot read. A third-party
// backend therefore needs only the four methods, and proves it follows the
// contract by running the conformance suite in package secretstest.
//
// # Errors
//
// Backends wrap the sentinel errors of this package (ErrNotFound,
// ErrInvalidName, ErrUnavailable, ...) with %w, so callers check them with
// errors.Is whatever backend is in use. Context errors are passed through
// unchanged. No error ever contains a secret value.
package secrets
