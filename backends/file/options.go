package file

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Name is the backend name used in the project configuration.
const Name = "file"

// PassphraseEnvVar is the environment variable that supplies the passphrase
// in passphrase mode.
const PassphraseEnvVar = "DSTACK_SECRETS_PASSPHRASE"

// PassphraseFDEnvVar is the environment variable that names a file
// descriptor (3 or more) to read the passphrase from in passphrase mode,
// as Options.PassphraseFD does.
const PassphraseFDEnvVar = "DSTACK_SECRETS_PASSPHRASE_FD"

// DefaultScryptWorkFactor is the scrypt work factor (log2 of N) used to
// encrypt passphrase-mode stores: age's own default.
const DefaultScryptWorkFactor = 18

// Options configure the file backend. In the project configuration they are
// written in snake case under options:, e.g.
//
//	backend: file
//	options:
//	  dir: ~/secrets
//	  passphrase: true
type Options struct {
	// Dir is the directory of the store files; default ~/.dstack/secrets.
	Dir string `yaml:"dir"`
	// IdentityFile is the age identity (key) file; default
	// <dir>/<project>.key. Ignored in passphrase mode. Unlike the files in
	// the store directory it may be a symbolic link, which is followed; its
	// target must belong to the user (or root) and be readable by nobody
	// else.
	IdentityFile string `yaml:"identity_file"`
	// Passphrase selects passphrase mode: the store is encrypted with a
	// passphrase (age scrypt) instead of a key file.
	Passphrase bool `yaml:"passphrase"`
	// ScryptWorkFactor is the scrypt work factor (log2 of scrypt's N) for
	// new encryptions in passphrase mode, 10 to 22; 0 means
	// DefaultScryptWorkFactor. A value below it, which makes each guess of
	// the passphrase cheaper, needs AllowWeakScrypt. A write never lowers
	// the factor of an existing store: the higher of this and the store's
	// is used.
	ScryptWorkFactor int `yaml:"scrypt_work_factor"`
	// AllowWeakScrypt allows a ScryptWorkFactor below
	// DefaultScryptWorkFactor. It is meant for tests only, where every
	// encryption at the default costs about a second and 256 MiB.
	AllowWeakScrypt bool `yaml:"allow_weak_scrypt"`
	// PassphraseCommand is a command that prints the passphrase, as git's
	// credential helpers do: the program (looked up in PATH; a leading "~/"
	// is the home directory) and its arguments, run without a shell, with
	// no standard input and the process's standard error. Its output, less
	// one final newline, is the passphrase; its failure is an error that
	// does not show its output. Only with Passphrase.
	PassphraseCommand []string `yaml:"passphrase_command"`
	// PassphraseFD is a file descriptor (3 or more; Unix) from which the
	// passphrase is read to its end (less one final newline) and which is
	// then closed, so that no command started later inherits it. Only
	// with Passphrase.
	PassphraseFD int `yaml:"passphrase_fd"`

	// PassphraseFunc supplies the passphrase in passphrase mode. confirm is
	// true when a new store is about to be created, so an interactive
	// implementation should ask twice. When nil, Open uses, in this order,
	// PassphraseCommand, PassphraseFD, the descriptor named by
	// DSTACK_SECRETS_PASSPHRASE_FD, DSTACK_SECRETS_PASSPHRASE, and Env's
	// terminal prompt.
	PassphraseFunc func(ctx context.Context, confirm bool) (string, error) `yaml:"-"`
	// Env describes the process: the home directory (for the default Dir
	// and "~/" in paths), DSTACK_SECRETS_PASSPHRASE(_FD), the terminal
	// prompt and where warnings go (a passphrase shorter than 12
	// characters). The zero value means the real process.
	Env secrets.Env `yaml:"-"`
}

// SetEnv implements secrets.EnvSetter.
func (o *Options) SetEnv(env secrets.Env) { o.Env = env }

// Backend returns the registry entry of the file backend.
func Backend() secrets.Backend {
	return secrets.NewBackend(Name, "age-encrypted file per project under ~/.dstack/secrets (the default)", Open)
}

// Open opens the file store of scope. It creates nothing: the directory,
// key and store file are created by the first write. An empty opts.Dir
// means ~/.dstack/secrets; a leading "~/" in Dir and IdentityFile is the
// home directory of opts.Env.
func Open(ctx context.Context, scope secrets.Scope, opts Options) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, scope); err != nil {
		return nil, err
	}
	if err := opts.normalize(scope); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: file backend: dir %q: %v", secrets.ErrInvalidConfig, opts.Dir, err)
	}
	s := &Store{
		scope:    scope,
		opts:     opts,
		path:     filepath.Join(dir, scope.Project+".age"),
		lockPath: filepath.Join(dir, scope.Project+".lock"),
		keyPath:  opts.IdentityFile,
	}
	if s.keyPath == "" {
		s.keyPath = filepath.Join(dir, scope.Project+".key")
	}
	return secrets.Wrap(s, secrets.Info{Backend: Name, Scope: scope}), nil
}

// normalize fills in the defaults of o and checks it.
func (o *Options) normalize(scope secrets.Scope) error {
	var err error
	if o.Dir == "" {
		home, herr := o.Env.Home()
		if herr != nil {
			return herr
		}
		o.Dir = filepath.Join(home, ".dstack", "secrets")
	} else if o.Dir, err = secrets.ExpandHome(o.Env, o.Dir); err != nil {
		return err
	}
	if o.IdentityFile != "" {
		if o.IdentityFile, err = secrets.ExpandHome(o.Env, o.IdentityFile); err != nil {
			return err
		}
	}
	if o.ScryptWorkFactor == 0 {
		o.ScryptWorkFactor = DefaultScryptWorkFactor
	}
	if o.ScryptWorkFactor < 10 || o.ScryptWorkFactor > 22 {
		return fmt.Errorf("%w: file backend: scrypt_work_factor %d is outside 10..22", secrets.ErrInvalidConfig, o.ScryptWorkFactor)
	}
	if o.ScryptWorkFactor < DefaultScryptWorkFactor && !o.AllowWeakScrypt {
		return fmt.Errorf("%w: file backend: scrypt_work_factor %d is below age's default %d, which makes guessing the passphrase %d times cheaper; remove it, or add allow_weak_scrypt: true (meant for tests only)", secrets.ErrInvalidConfig, o.ScryptWorkFactor, DefaultScryptWorkFactor, 1<<(DefaultScryptWorkFactor-o.ScryptWorkFactor))
	}
	if err := o.checkPassphraseSources(); err != nil {
		return err
	}
	if o.Passphrase && o.PassphraseFunc == nil {
		if o.PassphraseFunc, err = o.passphraseSource(scope.Project); err != nil {
			return err
		}
	}
	return nil
}
