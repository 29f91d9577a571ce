package keyring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Name is the backend name used in the project configuration.
const Name = "keyring"

// Keychain names, the values of the keychains option.
const (
	// SecretService is the freedesktop.org Secret Service on the D-Bus
	// session bus: GNOME Keyring, KWallet (KDE Frameworks 5.97 and later),
	// KeePassXC.
	SecretService = "secret-service"
	// Keychain is the macOS Keychain; it needs a build with cgo.
	Keychain = "keychain"
	// WinCred is the Windows Credential Manager.
	WinCred = "wincred"
	// KeyCtl is the Linux kernel key retention service. Its keys are lost
	// on reboot, so it is used only when the configuration names it.
	KeyCtl = "keyctl"
	// Pass is pass, the standard Unix password manager (GPG-encrypted
	// files), run as a program.
	Pass = "pass"
	// File is 99designs/keyring's own encrypted file store, used only when
	// the configuration names it.
	File = "file"
)

// allKeychains lists the valid keychain names in documentation order.
var allKeychains = []string{SecretService, Keychain, WinCred, KeyCtl, Pass, File}

// DefaultService is the default service name (prefix) of the items.
const DefaultService = "dstack-secrets"

// DefaultTimeout bounds every keychain call when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// PasswordEnvVar supplies the password of the "file" keychain.
const PasswordEnvVar = "DSTACK_SECRETS_KEYRING_PASSWORD"

// Options configure the keyring backend. In the project configuration they
// are written in snake case under options:, e.g.
//
//	backend: keyring
//	options:
//	  keychains: [secret-service, pass]
//	  collection: login
type Options struct {
	// Keychains are the keychains to use, tried in order at open; the
	// first one that opens holds the secrets. Empty means the operating
	// system's own persistent keychain: keychain on macOS, wincred on
	// Windows, secret-service elsewhere.
	Keychains []string `yaml:"keychains"`
	// Service names the application in the keychain; items of the scope
	// live under "<service>/<project>/<repository>". Default
	// DefaultService.
	Service string `yaml:"service"`
	// Collection is the Secret Service collection (e.g. "login" or
	// "session"); empty means the "default" alias, normally "login".
	// The collection must exist: creating one needs a desktop prompt.
	Collection string `yaml:"collection"`
	// PassDir is pass's password store; empty means $PASSWORD_STORE_DIR,
	// else ~/.password-store.
	PassDir string `yaml:"pass_dir"`
	// PassPrefix is the folder of the items inside the password store;
	// empty means Service.
	PassPrefix string `yaml:"pass_prefix"`
	// KeyctlScope is the kernel keyring the items are kept under: "user"
	// (the default), "usersession" or "session".
	KeyctlScope string `yaml:"keyctl_scope"`
	// FileDir is the directory of the "file" keychain; default
	// ~/.dstack/keyring.
	FileDir string `yaml:"file_dir"`
	// Timeout bounds every keychain call, including the wait for an unlock
	// prompt; default DefaultTimeout. Written like "30s" or "2m".
	Timeout time.Duration `yaml:"timeout"`

	// Env describes the process: its environment variables
	// (DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, DISPLAY,
	// PASSWORD_STORE_DIR, DSTACK_SECRETS_KEYRING_PASSWORD), home directory
	// and terminal prompt. The zero value means the real process.
	Env secrets.Env `yaml:"-"`
}

// SetEnv implements secrets.EnvSetter: the registry hands the process's
// description to the options it decoded.
func (o *Options) SetEnv(env secrets.Env) { o.Env = env }

// Backend returns the keyring backend for a secrets.Registry.
func Backend() secrets.Backend {
	return secrets.NewBackend(Name, "the operating system's keychain (macOS Keychain, Windows Credential Manager, Secret Service, pass, keyctl)", Open)
}

// DefaultKeychains returns the keychains used when Options.Keychains is
// empty: the persistent keychain of the operating system.
func DefaultKeychains() []string {
	switch runtime.GOOS {
	case "darwin":
		return []string{Keychain}
	case "windows":
		return []string{WinCred}
	default:
		return []string{SecretService}
	}
}

