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
	// ScryptWorkFactor is the scrypt work factor for new encryptions in
	// passphrase mode (10 to 22); 0 means DefaultScryptWorkFactor. Lower
	// values make wrong-passphrase guessing cheaper: only tests should
	// lower it.
	ScryptWorkFactor int `yaml:"scrypt_work_factor"`

	// PassphraseFunc supplies the passphrase in passphrase mode. confirm is
	// true when a new store is about to be created, so an interactive
	// implementation should ask twice. When nil, Open uses
	// DSTACK_SECRETS_PASSPHRASE from Env, else Env's terminal prompt.
	PassphraseFunc func(ctx context.Context, confirm bool) (string, error) `yaml:"-"`
	// Env describes the process: the home directory (for the default Dir
	// and "~/" in paths), DSTACK_SECRETS_PASSPHRASE and the terminal
	// prompt. The zero value means the real process.
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
	if o.Passphrase && o.PassphraseFunc == nil {
		o.PassphraseFunc = envPassphrase(o.Env, scope.Project)
	}
	return nil
}

// envPassphrase returns the PassphraseFunc that reads
// DSTACK_SECRETS_PASSPHRASE from env, else asks at env's terminal prompt
// (twice when a store is created).
func envPassphrase(env secrets.Env, project string) func(ctx context.Context, confirm bool) (string, error) {
	return func(ctx context.Context, confirm bool) (string, error) {
		if p := env.Value(PassphraseEnvVar); p != "" {
			return p, nil
		}
		if env.Prompt == nil {
			return "", fmt.Errorf("%w: project %q uses a passphrase: set %s or run in a terminal to be asked for it", secrets.ErrAuth, project, PassphraseEnvVar)
		}
		p, err := env.Prompt(ctx, fmt.Sprintf("Passphrase for project %q: ", project))
		if err != nil || !confirm {
			return p, err
		}
		again, err := env.Prompt(ctx, "Repeat the passphrase: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", fmt.Errorf("%w: the two passphrases differ; nothing was written", secrets.ErrAuth)
		}
		return p, nil
	}
}
