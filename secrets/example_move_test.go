package secrets_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Secrets added before the repository had a remote are kept under its
// path; once "git remote add origin" changed its identity, Repositories
// finds them and Move brings them to the new identity.
func ExampleMove() {
	dir, _ := os.MkdirTemp("", "example-secrets")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	open := func(repository string) secrets.Store {
		s, err := file.Open(ctx, secrets.Scope{Project: "default", Repository: repository}, file.Options{Dir: dir})
		if err != nil {
			log.Fatal(err)
		}
		return s
	}
	old, current := open("/home/me/src/my-app"), open("github.com/acme/my-app")
	defer secrets.Close(old)
	defer secrets.Close(current)
	if err := secrets.SetMany(ctx, old, map[string]string{"API_TOKEN": "t", "DB_PASSWORD": "p"}, false); err != nil {
		log.Fatal(err)
	}

	repos, err := secrets.Repositories(ctx, current)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(repos)
	moved, err := secrets.Move(ctx, old, current, false)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("moved", moved)
	repos, _ = secrets.Repositories(ctx, current)
	fmt.Println(repos)
	// Output:
	// map[/home/me/src/my-app:2]
	// moved [API_TOKEN DB_PASSWORD]
	// map[github.com/acme/my-app:2]
}