// keychain is one opened keychain, holding the secrets of one scope.
// Methods take and return secret names, already checked by secrets.Wrap;
// get and del answer an error wrapping secrets.ErrNotFound for a missing
// secret, and list may return names that are not valid secret names (the
// wrapper leaves them out).
type keychain interface {
	list(ctx context.Context) ([]string, error)
	get(ctx context.Context, name string) (string, error)
	set(ctx context.Context, name, value string) error
	del(ctx context.Context, name string) error
	// locate describes where the secret name is (or would be) kept.
	locate(name string) string
	close() error
}

// Store is the store of one scope in one keychain, as secrets.Unwrap
// returns it from the store Open gives. It is safe for concurrent use.
type Store struct {
	kc       keychain
	keychain string
	timeout  time.Duration
	warn     func(string) // Options.Env.Warn
}

var (
	_ secrets.Store      = (*Store)(nil)
	_ secrets.Locator    = (*Store)(nil)
	_ secrets.BulkGetter = (*Store)(nil)
	_ io.Closer          = (*Store)(nil)
)

// Open opens the store of scope in the first of opts.Keychains that can be
// opened. When none can, the error names each keychain, why it failed and
// what to do (often: use "backend: file"). The store is wrapped by
// secrets.Wrap; KeychainOf tells which keychain it uses.
func Open(ctx context.Context, scope secrets.Scope, opts Options) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, scope); err != nil {
		return nil, err
	}
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	var errs []error
	for _, name := range opts.Keychains {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := &Store{keychain: name, timeout: opts.Timeout, warn: opts.Env.Warn}
		err := s.call(ctx, "open", func(ctx context.Context) error {
			kc, err := openKeychain(ctx, name, scope, &opts)
			if err == nil {
				s.kc = kc
			}
			return err
		})
		if err == nil {
			return secrets.Wrap(s, secrets.Info{Backend: Name, Scope: scope}), nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
			return nil, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("no keychain could be opened (tried %s): %w", strings.Join(opts.Keychains, ", "), errors.Join(errs...))
}

func (o *Options) normalize() error {
	if len(o.Keychains) == 0 {
		o.Keychains = DefaultKeychains()
	}
	seen := map[string]bool{}
	for _, k := range o.Keychains {
		valid := false
		for _, v := range allKeychains {
			valid = valid || k == v
		}
		switch {
		case k == "kwallet":
			return fmt.Errorf("%w: keychain %q: KWallet is used through its Secret Service interface (KDE Frameworks 5.97 and later); write %q instead", secrets.ErrInvalidConfig, k, SecretService)
		case !valid:
			return fmt.Errorf("%w: unknown keychain %q in option keychains (valid: %s)", secrets.ErrInvalidConfig, k, strings.Join(allKeychains, ", "))
		case seen[k]:
			return fmt.Errorf("%w: keychain %q is listed twice in option keychains", secrets.ErrInvalidConfig, k)
		}
		seen[k] = true
	}
	if o.Service == "" {
		o.Service = DefaultService
	}
	if strings.ContainsAny(o.Service, "\x00\n/") {
		return fmt.Errorf("%w: option service %q must not contain '/', newlines or NUL", secrets.ErrInvalidConfig, o.Service)
	}
	if o.PassPrefix == "" {
		o.PassPrefix = o.Service
	}
	switch o.KeyctlScope {
	case "":
		o.KeyctlScope = "user"
	case "user", "usersession", "session":
	case "process", "thread":
		return fmt.Errorf("%w: keyctl_scope %q is not supported: Go moves goroutines between threads, so keys bound to one thread or process come and go; use user, usersession or session", secrets.ErrInvalidConfig, o.KeyctlScope)
	default:
		return fmt.Errorf("%w: unknown keyctl_scope %q (valid: user, usersession, session)", secrets.ErrInvalidConfig, o.KeyctlScope)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("%w: option timeout %s is negative", secrets.ErrInvalidConfig, o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	return nil
}

func openKeychain(ctx context.Context, name string, scope secrets.Scope, opts *Options) (keychain, error) {
	if name == SecretService {
		return openSecretService(ctx, scope, opts)
	}
	return openModule(ctx, name, scope, opts)
}

// Keychain returns the name of the keychain the store uses, e.g.
// "secret-service".
func (s *Store) Keychain() string { return s.keychain }

// KeychainOf returns the name of the keychain a store returned by Open
// uses, e.g. "secret-service", or "" when s is not a keyring store. It is
// short for secrets.Unwrap(s).(*keyring.Store).Keychain().
func KeychainOf(s secrets.Store) string {
	if ks, ok := secrets.Unwrap(s).(*Store); ok {
		return ks.keychain
	}
	return ""
}

// Locate implements secrets.Locator: it names the keychain and the item
// that holds (or would hold) the secret name.
func (s *Store) Locate(name string) string { return s.kc.locate(name) }

// call runs fn bounded by ctx and the store's timeout. fn runs in its own
// goroutine, so a keychain call that blocks without a context (a program
// waiting for a prompt) cannot hold the caller past the deadline.
func (s *Store) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn(tctx) }()
	var err error
	select {
	case err = <-done:
	case <-tctx.Done():
		err = tctx.Err()
	}
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(err, ctxErr) {
			return err
		}
		return ctxErr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("keychain %s: %s did not finish within %s (is it waiting for an unlock prompt or a password that cannot be given here?); unlock the keychain, raise options.timeout, or use \"backend: file\": %w",
			s.keychain, op, s.timeout, secrets.ErrUnavailable)
	}
	return err
}

