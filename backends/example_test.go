package backends_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Open the store of the current project and repository, the way a dstack
// tool does, and hand its secrets to a workflow as environment variables.
// With no configuration file the project is "default" on the file backend.
func ExampleOpen() {
	home, _ := os.MkdirTemp("", "example-home")
	defer os.RemoveAll(home)
	ctx := context.Background()

	store, target, err := backends.Open(ctx, secrets.Target{
		Repository: "github.com/org/repo", // empty: the repository of the working directory
		Env:        secrets.Env{HomeDir: home},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(store)

	if err := store.Set(ctx, "API_TOKEN", "s3cr3t"); err != nil {
		log.Fatal(err)
	}
	env, err := secrets.Environ(ctx, store, []string{"HOME=" + home}, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(target.Scope.Project, target.Backend, len(env))
	// Output: default file 2
}

// A program that opens several stores (copy, move) resolves each target
// once and opens it with a registry, here the built-in one plus nothing.
func ExampleRegistry() {
	home, _ := os.MkdirTemp("", "example-home")
	defer os.RemoveAll(home)
	ctx := context.Background()

	r, err := secrets.Resolve(secrets.Target{Repository: "github.com/org/repo", Env: secrets.Env{HomeDir: home}})
	if err != nil {
		log.Fatal(err)
	}
	store, err := backends.Registry().OpenResolved(ctx, r)
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(store)
	names, err := store.List(ctx)
	fmt.Println(r.Scope.Repository, len(names), err)
	// Output: github.com/org/repo 0 <nil>
}
