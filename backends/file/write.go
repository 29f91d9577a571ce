package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/gofrs/flock"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// update applies fn to the document under the write lock and writes the
// result atomically when fn reports a change.
func (s *Store) update(ctx context.Context, fn func(d *document.Document, repo string) (bool, error)) error {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return s.ioError("create the directory of", err)
	}
	if err := s.checkDir(dir); err != nil {
		return err
	}
	if fi, err := os.Lstat(s.lockPath); err == nil {
		if err := checkKind("lock file", s.lockPath, fi); err != nil {
			return err
		}
	}
	// Never opened through a link, which could create a file elsewhere.
	lock := flock.New(s.lockPath, flock.SetFlag(lockFlag()), flock.SetPermissions(0o600))
	locked, err := lock.TryLockContext(ctx, 2*time.Millisecond)
	if err != nil || !locked {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("waiting for the lock on %s: %w", s.lockPath, cerr)
		}
		if isLinkLoop(err) {
			return symlinkError("lock file", s.lockPath)
		}
		return s.ioError("lock", err)
	}
	defer lock.Unlock()
	if fi, err := lock.Stat(); err != nil {
		return s.ioError("lock", err)
	} else if err := checkKind("lock file", s.lockPath, fi); err != nil {
		return err
	} else if err := secrets.CheckOwnership("lock file", s.lockPath, fi); err != nil {
		return err
	}
	s.removeStaleTemps()

	doc := document.New()
	exists := false
	workFactor := 0 // of the store being replaced, in passphrase mode
	// A link in place of the store is refused: the rename below would
	// replace it silently.
	if f, _, err := openChecked("store file", s.path, false); err == nil {
		// The document reads f lazily, up to the write.
		defer f.Close()
		if doc, err = s.decodeFile(ctx, f); err != nil {
			return err
		}
		exists = true
		if s.opts.Passphrase {
			head := make([]byte, 4096)
			n, _ := f.ReadAt(head, 0)
			workFactor = scryptWorkFactor(head[:n])
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return s.fileError("read", err)
	}
	changed, err := fn(doc, s.scope.Repository)
	if err != nil || !changed {
		return s.docError(err)
	}
	if err := s.ensureRecipients(ctx, exists); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.write(doc, s.writeRecipients(workFactor))
}

// write encrypts doc to a temporary file and renames it over the store.
// Encrypt checks the whole stored document first: a damaged one is not
// rewritten.
func (s *Store) write(doc *document.Document, rcps []age.Recipient) error {
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
	if err := doc.Encrypt(earlyWriteback(tmp), rcps...); err != nil {
		var ce *document.CorruptError
		if errors.As(err, &ce) {
			return s.corrupt(ce.Detail)
		}
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
	// Store need not decrypt it again. doc holds all of it in memory now
	// and is not changed after this.
	if doc.Fingerprint() != "" {
		s.mu.Lock()
		s.cache = doc
		s.mu.Unlock()
	}
	return syncDir(dir)
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
		if fi, err := os.Lstat(m); err == nil && time.Since(fi.ModTime()) > time.Minute {
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
