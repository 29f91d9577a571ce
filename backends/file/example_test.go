package file_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Open a file store directly, without a configuration file. The first
// write creates the directory (0700), the key and the store file (0600).
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example-secrets")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	scope := secrets.Scope{Project: "default", Repository: "github.com/org/repo"}
	store, err := file.Open(ctx, scope, file.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(store)

	if err := store.Set(ctx, "DB_PASSWORD", "hunter2"); err != nil {
		log.Fatal(err)
	}
	if _, err := store.Get(ctx, "MISSING"); err != nil {
		fmt.Println(secrets.ErrNotFound == err, errorsIs(err, secrets.ErrNotFound))
	}
	names, _ := store.List(ctx)
	fmt.Println(names)
	// Output:
	// false true
	// [DB_PASSWORD]
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
