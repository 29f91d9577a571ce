package secrets

import (
	"fmt"
	"strings"
)

// Scope says whose secrets a Store holds: those of one project for one git
// repository. Two different scopes never see each other's secrets.
type Scope struct {
	// Project is the project name from the configuration (ValidateProject).
	Project string
	// Repository is the normalised repository identity, as returned by
	// NormalizeRepository or DetectRepository: "host/path" for a
	// repository with a remote (e.g. "github.com/org/repo") or an absolute
	// slash-separated path for a local-only repository.
	Repository string
}

// MaxRepositoryLength is the longest repository identity accepted, in bytes.
const MaxRepositoryLength = 1024

// Validate reports whether the scope is well formed. The error wraps
// ErrInvalidScope.
func (s Scope) Validate() error {
	if err := ValidateProject(s.Project); err != nil {
		return err
	}
	r := s.Repository
	switch {
	case r == "":
		return fmt.Errorf("%w: the repository is empty", ErrInvalidScope)
	case len(r) > MaxRepositoryLength:
		return fmt.Errorf("%w: the repository identity is longer than %d bytes", ErrInvalidScope, MaxRepositoryLength)
	case strings.ContainsAny(r, "\x00\n\r"):
		return fmt.Errorf("%w: the repository identity has a control character", ErrInvalidScope)
	}
	for _, seg := range strings.Split(strings.TrimPrefix(r, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: repository %q is not normalised (empty, '.' or '..' segment); use NormalizeRepository", ErrInvalidScope, r)
		}
	}
	return nil
}

// String describes the scope for messages: project "NAME", repository ID,
// with control characters of either escaped (Printable).
func (s Scope) String() string {
	return fmt.Sprintf("project %q, repository %s", s.Project, Printable(s.Repository))
}
