package secrets

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// PromptFunc asks the person at the terminal for a secret input (such as a
// passphrase) without echoing it. It returns an error when no terminal is
// available.
type PromptFunc func(ctx context.Context, prompt string) (string, error)

// Env is what an opener may learn about the process it runs in. Tests and
// embedding programs fill it explicitly; DefaultEnv reads the real process.
type Env struct {
	// Getenv looks up an environment variable ("" when unset). Nil means
	// os.Getenv.
	Getenv func(key string) string
	// HomeDir is the user's home directory, for default paths such as
	// ~/.dstack/secrets. Empty means os.UserHomeDir.
	HomeDir string
	// Prompt asks for a secret input at a terminal; nil when there is no
	// terminal, in which case backends that need one report how to supply
	// the input otherwise.
	Prompt PromptFunc
	// Warn receives warnings a store gives without failing, such as an
	// entry another tool wrote that List and GetAll skip. A message names
	// what is affected and never holds a value. Nil discards warnings; the
	// CLI prints them on standard error as "dstack-secrets: warning: ...".
	Warn func(message string)
	// Notice tells the user, once, something they must know even when the
	// operation succeeds: the file backend calls it when it creates a key
	// file, with the file's path and how to back it up. Nil means nobody is
	// told; a program with a user should set it (the CLI prints it on
	// stderr).
	Notice func(msg string)
	// Timeout bounds how long a network backend keeps retrying one
	// operation against a failing or failing-over server when the
	// operation's context has no earlier deadline. Zero means the
	// backend's default (the CLI sets it from --timeout).
	Timeout time.Duration
}

// Warning passes message to e.Warn, if it is set.
func (e Env) Warning(message string) {
	if e.Warn != nil {
		e.Warn(message)
	}
}

// Value returns the value of the environment variable key through
// e.Getenv, or os.Getenv when that is nil ("" when unset).
func (e Env) Value(key string) string {
	if e.Getenv == nil {
		return os.Getenv(key)
	}
	return e.Getenv(key)
}

// Home returns e.HomeDir, or the process's home directory when it is empty.
func (e Env) Home() (string, error) {
	if e.HomeDir != "" {
		return e.HomeDir, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w: cannot find the home directory (%v); set HOME", ErrInvalidConfig, err)
	}
	return h, nil
}

// OpenRequest is everything an Opener gets to open a store.
type OpenRequest struct {
	// Scope is the project and repository the store is opened for.
	Scope Scope
	// Backend is the backend name the store is opened under, for messages.
	Backend string
	// Options are the backend's options from the project configuration;
	// decode them with Options.Decode.
	Options Options
	// Env describes the process environment.
	Env Env
	// AllowUnsafeNames are names on the deny list of UnsafeName that the
	// store accepts anyway (the project's allow_unsafe_names); Open adds
	// them to the store's Info.
	AllowUnsafeNames []string
	// MaxSecrets is the project's max_secrets (0: the default).
	MaxSecrets int
}

// Opener opens a store of one backend. It decodes its own options from
// req.Options (rejecting unknown keys) and must not retain req.Options.
// NewBackend writes it for a backend from its Open function.
type Opener func(ctx context.Context, req OpenRequest) (Store, error)

// EnvSetter is implemented by a pointer to a backend's options struct: it
// receives the process description (environment variables, home
// directory, terminal prompt) that the configuration file cannot hold.
type EnvSetter interface {
	SetEnv(env Env)
}

// NewBackend returns the registry entry of a backend from its constructor,
// which every backend writes with the same shape:
//
//	func Open(ctx context.Context, scope secrets.Scope, opts Options) (secrets.Store, error)
//
// The entry's opener decodes the project's options into a fresh O (its
// fields carry yaml tags; unknown keys and wrong types are errors that
// name the option), hands it the process's Env through SetEnv, and calls
// open. Registry.Open wraps what open returns (Wrap), so the shared checks
// apply even to a backend that forgets to.
func NewBackend[O any, P interface {
	*O
	EnvSetter
}](name, summary string, open func(ctx context.Context, scope Scope, opts O) (Store, error)) Backend {
	return Backend{
		Name:    name,
		Summary: summary,
		Open: func(ctx context.Context, req OpenRequest) (Store, error) {
			var opts O
			if err := req.Options.Decode(name, &opts); err != nil {
				return nil, err
			}
			P(&opts).SetEnv(req.Env)
			return open(ctx, req.Scope, opts)
		},
	}
}

// Backend describes one backend a Registry can open.
type Backend struct {
	// Name is the value of "backend:" in the configuration, e.g. "file".
	Name string
	// Summary is a one-line description for help texts.
	Summary string
	// Open opens a store.
	Open Opener
}

// Registry maps backend names to openers. The zero value is not usable;
// create one with NewRegistry. A Registry is safe for concurrent Open calls
// once all backends are registered.
type Registry struct {
	backends map[string]Backend
}

// NewRegistry returns a registry holding the given backends. It panics, like
// Register, on a duplicate or malformed backend.
func NewRegistry(backends ...Backend) *Registry {
	r := &Registry{backends: make(map[string]Backend)}
	for _, b := range backends {
		r.Register(b)
	}
	return r
}

// Register adds a backend. It panics if the name is empty or already
// registered, or if Open is nil: these are programming errors.
func (r *Registry) Register(b Backend) {
	if b.Name == "" || b.Open == nil {
		panic("secrets: Register of a backend without a name or an opener")
	}
	if _, dup := r.backends[b.Name]; dup {
		panic("secrets: Register called twice for backend " + b.Name)
	}
	r.backends[b.Name] = b
}

// Names returns the registered backend names, sorted.
func (r *Registry) Names() []string {
	return SortedNames(r.backends)
}

// Backends returns the registered backends sorted by name.
func (r *Registry) Backends() []Backend {
	out := make([]Backend, 0, len(r.backends))
	for _, n := range r.Names() {
		out = append(out, r.backends[n])
	}
	return out
}

// Open validates the request's scope and context and opens a store with
// the backend named req.Backend, behind the shared checks of Wrap. An
// unknown name gives an error wrapping ErrUnknownBackend that lists the
// registered names.
func (r *Registry) Open(ctx context.Context, req OpenRequest) (Store, error) {
	if err := req.Scope.Validate(); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	b, ok := r.backends[req.Backend]
	if !ok {
		return nil, fmt.Errorf("%w %q (registered backends: %s; a custom backend must be registered by the program)",
			ErrUnknownBackend, req.Backend, strings.Join(r.Names(), ", "))
	}
	s, err := b.Open(ctx, req)
	if err != nil {
		return nil, err
	}
	return Wrap(s, Info{Backend: req.Backend, Scope: req.Scope, AllowUnsafeNames: req.AllowUnsafeNames, MaxSecrets: req.MaxSecrets}), nil
}

// CheckOpen is what every backend's Open starts with: it reports a
// malformed scope or a done context before the backend does any work.
func CheckOpen(ctx context.Context, scope Scope) error {
	if err := scope.Validate(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// validKeys lists the accepted keys of an options map for error messages.
func validKeys(keys []string) string {
	if len(keys) == 0 {
		return "this backend takes no options"
	}
	sort.Strings(keys)
	return "valid options: " + strings.Join(keys, ", ")
}
