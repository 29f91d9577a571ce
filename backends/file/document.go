package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// view calls fn with the current document (an empty one when the store
// file does not exist), read lazily from the open file.
func (s *Store) view(ctx context.Context, fn func(d *document.Document) error) error {
	if err := s.checkDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	f, _, err := openChecked("store file", s.path, false)
	if errors.Is(err, fs.ErrNotExist) {
		return fn(document.New())
	}
	if err != nil {
		return s.fileError("read", err)
	}
	defer f.Close()
	d, err := s.decodeFile(ctx, f)
	if err != nil {
		return err
	}
	return s.docError(fn(d))
}

// decodeFile opens the document of an open store file: from the cache
// when the file is the one last read or written (same age header and
// size), else by decrypting it. The result is the caller's own (its edits
// are not shared) and reads from f, which must stay open while it is used.
func (s *Store) decodeFile(ctx context.Context, f *os.File) (*document.Document, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, s.ioError("read", err)
	}
	head := make([]byte, 4096)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, s.ioError("read", err)
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("age-encryption.org/v1\n")) {
		return nil, fmt.Errorf("%w: %s is not a dstack-secrets store (it is not an age-encrypted file); move it away or set another dir in the project options. It will not be overwritten", secrets.ErrCorrupt, s.path)
	}
	key, cacheable := document.Fingerprint(head, fi.Size())
	s.mu.Lock()
	if cacheable && s.cache != nil && s.cache.Fingerprint() == key {
		d := s.cache.Reopen(f, fi.Size())
		s.mu.Unlock()
		return d, nil
	}
	s.mu.Unlock()

	ids, err := s.decryptIdentities(ctx, head)
	if err != nil {
		return nil, err
	}
	d, err := document.Decrypt(f, fi.Size(), ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			if s.opts.Passphrase {
				// Forget the wrong passphrase: a later call asks again, and
				// no write can ever encrypt with it.
				s.mu.Lock()
				s.identities, s.recipients = nil, nil
				s.mu.Unlock()
			}
			return nil, s.noMatchError(head)
		}
		return nil, s.docError(err)
	}
	if cacheable {
		// The cache gets its own Document: edits made to d stay d's.
		s.mu.Lock()
		s.cache = d.Reopen(f, fi.Size())
		s.mu.Unlock()
	}
	return d, nil
}

// docError turns the document's errors into the backend's: damage names
// the file, and a failure to read it says so; the backend's own errors
// (not found, exists, ...) pass through.
func (s *Store) docError(err error) error {
	var ce *document.CorruptError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return s.corrupt(ce.Detail)
	case errors.Is(err, secrets.ErrNotFound), errors.Is(err, secrets.ErrExists),
		errors.Is(err, secrets.ErrCorrupt), errors.Is(err, secrets.ErrAuth), errors.Is(err, secrets.ErrPermission):
		return err
	default:
		return s.ioError("read", err)
	}
}

func (s *Store) corrupt(detail string) error {
	return fmt.Errorf("%w: %s is damaged or truncated (%s); restore it from a backup or move it away. It will not be overwritten", secrets.ErrCorrupt, s.path, detail)
}

func (s *Store) noMatchError(head []byte) error {
	scrypt := bytes.Contains(head, []byte("\n-> scrypt "))
	switch {
	case s.opts.Passphrase && scrypt:
		return fmt.Errorf("%w: wrong passphrase for %s (nothing was changed); try again, or check %s", secrets.ErrAuth, s.path, PassphraseEnvVar)
	case s.opts.Passphrase:
		return fmt.Errorf("%w: %s is encrypted with a key file, not a passphrase; remove \"passphrase: true\" from the project options", secrets.ErrAuth, s.path)
	case scrypt:
		return fmt.Errorf("%w: %s is encrypted with a passphrase; add \"passphrase: true\" to the project options", secrets.ErrAuth, s.path)
	default:
		return fmt.Errorf("%w: the key file %s does not decrypt %s (was the key replaced?); restore the key that created the store", secrets.ErrAuth, s.keyPath, s.path)
	}
}

// fileError reports an error of openChecked: its own refusals as they
// are, the system's as ioError does.
func (s *Store) fileError(op string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return s.ioError(op, err)
	}
	return err
}

func (s *Store) ioError(op string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: cannot %s %s: %v; check the ownership and mode of the directory", secrets.ErrPermission, op, s.path, err)
	}
	return fmt.Errorf("cannot %s the store %s: %w", op, s.path, err)
}
