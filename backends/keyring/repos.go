package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	kr "github.com/99designs/keyring"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Listing the repositories of a project.
//
// The Secret Service keeps every item's project and repository as
// attributes: one search over the project's items gives them. The other
// keychains keep a scope's items under a folder, keyring or directory
// named by scopeSegment, which cannot be turned back into the identity (it
// is shortened, and its other bytes replaced). So the first write of a
// process into a scope also stores, once, an item under scopeMarkerKey
// whose data is the repository identity (not a secret: the item only
// names the repository). Listing reads the scopes of the project, counts
// the names of each, and reads its marker; a scope holding secrets but no
// marker (written by an earlier version) is reported through
// Options.Env.Warn and left out.

// scopeMarkerKey is the key of the item that records a scope's repository
// identity. No name encodes to it ('-' then a non-hex mask), and it is
// no chunk key, so List never shows it.
const scopeMarkerKey = "dstack-secrets.repository"

// repositoryLister is implemented by the keychains that can list the
// repositories of a project.
type repositoryLister interface {
	repositories(ctx context.Context) (map[string]int, error)
}

var _ secrets.RepositoryLister = (*Store)(nil)

// Repositories implements secrets.RepositoryLister for the Secret
// Service, keyctl, pass and the file keychain. The macOS Keychain and the
// Windows Credential Manager answer an error wrapping errors.ErrUnsupported.
func (s *Store) Repositories(ctx context.Context) (map[string]int, error) {
	rl, ok := s.kc.(repositoryLister)
	if !ok {
		return nil, fmt.Errorf("keychain %s cannot list the repositories of a project: %w", s.keychain, errors.ErrUnsupported)
	}
	var out map[string]int
	err := s.call(ctx, "list repositories", func(ctx context.Context) error {
		var err error
		out, err = rl.repositories(ctx)
		return err
	})
	return out, err
}

// recordsScope reports whether the keychain keeps a scope marker.
func (m *module) recordsScope() bool {
	return m.name == KeyCtl || m.name == Pass || m.name == File
}

// recordScope stores the scope's marker unless it is there already. It is
// called after a write, with the module's lock held, once per module that
// succeeds; a failure only means that Repositories cannot name this scope
// yet, so it is not reported.
func (m *module) recordScope() {
	if !m.recordsScope() || m.recorded.Load() {
		return
	}
	keys, err := m.ring.Keys()
	if err != nil {
		return
	}
	if !slices.Contains(keys, scopeMarkerKey) {
		err = m.ring.Set(kr.Item{Key: scopeMarkerKey, Data: []byte(m.scope.Repository),
			Label: "dstack-secrets repository identity", Description: m.scope.String()})
	}
	if err == nil {
		m.recorded.Store(true)
	}
}

// repositories implements repositoryLister for keyctl, pass and the file
// keychain.
func (m *module) repositories(ctx context.Context) (map[string]int, error) {
	if !m.recordsScope() {
		return nil, fmt.Errorf("keychain %s cannot list the repositories of a project: %w", m.name, errors.ErrUnsupported)
	}
	segments, open, where, err := m.projectScopes(ctx)
	if err != nil {
		return nil, m.fail("list repositories", "", err)
	}
	out := map[string]int{}
	for _, seg := range segments {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ring, err := open(seg)
		if err != nil {
			return nil, m.fail("list repositories", "", err)
		}
		keys, err := ring.Keys()
		if err != nil {
			return nil, m.fail("list repositories", "", err)
		}
		n := 0
		for _, k := range keys {
			if name, ok := decodeName(k); ok && secrets.ValidateName(name) == nil {
				n++
			}
		}
		if n == 0 {
			continue
		}
		id := ""
		if slices.Contains(keys, scopeMarkerKey) {
			if item, err := ring.Get(scopeMarkerKey); err == nil {
				id = string(item.Data)
			}
		}
		if (secrets.Scope{Project: m.scope.Project, Repository: id}).Validate() != nil || scopeSegment(id) != seg {
			if m.opts.Env.Warn != nil {
				what := fmt.Sprintf("%d secrets in %s belong", n, where(seg))
				if n == 1 {
					what = fmt.Sprintf("1 secret in %s belongs", where(seg))
				}
				m.opts.Env.Warn(fmt.Sprintf("keychain %s: %s to a repository whose identity is not recorded (stored by an earlier version of dstack-secrets), so it is not listed; adding a secret in that repository records it", m.name, what))
			}
			continue
		}
		out[id] += n
	}
	return out, nil
}

// projectScopes finds the scopes of the module's project: their segments
// (scopeSegment of the identity), how to open the keyring of one, and how
// to name it in messages.
func (m *module) projectScopes(ctx context.Context) (segments []string, open func(seg string) (kr.Keyring, error), where func(seg string) string, err error) {
	opts, project := m.opts, m.scope.Project
	switch m.name {
	case Pass:
		dir, err := passDir(opts)
		if err != nil {
			return nil, nil, nil, err
		}
		prefix := opts.PassPrefix + "/" + project + "/"
		segments, err = subdirectories(filepath.Join(dir, filepath.FromSlash(prefix)))
		open = func(seg string) (kr.Keyring, error) { return &passRing{dir: dir, prefix: prefix + seg}, nil }
		where = func(seg string) string { return fmt.Sprintf("entry %s%s of the password store %s", prefix, seg, dir) }
		return segments, open, where, err
	case File:
		dir := opts.FileDir
		if dir == "" {
			dir = "~/.dstack/keyring"
		}
		if dir, err = secrets.ExpandHome(opts.Env, dir); err != nil {
			return nil, nil, nil, err
		}
		root := filepath.Join(dir, project)
		segments, err = subdirectories(root)
		password := oncePassword(filePassword(func() context.Context { return ctx }, opts.Env))
		open = func(seg string) (kr.Keyring, error) {
			return kr.Open(kr.Config{AllowedBackends: []kr.BackendType{kr.FileBackend}, FileDir: filepath.Join(root, seg), FilePasswordFunc: password})
		}
		where = func(seg string) string { return "directory " + filepath.Join(root, seg) }
		return segments, open, where, err
	default: // KeyCtl
		prefix := opts.Service + "/" + project + "/"
		segments, err = keyctlScopes(opts.KeyctlScope, prefix)
		open = func(seg string) (kr.Keyring, error) {
			keyctlOpenMu.Lock()
			defer keyctlOpenMu.Unlock()
			return kr.Open(kr.Config{AllowedBackends: []kr.BackendType{kr.KeyCtlBackend}, ServiceName: prefix + seg, KeyCtlScope: opts.KeyctlScope})
		}
		where = func(seg string) string {
			return fmt.Sprintf("keyring %s%s of the %s keyring", prefix, seg, opts.KeyctlScope)
		}
		return segments, open, where, err
	}
}

// subdirectories lists the directories in dir; a missing dir has none.
func subdirectories(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// oncePassword asks get once and gives every later caller the same answer.
func oncePassword(get kr.PromptFunc) kr.PromptFunc {
	var (
		once sync.Once
		pw   string
		err  error
	)
	return func(prompt string) (string, error) {
		once.Do(func() { pw, err = get(prompt) })
		return pw, err
	}
}

var (
	_ repositoryLister = (*secretService)(nil)
	_ repositoryLister = (*module)(nil)
)
