package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	kr "github.com/99designs/keyring"

	"github.com/dstackai/dstack-secrets/backends/keyring/internal/dbusguard"
	"github.com/dstackai/dstack-secrets/secrets"
)

// moduleInitGuarded restores DBUS_SESSION_BUS_ADDRESS after the keyring
// module's init functions ran without a bus connection (see package
// dbusguard). Being a package-level variable, it is initialised after every
// imported package and before main.
var moduleInitGuarded = dbusguard.Restore()

// module is a keychain reached through github.com/99designs/keyring
// (macOS Keychain, Windows Credential Manager, keyctl, pass, file). Each
// scope gets its own service name, key prefix or directory, so that
// listing a scope reads only that scope's items; names are stored with
// encodeName. Keychains with a size limit per item (keyctl: 32767 bytes)
// keep longer values in chunks: see chunk.go, which reads, writes and
// removes the values.
type module struct {
	name    string
	ring    kr.Keyring
	scope   secrets.Scope
	maxData int                     // largest item the keychain stores; 0 means no limit
	mu      *sync.Mutex             // serialises calls when the keychain is not safe for concurrent use
	hint    string                  // what to check when a call fails
	where   func(key string) string // describes the item of key, for locate
	opts    *Options                // the store's options, for repositories

	recorded atomic.Bool // the scope's marker is stored (repos.go)

	// callCtx is the context of the call in progress, under mu, for the
	// file keychain's password prompt: the module's prompt function has
	// no context of its own.
	callCtx context.Context
}

// keyctlOpenMu serialises opening keyctl keyrings: the module creates the
// scope's named keyring when it is missing, and two creators would displace
// each other's keyring.
var keyctlOpenMu sync.Mutex

func moduleType(name string) kr.BackendType {
	switch name {
	case Keychain:
		return kr.KeychainBackend
	case WinCred:
		return kr.WinCredBackend
	case KeyCtl:
		return kr.KeyCtlBackend
	case Pass:
		return kr.PassBackend
	default:
		return kr.FileBackend
	}
}

// unavailableHere explains why a keychain is not compiled into this program.
func unavailableHere(name string) error {
	var why string
	switch name {
	case Keychain:
		if runtime.GOOS == "darwin" {
			why = "the macOS Keychain needs a build with cgo, and this program was built with CGO_ENABLED=0; rebuild it with CGO_ENABLED=1"
		} else {
			why = "the macOS Keychain exists only on macOS"
		}
	case WinCred:
		why = "the Windows Credential Manager exists only on Windows"
	case KeyCtl:
		why = "the kernel keyring (keyctl) exists only on Linux"
	case Pass:
		why = "pass is not supported on " + runtime.GOOS
	default:
		why = "not available on " + runtime.GOOS
	}
	return fmt.Errorf("keychain %s is not available: %s; choose another keychain in options.keychains or use \"backend: file\": %w", name, why, secrets.ErrUnavailable)
}

