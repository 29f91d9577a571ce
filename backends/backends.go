// Package backends knows every built-in dstack-secrets backend and opens the
// store of the current project and git repository. Most programs that use
// dstack-secrets need only this package and package secrets:
//
//	store, target, err := backends.Open(ctx, backends.Target{})
//	if err != nil { ... }
//	defer secrets.Close(store)
//	env, err := secrets.GetAll(ctx, store)
package backends

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// Target says which store to open. The zero value means the default project
// of the configuration found as secrets.ConfigPath describes, for the git
// repository that contains the working directory.
type Target struct {
	// Project names a project of the configuration; empty means its default.
	Project string
	// Repository is a repository identity, remote URL or path; when it is a
	// directory the repository containing it is detected. Empty means the
	// repository containing Dir.
	Repository string
	// Dir is where to look for the git repository; empty means the working
	// directory.
	Dir string
	// ConfigPath overrides the configuration file location.
	ConfigPath string
	// Config, when not nil, is used instead of reading a configuration file.
	Config *secrets.Config
	// Env describes the process; zero means the real environment and home.
	Env secrets.Env
	// Registry opens the backends; nil means Registry().
	Registry *secrets.Registry
}

// Resolved is what a Target resolved to.
type Resolved struct {
	// Scope is the project and repository.
	Scope secrets.Scope
	// Backend is the backend name of the project.
	Backend string
	// Options are the project's backend options.
	Options secrets.Options
	// ConfigPath is the configuration file used ("" for the implicit one).
	ConfigPath string
}

// Resolve loads the configuration and finds the project and repository of
// t without opening a store.
func Resolve(t Target) (Resolved, error) {
	cfg := t.Config
	if cfg == nil {
		var err error
		if cfg, err = secrets.LoadConfigFor(t.Env, t.ConfigPath); err != nil {
			return Resolved{}, err
		}
	}
	project, pc, err := cfg.Project(t.Project)
	if err != nil {
		return Resolved{}, err
	}
	repo, err := ResolveRepository(t.Repository, t.Dir)
	if err != nil {
		return Resolved{}, err
	}
	return Resolved{
		Scope:      secrets.Scope{Project: project, Repository: repo},
		Backend:    pc.Backend,
		Options:    pc.Options,
		ConfigPath: cfg.Path,
	}, nil
}

// ResolveRepository returns the repository identity for an explicit
// repository argument (an identity, a remote URL, or a directory inside a
// repository) or, when it is empty, for the repository containing dir (the
// working directory when dir is empty).
//
// An explicit argument is read as a directory only when it looks like a
// path: absolute, ".", "..", or starting with "./" or "../" (relative ones
// are resolved against dir); "github.com/org/repo" is always an identity,
// even if a directory of that name happens to exist.
func ResolveRepository(repo, dir string) (string, error) {
	if repo != "" {
		if !isPathLike(repo) {
			return secrets.NormalizeRepository(repo)
		}
		p := repo
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			return "", fmt.Errorf("%w: --repo %s is not a directory; give a repository directory or a remote URL such as github.com/org/repo", secrets.ErrNotInRepository, repo)
		}
		return secrets.DetectRepository(p)
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", fmt.Errorf("%w: cannot find the working directory: %v", secrets.ErrNotInRepository, err)
		}
		dir = wd
	}
	return secrets.DetectRepository(dir)
}

func isPathLike(s string) bool {
	if filepath.IsAbs(s) || s == "." || s == ".." {
		return true
	}
	for _, prefix := range []string{"./", "../", ".\\", "..\\"} {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// Open resolves t and opens the store of its project and repository.
func Open(ctx context.Context, t Target) (secrets.Store, Resolved, error) {
	r, err := Resolve(t)
	if err != nil {
		return nil, r, err
	}
	reg := t.Registry
	if reg == nil {
		reg = Registry()
	}
	s, err := reg.Open(ctx, secrets.OpenRequest{Scope: r.Scope, Backend: r.Backend, Options: r.Options, Env: t.Env})
	if err != nil {
		return nil, r, fmt.Errorf("project %q (backend %s): %w", r.Scope.Project, r.Backend, err)
	}
	return s, r, nil
}
