package secrets

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Target says which store to open. The zero value means the default project
// of the configuration found as ConfigPath describes, for the git
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
	Config *Config
	// Env describes the process; zero means the real environment and home.
	Env Env
}

// Resolved is what a Target resolved to: everything needed to open its
// store, found once (configuration read, repository detected), so a
// program that opens several stores, like copy, resolves each once.
type Resolved struct {
	// Scope is the project and repository.
	Scope Scope
	// Backend is the backend name of the project.
	Backend string
	// Options are the project's backend options.
	Options Options
	// ConfigPath is the configuration file used ("" for the implicit one).
	ConfigPath string
	// AllowUnsafeNames are the project's allow_unsafe_names.
	AllowUnsafeNames []string
	// MaxSecrets is the project's max_secrets (0: the default).
	MaxSecrets int
	// Env is the Target's Env, handed to the backend's opener.
	Env Env
	// Detected is the git repository found on disk when Target.Repository
	// is empty or a directory: its identity is Scope.Repository, and its
	// working tree lets a program recognise the repository's earlier
	// identities without detecting it again. It is zero when the
	// repository was named by a URL or an identity.
	Detected RepositoryInfo
}

// Resolve loads the configuration and finds the project and repository of
// t without opening a store. Configuration loading and repository
// detection both live in this package; backends only open what Resolve
// found (Registry.OpenResolved).
func Resolve(t Target) (Resolved, error) {
	cfg := t.Config
	if cfg == nil {
		var err error
		if cfg, err = LoadConfigFor(t.Env, t.ConfigPath); err != nil {
			return Resolved{}, err
		}
	}
	project, pc, err := cfg.Project(t.Project)
	if err != nil {
		return Resolved{}, err
	}
	info, err := resolveRepository(t.Repository, t.Dir)
	if err != nil {
		return Resolved{}, err
	}
	detected := info
	if info.WorkTree == "" {
		detected = RepositoryInfo{}
	}
	return Resolved{
		Scope:            Scope{Project: project, Repository: info.Identity},
		Detected:         detected,
		Backend:          pc.Backend,
		Options:          pc.Options,
		ConfigPath:       cfg.Path,
		Env:              t.Env,
		AllowUnsafeNames: pc.AllowUnsafeNames,
		MaxSecrets:       pc.MaxSecrets,
	}, nil
}

// OpenResolved opens the store that Resolve found, with the backend it
// names. Errors name the project and backend.
func (r *Registry) OpenResolved(ctx context.Context, res Resolved) (Store, error) {
	s, err := r.Open(ctx, OpenRequest{Scope: res.Scope, Backend: res.Backend, Options: res.Options, Env: res.Env, AllowUnsafeNames: res.AllowUnsafeNames, MaxSecrets: res.MaxSecrets})
	if err != nil {
		return nil, fmt.Errorf("project %q (backend %s): %w", res.Scope.Project, res.Backend, err)
	}
	return s, nil
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
	info, err := resolveRepository(repo, dir)
	return info.Identity, err
}

// resolveRepository is ResolveRepository with what detection found: the
// working tree and path identity when the repository was found on disk,
// only the identity when repo is a URL or an identity.
func resolveRepository(repo, dir string) (RepositoryInfo, error) {
	if repo != "" {
		if !isPathLike(repo) {
			id, err := NormalizeRepository(repo)
			return RepositoryInfo{Identity: id}, err
		}
		p := repo
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.IsDir() {
			return RepositoryInfo{}, fmt.Errorf("%w: --repo %s is not a directory; give a repository directory or a remote URL such as github.com/org/repo", ErrNotInRepository, Printable(repo))
		}
		return DetectRepositoryInfo(p)
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return RepositoryInfo{}, fmt.Errorf("%w: cannot find the working directory: %v", ErrNotInRepository, err)
		}
		dir = wd
	}
	return DetectRepositoryInfo(dir)
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
