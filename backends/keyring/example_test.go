package keyring_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Open a repository's secrets in a keychain. This example uses the "file"
// keychain (encrypted files, here in a temporary directory, with the
// password from $DSTACK_SECRETS_KEYRING_PASSWORD) so that it runs
// anywhere; leave Keychains empty for the operating system's keychain.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "keyring-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	opts := keyring.Options{Keychains: []string{keyring.File}, FileDir: dir}
	opts.Env.Getenv = func(key string) string {
		if key == keyring.PasswordEnvVar {
			return "the password of the file keychain"
		}
		return os.Getenv(key)
	}
	ctx := context.Background()
	s, err := keyring.Open(ctx, secrets.Scope{Project: "main", Repository: "github.com/org/repo"}, opts)
	if err != nil {
		log.Fatal(err)
	}
	defer secrets.Close(s)

	if err := s.Set(ctx, "API_TOKEN", "s3cr3t"); err != nil {
		log.Fatal(err)
	}
	token, err := s.Get(ctx, "API_TOKEN")
	if err != nil {
		log.Fatal(err)
	}
	names, err := s.List(ctx)
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.Get(ctx, "MISSING")
	fmt.Println("keychain:", keyring.KeychainOf(s))
	fmt.Println("names:", names)
	fmt.Println("token length:", len(token))
	fmt.Println("MISSING not found:", errors.Is(err, secrets.ErrNotFound))
	// Output:
	// keychain: file
	// names: [API_TOKEN]
	// token length: 6
	// MISSING not found: true
}

// Open the operating system's keychain (macOS Keychain, Windows Credential
// Manager, or the Secret Service of GNOME Keyring or KWallet), falling back
// to pass, and tell which one holds the secrets.
func ExampleOpen_osKeychain() {
	ctx := context.Background()
	opts := keyring.Options{Keychains: append(keyring.DefaultKeychains(), keyring.Pass)}
	s, err := keyring.Open(ctx, secrets.Scope{Project: "main", Repository: "github.com/org/repo"}, opts)
	if err != nil {
		// The error names every keychain tried, why it failed and the fix.
		log.Fatal(err)
	}
	defer secrets.Close(s)
	fmt.Println("secrets are kept in", keyring.KeychainOf(s))
}