func openModule(ctx context.Context, name string, scope secrets.Scope, opts *Options) (keychain, error) {
	typ := moduleType(name)
	if !slices.Contains(kr.AvailableBackends(), typ) {
		return nil, unavailableHere(name)
	}
	sp := scopePath(scope)
	cfg := kr.Config{
		AllowedBackends: []kr.BackendType{typ},
		ServiceName:     opts.Service + "/" + sp,
		KeyCtlScope:     opts.KeyctlScope,
		WinCredPrefix:   opts.Service + "/" + sp,
	}
	m := &module{name: name, scope: scope, opts: opts}
	switch name {
	case Keychain:
		m.where = func(key string) string {
			return fmt.Sprintf("keychain %s, service %s, account %s", name, cfg.ServiceName, key)
		}
	case WinCred:
		// The module names a credential "<prefix>:<service name>:<key>".
		m.where = func(key string) string {
			return fmt.Sprintf("keychain %s, credential %s:%s:%s", name, cfg.WinCredPrefix, cfg.ServiceName, key)
		}
	case KeyCtl:
		m.where = func(key string) string {
			return fmt.Sprintf("keychain %s, key %s in keyring %s of the %s keyring", name, key, cfg.ServiceName, opts.KeyctlScope)
		}
		if err := probeKeyctl(opts.KeyctlScope); err != nil {
			return nil, err
		}
		m.maxData = keyctlMaxData
		m.hint = "check the kernel key quota in /proc/sys/kernel/keys/ (non-root users may keep 20000 bytes in 200 keys)"
	case Pass:
		dir, err := passDir(opts)
		if err != nil {
			return nil, err
		}
		if err := checkPass(dir, opts.PassPrefix); err != nil {
			return nil, err
		}
		cfg.PassDir = dir
		cfg.PassPrefix = opts.PassPrefix + "/" + sp
		m.where = func(key string) string {
			return fmt.Sprintf("keychain %s, entry %s/%s of the password store %s", name, cfg.PassPrefix, key, dir)
		}
		m.hint = "check that gpg can use the key in " + filepath.Join(dir, ".gpg-id")
		// Run pass ourselves, to read entries that pass's own users wrote
		// (see passRing).
		m.ring = &passRing{dir: dir, prefix: cfg.PassPrefix}
		return m, nil
	case File:
		dir := opts.FileDir
		if dir == "" {
			dir = "~/.dstack/keyring"
		}
		dir, err := secrets.ExpandHome(opts.Env, dir)
		if err != nil {
			return nil, err
		}
		cfg.FileDir = filepath.Join(dir, scope.Project, scopeSegment(scope.Repository))
		// The password is asked for at the first read or write, under the
		// context of that call (not of open, which has ended by then).
		cfg.FilePasswordFunc = filePassword(func() context.Context {
			if m.callCtx == nil {
				return ctx
			}
			return m.callCtx
		}, opts.Env)
		m.where = func(key string) string {
			return fmt.Sprintf("keychain %s, file %s", name, filepath.Join(cfg.FileDir, key))
		}
		m.mu = new(sync.Mutex) // the module's file keyring caches its password without a lock
		m.hint = "check the password in $" + PasswordEnvVar
	}
	if name == KeyCtl {
		keyctlOpenMu.Lock()
		defer keyctlOpenMu.Unlock()
	}
	ring, err := kr.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("keychain %s cannot be opened; use another keychain or \"backend: file\": %w", name, secrets.ErrUnavailable)
	}
	m.ring = ring
	return m, nil
}

func passDir(opts *Options) (string, error) {
	dir := opts.PassDir
	if dir == "" {
		dir = opts.Env.Value("PASSWORD_STORE_DIR")
	}
	if dir == "" {
		dir = "~/.password-store"
	}
	return secrets.ExpandHome(opts.Env, dir)
}

// checkPass reports a missing pass program or an uninitialised store
// before pass itself fails with a bare exit status.
func checkPass(dir, prefix string) error {
	if _, err := exec.LookPath("pass"); err != nil {
		return fmt.Errorf("keychain pass: the pass program is not installed (install it, e.g. apt-get install pass) or use \"backend: file\": %w", secrets.ErrUnavailable)
	}
	// pass encrypts to the key IDs in the nearest .gpg-id at or above an
	// item's folder.
	for d := filepath.Join(dir, filepath.FromSlash(prefix)); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".gpg-id")); err == nil {
			return nil
		}
		if len(d) <= len(dir) || d == filepath.Dir(d) {
			break
		}
	}
	return fmt.Errorf("keychain pass: the password store %s is not initialised (no .gpg-id); run \"pass init YOUR-GPG-KEY-ID\" (with PASSWORD_STORE_DIR=%s), set options.pass_dir, or use \"backend: file\": %w", dir, dir, secrets.ErrUnavailable)
}