// List returns the names of the scope's secrets, in no particular order
// and possibly with entries that are not secret names; the store Open
// returns sorts them and leaves those out.
func (s *Store) List(ctx context.Context) ([]string, error) {
	var names []string
	err := s.call(ctx, "list", func(ctx context.Context) error {
		var err error
		names, err = s.kc.list(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return names, nil
}

// Get returns the value of the secret name. An item that holds no valid
// secret value (binary data, an empty entry: written by another tool) or
// that cannot be decrypted gives an error wrapping secrets.ErrCorrupt that
// names the item and never quotes it.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	var value string
	err := s.call(ctx, "get", func(ctx context.Context) error {
		var err error
		value, err = s.kc.get(ctx, name)
		return err
	})
	if err != nil {
		return "", err
	}
	if err := secrets.ValidateValue(value); err != nil {
		return "", fmt.Errorf("%w: %s does not hold a secret value (%v); it was probably written by another tool: replace it with \"dstack-secrets add -y %s\" or delete it", secrets.ErrCorrupt, s.kc.locate(name), err, name)
	}
	return value, nil
}

// GetAll implements secrets.BulkGetter: it reads every secret of the scope
// and leaves out, with a warning through Options.Env.Warn, the items that
// cannot be read (secrets.ErrCorrupt from Get: written by another tool, or
// encrypted to someone else's key), so that one foreign item does not stop
// run or export; Get of that name still reports the problem.
func (s *Store) GetAll(ctx context.Context) (map[string]string, error) {
	names, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	valid := names[:0]
	for _, n := range names {
		if secrets.ValidateName(n) == nil {
			valid = append(valid, n)
		}
	}
	var mu sync.Mutex
	skipped := map[string]error{}
	all, err := secrets.ReadConcurrently(ctx, valid, secrets.MaxConcurrentReads, func(ctx context.Context, name string) (string, bool, error) {
		v, err := s.Get(ctx, name)
		switch {
		case errors.Is(err, secrets.ErrNotFound):
			return "", false, nil
		case errors.Is(err, secrets.ErrCorrupt):
			mu.Lock()
			skipped[name] = err
			mu.Unlock()
			return "", false, nil
		}
		return v, err == nil, err
	})
	if err != nil {
		return nil, err
	}
	if s.warn != nil {
		for _, name := range secrets.SortedNames(skipped) {
			s.warn(fmt.Sprintf("left out secret %s: %v", name, skipped[name]))
		}
	}
	return all, nil
}

// Set stores value under name.
func (s *Store) Set(ctx context.Context, name, value string) error {
	return s.call(ctx, "set", func(ctx context.Context) error { return s.kc.set(ctx, name, value) })
}

// Delete removes the secret name.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.call(ctx, "delete", func(ctx context.Context) error { return s.kc.del(ctx, name) })
}

// Close releases the keychain connection.
func (s *Store) Close() error {
	if s.kc == nil {
		return nil
	}
	return s.kc.close()
}
