package document_test

import (
	"bytes"
	"fmt"
	"log"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/internal/document"
)

// A backend's round trip: write a document, read it back lazily, change
// it and write it again. The cloud backend does this with one repository
// per object; the file backend with a project's repositories per file.
func Example() {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		log.Fatal(err)
	}
	const repo = "github.com/org/repo"

	d := document.New()
	d.Set(repo, "API_TOKEN", "tok_123")
	d.Set(repo, "DB_PASSWORD", "hunter2")
	var object bytes.Buffer
	if err := d.Encrypt(&object, id.Recipient()); err != nil {
		log.Fatal(err)
	}

	// Later, maybe in another process: decrypt what is asked for.
	r, err := document.Decrypt(bytes.NewReader(object.Bytes()), int64(object.Len()), id)
	if err != nil {
		log.Fatal(err) // *age.NoIdentityMatchError or *document.CorruptError
	}
	names, _ := r.List(repo)
	fmt.Println(names)
	v, ok, _ := r.Get(repo, "API_TOKEN")
	fmt.Println(ok, len(v))

	// Edit and write a new encryption.
	if _, err := r.Delete(repo, "DB_PASSWORD"); err != nil {
		log.Fatal(err)
	}
	object.Reset()
	if err := r.Encrypt(&object, id.Recipient()); err != nil {
		log.Fatal(err)
	}
	names, _ = r.List(repo)
	fmt.Println(names, r.Version())
	// Output:
	// [API_TOKEN DB_PASSWORD]
	// true 7
	// [API_TOKEN] 2
}