// filePassword returns the file keychain's password function: the
// password from $DSTACK_SECRETS_KEYRING_PASSWORD, else asked at the
// terminal under the context ctx returns.
func filePassword(ctx func() context.Context, env secrets.Env) kr.PromptFunc {
	return func(prompt string) (string, error) {
		if p := env.Value(PasswordEnvVar); p != "" {
			return p, nil
		}
		if env.Prompt != nil {
			return env.Prompt(ctx(), "Password of the keyring file store: ")
		}
		return "", fmt.Errorf("keychain file needs a password: set %s or run in a terminal: %w", PasswordEnvVar, secrets.ErrAuth)
	}
}

// begin serialises the calls of a keychain that is not safe for
// concurrent use (m.mu) and records the context of the call, which the
// file keychain's password prompt uses; the function it returns ends the
// call.
func (m *module) begin(ctx context.Context) func() {
	if m.mu == nil {
		return func() {}
	}
	m.mu.Lock()
	m.callCtx = ctx
	return func() {
		m.callCtx = nil
		m.mu.Unlock()
	}
}

// fail wraps an error of the keyring module with the keychain's name and
// what to check.
func (m *module) fail(op, name string, err error) error {
	sentinel := secrets.ErrUnavailable
	switch {
	case errors.Is(err, secrets.ErrAuth), errors.Is(err, secrets.ErrConflict), errors.Is(err, secrets.ErrCorrupt),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("keychain %s: %s %q: %w", m.name, op, name, err)
	case errors.Is(err, syscall.EDQUOT):
		return fmt.Errorf("keychain %s: %s %q: the kernel key quota is exhausted (%v); %s, delete unused secrets or use \"backend: file\": %w", m.name, op, name, err, m.hint, secrets.ErrUnavailable)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		sentinel = secrets.ErrPermission
	case strings.Contains(err.Error(), "aes.KeyUnwrap") || strings.Contains(err.Error(), "integrity check failed"):
		return fmt.Errorf("keychain %s: %s %q: wrong password (%v); %s: %w", m.name, op, name, err, m.hint, secrets.ErrAuth)
	}
	if name == "" {
		return fmt.Errorf("keychain %s: %s: %v; %s: %w", m.name, op, err, m.hint, sentinel)
	}
	return fmt.Errorf("keychain %s: %s %q: %v; %s: %w", m.name, op, name, err, m.hint, sentinel)
}

func (m *module) list(ctx context.Context) ([]string, error) {
	defer m.begin(ctx)()
	keys, err := m.ring.Keys()
	if err != nil {
		return nil, m.fail("list", "", err)
	}
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if n, ok := decodeName(k); ok {
			names = append(names, n)
		}
	}
	return names, nil
}

func (m *module) get(ctx context.Context, name string) (string, error) {
	defer m.begin(ctx)()
	value, found, err := m.readValue(ctx, encodeName(name))
	if err != nil {
		return "", m.fail("get", name, err)
	}
	if !found {
		return "", secrets.ErrNotFound
	}
	return value, nil
}

func (m *module) set(ctx context.Context, name, value string) error {
	defer m.begin(ctx)()
	if err := m.writeValue(encodeName(name), name, value); err != nil {
		return m.fail("set", name, err)
	}
	m.recordScope()
	return nil
}

func (m *module) del(ctx context.Context, name string) error {
	defer m.begin(ctx)()
	found, err := m.removeValue(encodeName(name))
	if err != nil {
		return m.fail("delete", name, err)
	}
	if !found {
		return secrets.ErrNotFound
	}
	return nil
}

// item is the keychain item of key, which holds the value of the secret
// name or a chunk of it.
func (m *module) item(key string, name string, data []byte) kr.Item {
	return kr.Item{
		Key:         key,
		Data:        data,
		Label:       "dstack-secrets " + name,
		Description: m.scope.String(),
	}
}

func (m *module) locate(name string) string {
	if m.where == nil {
		return "keychain " + m.name
	}
	return m.where(encodeName(name))
}

func (m *module) close() error { return nil }
