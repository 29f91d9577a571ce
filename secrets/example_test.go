package secrets_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/exec"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Read every secret of a scope in one call: one decryption on the file
// backend, one bounded concurrent read on backends without a bulk read.
func ExampleGetAll() {
	dir, _ := os.MkdirTemp("", "example-secrets")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := file.Open(ctx, secrets.Scope{Project: "default", Repository: "github.com/org/repo"}, file.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(store)
	if err := secrets.SetMany(ctx, store, map[string]string{"A": "1", "B": "2"}, false); err != nil {
		log.Fatal(err)
	}

	all, err := secrets.GetAll(ctx, store)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(secrets.SortedNames(all))
	// Output: [A B]
}

// Start a command with the secrets of a store in its environment.
func ExamplePrepareCmd() {
	dir, _ := os.MkdirTemp("", "example-secrets")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := file.Open(ctx, secrets.Scope{Project: "default", Repository: "github.com/org/repo"}, file.Options{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(store)
	if err := store.Set(ctx, "GREETING", "hello"); err != nil {
		log.Fatal(err)
	}

	cmd := exec.CommandContext(ctx, "sh", "-c", `echo "$GREETING"`)
	if err := secrets.PrepareCmd(ctx, store, cmd, true); err != nil {
		log.Fatal(err)
	}
	out, err := cmd.Output()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(out))
	// Output: hello
}
