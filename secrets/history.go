package secrets

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Version describes one stored version of a secret. It never holds the
// value: read that with GetVersion.
type Version struct {
	// Number identifies the version, as the backend counts them (Vault KV
	// v2 version numbers). Numbers grow with time but need not be
	// consecutive for one secret.
	Number int
	// Time is when the version was written; zero when the backend does not
	// record it.
	Time time.Time
	// Author is who wrote the version, where the backend records it; empty
	// otherwise.
	Author string
	// Deleted says the version holds no readable value: the secret was
	// deleted by it, or the version itself was deleted or destroyed.
	Deleted bool
	// Current says this is the secret's current version.
	Current bool
}

// History is an optional interface for stores that keep earlier values of
// their secrets (Vault KV v2). Call the Versions and GetVersion helpers
// rather than asserting it: a store returned by Wrap always implements
// History and answers an error wrapping errors.ErrUnsupported, naming the
// backend, when the backend keeps no history. A backend that keeps history
// only in some configurations (Vault KV v1 keeps none) returns an error
// wrapping errors.ErrUnsupported in the others.
type History interface {
	// Versions lists the versions of name, oldest first. A name without
	// any version gives an error wrapping ErrNotFound.
	Versions(ctx context.Context, name string) ([]Version, error)
	// GetVersion returns the value name had in version n. A version that
	// does not exist or holds no value (Version.Deleted) gives an error
	// wrapping ErrNotFound.
	GetVersion(ctx context.Context, name string, n int) (string, error)
}

var _ History = (*checked)(nil)

// Versions lists the versions of the secret name, oldest first, when the
// store keeps history; otherwise it returns an error wrapping
// errors.ErrUnsupported that names the backend.
func Versions(ctx context.Context, s Store, name string) ([]Version, error) {
	return asChecked(s).Versions(ctx, name)
}

// GetVersion returns the value the secret name had in version n, when the
// store keeps history; otherwise it returns an error wrapping
// errors.ErrUnsupported that names the backend.
func GetVersion(ctx context.Context, s Store, name string, n int) (string, error) {
	return asChecked(s).GetVersion(ctx, name, n)
}

// unsupportedHistory is the answer of a store without history.
func (c *checked) unsupportedHistory(err error) error {
	if err != nil && errors.Is(err, errors.ErrUnsupported) && err != errors.ErrUnsupported {
		// The backend said why (e.g. "mount kv is KV version 1").
		return fmt.Errorf("version history is not supported by backend %s here: %w", c.backend(), err)
	}
	return fmt.Errorf("version history is not supported by backend %s, which keeps only the current value: %w", c.backend(), errors.ErrUnsupported)
}

// Versions implements History.
func (c *checked) Versions(ctx context.Context, name string) ([]Version, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	h, ok := c.d.(History)
	if !ok {
		return nil, c.unsupportedHistory(nil)
	}
	vs, err := h.Versions(ctx, name)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return nil, c.unsupportedHistory(err)
	case err != nil:
		return nil, c.explain(name, err)
	}
	return vs, nil
}

// GetVersion implements History.
func (c *checked) GetVersion(ctx context.Context, name string, n int) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if n < 1 {
		return "", fmt.Errorf("version %d of %q: versions are numbered from 1 (see the secret's history)", n, name)
	}
	if err := c.ready(ctx); err != nil {
		return "", err
	}
	h, ok := c.d.(History)
	if !ok {
		return "", c.unsupportedHistory(nil)
	}
	v, err := h.GetVersion(ctx, name, n)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return "", c.unsupportedHistory(err)
	case errors.Is(err, ErrNotFound):
		return "", fmt.Errorf("%w: version %d of %q in %s holds no value (it does not exist, or deleted the secret, or was itself deleted)", ErrNotFound, n, name, c.where(name))
	case err != nil:
		return "", err
	}
	return v, nil
}
