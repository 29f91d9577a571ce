// Package seed fills stores with many secrets quickly for the benchmarks in
// bench/. Adding 100,000 secrets one Set at a time would re-encrypt the
// store 100,000 times, so FileStore writes the encrypted document in one go
// (in the file backend's format) and then checks it through the backend.
package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Name is the name of the i-th seeded secret.
func Name(i int) string { return fmt.Sprintf("SECRET_%06d", i) }

// Value is the value of the i-th seeded secret: 40 bytes, the size of a
// typical API token.
func Value(i int) string { return fmt.Sprintf("tok_%036d", i) }

// FileStore makes the file-backend store of scope in dir hold exactly the
// secrets Name(i) = Value(i) for i in [0, n). It returns the store file's
// size in bytes.
func FileStore(ctx context.Context, dir string, scope secrets.Scope, n int) (int64, error) {
	s, err := file.Open(ctx, scope, file.Options{Dir: dir})
	if err != nil {
		return 0, err
	}
	// The first write creates the directory and the key file.
	if err := s.Set(ctx, "SEED_PLACEHOLDER", "x"); err != nil {
		return 0, err
	}
	keyData, err := os.ReadFile(filepath.Join(dir, scope.Project+".key"))
	if err != nil {
		return 0, err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(keyData))
	if err != nil {
		return 0, err
	}
	id, ok := ids[0].(*age.X25519Identity)
	if !ok {
		return 0, fmt.Errorf("seed: unexpected key type %T", ids[0])
	}
	repo := make(map[string]string, n)
	for i := range n {
		repo[Name(i)] = Value(i)
	}
	plain, err := json.Marshal(map[string]any{
		"format":       "dstack-secrets/file/v1",
		"repositories": map[string]map[string]string{scope.Repository: repo},
	})
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, id.Recipient())
	if err != nil {
		return 0, err
	}
	if _, err := w.Write(plain); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	tmp := s.Path() + ".seed"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, s.Path()); err != nil {
		return 0, err
	}
	check, err := file.Open(ctx, scope, file.Options{Dir: dir})
	if err != nil {
		return 0, err
	}
	names, err := check.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("seed: the seeded store does not open (has the file format changed?): %w", err)
	}
	if len(names) != n {
		return 0, fmt.Errorf("seed: the seeded store lists %d secrets, want %d", len(names), n)
	}
	return int64(buf.Len()), nil
}
