package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/gofrs/flock"
)

// update applies fn to the scope's secrets under the write lock and writes
// the result atomically when fn reports a change.
func (s *Store) update(ctx context.Context, fn func(repo map[string]string) (bool, error)) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return s.ioError("create the directory of", err)
	}
	lock := flock.New(s.lockPath, flock.SetPermissions(0o600))
	locked, err := lock.TryLockContext(ctx, 2*time.Millisecond)
	if err != nil || !locked {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("waiting for the lock on %s: %w", s.lockPath, cerr)
		}
		return s.ioError("lock", err)
	}
	defer lock.Unlock()
	s.removeStaleTemps()

	doc := &document{Format: formatV1, Repositories: map[string]map[string]string{}}
	exists := false
	if f, err := os.Open(s.path); err == nil {
		cur, derr := s.decodeFile(ctx, f)
		f.Close()
		if derr != nil {
			return derr
		}
		exists = true
		doc = cur.clone()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return s.ioError("read", err)
	}
	repo := doc.Repositories[s.scope.Repository]
	if repo == nil {
		repo = map[string]string{}
	}
	changed, err := fn(repo)
	if err != nil || !changed {
		return err
	}
	if len(repo) == 0 {
		delete(doc.Repositories, s.scope.Repository)
	} else {
		doc.Repositories[s.scope.Repository] = repo
	}
	if err := s.ensureRecipients(ctx, exists); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.write(doc)
}

// write encrypts doc to a temporary file and renames it over the store.
func (s *Store) write(doc *document) error {
	plain, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("cannot encode the store: %w", err)
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return s.ioError("write", err)
	}
	tmpName := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	s.mu.Lock()
	rcps := s.recipients
	s.mu.Unlock()
	out := &headWriter{w: tmp}
	w, err := age.Encrypt(out, rcps...)
	if err != nil {
		return fmt.Errorf("cannot encrypt the store: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return s.ioError("write", err)
	}
	if err := w.Close(); err != nil {
		return s.ioError("write", err)
	}
	if err := tmp.Sync(); err != nil {
		return s.ioError("write", err)
	}
	if err := tmp.Close(); err != nil {
		return s.ioError("write", err)
	}
	if err := os.Rename(tmpName, s.path); err != nil {
		return s.ioError("replace", err)
	}
	ok = true
	// The file just written is the cached document: the next read on this
	// Store need not decrypt it again. doc is not modified after this.
	if key := cacheKey(out.head, out.n); key != nil {
		s.mu.Lock()
		s.cache, s.cacheHdr = doc, key
		s.mu.Unlock()
	}
	return syncDir(dir)
}

// headWriter passes writes through, counting the bytes and keeping the
// first 4 KiB (where the age header is) for the read cache's key.
type headWriter struct {
	w    io.Writer
	n    int64
	head []byte
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := 4096 - len(h.head); room > 0 {
		h.head = append(h.head, p[:min(room, len(p))]...)
	}
	n, err := h.w.Write(p)
	h.n += int64(n)
	return n, err
}

// removeStaleTemps removes temporary files left by writers that crashed;
// it runs under the write lock, when no other writer has a temporary file.
func (s *Store) removeStaleTemps() {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(s.path), "."+filepath.Base(s.path)+".tmp-*"))
	for _, m := range matches {
		os.Remove(m)
	}
	keyTemps, _ := filepath.Glob(filepath.Join(filepath.Dir(s.keyPath), ".key.tmp-*"))
	for _, m := range keyTemps {
		if fi, err := os.Stat(m); err == nil && time.Since(fi.ModTime()) > time.Minute {
			os.Remove(m)
		}
	}
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open %s to sync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !strings.Contains(err.Error(), "invalid argument") {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	return nil
}
