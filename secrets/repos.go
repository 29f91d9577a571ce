package secrets

import (
	"context"
	"errors"
	"fmt"
)

// RepositoryLister is an optional interface for stores that can tell which
// repositories of their project hold secrets: the project's other scopes,
// kept in the same storage (one file, one keychain service, one Vault
// path). It lets a program find secrets left under an identity the
// repository no longer has (a remote added or renamed: see Move). Call the
// Repositories helper rather than asserting it directly.
type RepositoryLister interface {
	// Repositories returns the identity of every repository of the store's
	// project that holds at least one secret, with the number of secrets
	// it holds. It reads names only, never a value.
	Repositories(ctx context.Context) (map[string]int, error)
}

var _ RepositoryLister = (*checked)(nil)

// Repositories returns the repositories of s's project that hold secrets,
// as repository identity to number of secrets (names and counts only; no
// value is read). Identities that are not valid (Scope.Validate) and
// repositories without a secret are left out. A store whose backend cannot
// list its project's repositories gives an error wrapping
// errors.ErrUnsupported that names the backend.
func Repositories(ctx context.Context, s Store) (map[string]int, error) {
	return asChecked(s).Repositories(ctx)
}

// Repositories implements RepositoryLister: it calls the backend's, or
// answers an error wrapping errors.ErrUnsupported when the backend has
// none.
func (c *checked) Repositories(ctx context.Context) (map[string]int, error) {
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	l, ok := c.d.(RepositoryLister)
	if !ok {
		return nil, fmt.Errorf("%w: the %s backend cannot list the repositories of a project", errors.ErrUnsupported, c.backend())
	}
	repos, err := l.Repositories(ctx)
	if err != nil {
		return nil, err
	}
	for r, n := range repos {
		if n <= 0 || (Scope{Project: "x", Repository: r}).Validate() != nil {
			delete(repos, r)
		}
	}
	if repos == nil {
		repos = map[string]int{}
	}
	return repos, nil
}
