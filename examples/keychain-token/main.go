// Command keychain-token shows how a desktop tool keeps its API token in
// the operating system's keychain (macOS Keychain, Windows Credential
// Manager, GNOME Keyring or KWallet) through the dstack-secrets library,
// instead of in a plain-text file:
//
//	keychain-token login  < token.txt   # store the token (read from stdin)
//	keychain-token token                # print it, e.g. for curl -H "Authorization: Bearer $(keychain-token token)"
//	keychain-token logout               # remove it
//
// The token belongs to a project and a repository like every dstack
// secret; here the repository is the git repository of the working
// directory, or -repo. Flags: -project (default "default"), -repo,
// -keychain (default: the OS keychain; e.g. pass or keyctl on a headless
// Linux box), -service (the application name in the keychain).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

// tokenName is the secret name the token is kept under.
const tokenName = "DSTACK_TOKEN"

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program with its arguments and streams injected; it
// returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keychain-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	project := fs.String("project", "default", "the project the token belongs to")
	repo := fs.String("repo", "", "the repository (default: the git repository of the working directory)")
	kc := fs.String("keychain", "", "the keychain (default: the operating system's: "+strings.Join(keyring.DefaultKeychains(), ", ")+")")
	service := fs.String("service", keyring.DefaultService, "the application name in the keychain")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: keychain-token [flags] login|token|logout")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := do(ctx, fs.Arg(0), *project, *repo, *kc, *service, stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "keychain-token:", err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("unknown command (want login, token or logout)")

func do(ctx context.Context, cmd, project, repo, kc, service string, stdin io.Reader, stdout io.Writer) error {
	if cmd != "login" && cmd != "token" && cmd != "logout" {
		return fmt.Errorf("%q: %w", cmd, errUsage)
	}
	repository, err := secrets.ResolveRepository(repo, "")
	if err != nil {
		return err
	}
	opts := keyring.Options{Service: service}
	if kc != "" {
		opts.Keychains = []string{kc}
	}
	store, err := keyring.Open(ctx, secrets.Scope{Project: project, Repository: repository}, opts)
	if err != nil {
		return err
	}
	defer secrets.Close(store)
	switch cmd {
	case "login":
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if err := store.Set(ctx, tokenName, strings.TrimRight(line, "\r\n")); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Token stored in keychain %s for %s.\n", keyring.KeychainOf(store), repository)
	case "token":
		token, err := store.Get(ctx, tokenName)
		if errors.Is(err, secrets.ErrNotFound) {
			return errors.New("not logged in: run \"keychain-token login\" first")
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
	case "logout":
		if err := store.Delete(ctx, tokenName); err != nil && !errors.Is(err, secrets.ErrNotFound) {
			return err
		}
		fmt.Fprintln(stdout, "Logged out.")
	}
	return nil
}
