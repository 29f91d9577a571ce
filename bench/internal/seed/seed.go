// Package seed fills stores with many secrets quickly for the benchmarks in
// bench/. Adding 100,000 secrets one Set at a time would re-encrypt the
// store 100,000 times, so FileStore writes them in one batch
// (secrets.SetMany: one rewrite of the store file) and checks the result.
package seed

import (
	"context"
	"fmt"
	"os"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Name is the name of the i-th seeded secret.
func Name(i int) string { return fmt.Sprintf("SECRET_%06d", i) }

// Value is the value of the i-th seeded secret: 40 bytes, the size of a
// typical API token.
func Value(i int) string { return fmt.Sprintf("tok_%036d", i) }

// FileStore makes the file-backend store of scope in dir hold exactly the
// secrets Name(i) = Value(i) for i in [0, n), written in one batch. It
// returns the store file's size in bytes.
func FileStore(ctx context.Context, dir string, scope secrets.Scope, n int) (int64, error) {
	s, err := file.Open(ctx, scope, file.Options{Dir: dir})
	if err != nil {
		return 0, err
	}
	// The benchmarks go past the default cap on secrets per repository,
	// as a project with max_secrets set does.
	s = secrets.Wrap(s, secrets.Info{MaxSecrets: max(n, secrets.MaxSecrets)})
	repo := make(map[string]string, n)
	for i := range n {
		repo[Name(i)] = Value(i)
	}
	if err := secrets.SetMany(ctx, s, repo, true); err != nil {
		return 0, err
	}
	names, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	if len(names) != n {
		return 0, fmt.Errorf("seed: the seeded store lists %d secrets, want %d", len(names), n)
	}
	fi, err := os.Stat(secrets.Unwrap(s).(*file.Store).Path())
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
