package secrets_test

import (
	"context"
	"fmt"
	"log"
	"sync"

	"github.com/dstackai/dstack-secrets/secrets"
)

// shelfOptions are the options of the example backend, as written under
// options: in the configuration.
type shelfOptions struct {
	Shelf string      `yaml:"shelf"`
	Env   secrets.Env `yaml:"-"`
}

// SetEnv implements secrets.EnvSetter.
func (o *shelfOptions) SetEnv(env secrets.Env) { o.Env = env }

// shelfStore keeps secrets in memory: the four methods of Store, with no
// validation or not-found texts of its own (Wrap provides them).
type shelfStore struct {
	mu   sync.Mutex
	data map[string]string
}

func (s *shelfStore) List(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return secrets.SortedNames(s.data), nil
}

func (s *shelfStore) Get(_ context.Context, name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[name]
	if !ok {
		return "", secrets.ErrNotFound
	}
	return v, nil
}

func (s *shelfStore) Set(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[name] = value
	return nil
}

func (s *shelfStore) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data[name]; !ok {
		return secrets.ErrNotFound
	}
	delete(s.data, name)
	return nil
}

// openShelf has the constructor shape of every backend.
func openShelf(ctx context.Context, scope secrets.Scope, opts shelfOptions) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, scope); err != nil {
		return nil, err
	}
	if opts.Shelf == "" {
		return nil, fmt.Errorf("%w: backend shelf: the shelf option is required", secrets.ErrInvalidConfig)
	}
	return secrets.Wrap(&shelfStore{data: map[string]string{}}, secrets.Info{Backend: "shelf", Scope: scope}), nil
}

// A backend of one's own: a Store with four methods, an Open that applies
// Wrap, and NewBackend to decode its options and register it. The shared
// checks (validation, messages, fallbacks) come with Wrap; run
// secretstest.Run against it in its tests.
func ExampleNewBackend() {
	reg := secrets.NewRegistry(secrets.NewBackend("shelf", "secrets on a shelf", openShelf))
	ctx := context.Background()
	store, err := reg.Open(ctx, secrets.OpenRequest{
		Scope:   secrets.Scope{Project: "demo", Repository: "github.com/org/repo"},
		Backend: "shelf",
		Options: secrets.Options{"shelf": "top"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(store)

	fmt.Println(store.Set(ctx, "bad name", "v") != nil) // checked by Wrap
	fmt.Println(secrets.Create(ctx, store, "TOKEN", "t1"))
	_, err = store.Get(ctx, "OTHER")
	fmt.Println(err)

	_, err = reg.Open(ctx, secrets.OpenRequest{
		Scope:   secrets.Scope{Project: "demo", Repository: "github.com/org/repo"},
		Backend: "shelf",
		Options: secrets.Options{"shelve": "top"},
	})
	fmt.Println(err)
	// Output:
	// true
	// <nil>
	// secret not found: "OTHER" in project "demo", repository github.com/org/repo (backend shelf)
	// invalid configuration: unknown option "shelve" for backend "shelf" (valid options: shelf)
}
