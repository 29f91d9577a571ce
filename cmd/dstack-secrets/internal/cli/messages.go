package cli

import (
	"fmt"

	"github.com/dstackai/dstack-secrets/secrets"
)

// where describes a scope for messages.
func where(r secrets.Resolved) string {
	return fmt.Sprintf("project %q (repository %s)", r.Scope.Project, secrets.Printable(r.Scope.Repository))
}

// describe names a resolved project, its backend and repository.
func describe(r secrets.Resolved) string {
	return fmt.Sprintf("project %q (backend %s, repository %s)", r.Scope.Project, r.Backend, secrets.Printable(r.Scope.Repository))
}

// intersect returns the names of a that are in b, in the order of a.
func intersect(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, n := range b {
		in[n] = true
	}
	var out []string
	for _, n := range a {
		if in[n] {
			out = append(out, n)
		}
	}
	return out
}

// countNoun returns "1 secret" or "n secrets".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// alreadyExist says how many secrets already exist.
func alreadyExist(n int) string {
	if n == 1 {
		return "1 secret already exists"
	}
	return fmt.Sprintf("%d secrets already exist", n)
}

// overwritten describes the overwritten names for a report.
func overwritten(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d overwritten: %s)", len(names), secrets.NameList(names))
}
