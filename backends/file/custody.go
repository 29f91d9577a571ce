package file

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// Key custody: the key file is the only way to the secrets of a project
// (outside passphrase mode), so its creation is announced through
// Options.Env.Notice, and ExportKey and ImportKey back it up and put a
// backup back.

// maxKeyFile bounds a key file read by ExportKey or given to ImportKey.
const maxKeyFile = 64 << 10

// keyCreated tells the user, through Options.Env.Notice, that generateKey
// created the key file and that it must be backed up.
func (s *Store) keyCreated() {
	if s.opts.Env.Notice == nil {
		return
	}
	s.opts.Env.Notice(fmt.Sprintf("created the key file %s, which encrypts the secrets of project %q: without it they cannot be decrypted, so losing it loses every one of them. Back it up now, somewhere safe (a password manager, an encrypted backup): `dstack-secrets key export > FILE` writes a copy, `dstack-secrets key import FILE` puts it back",
		secrets.Printable(s.keyPath), s.scope.Project))
}

// KeyPath returns the path of the store's key file, or "" in passphrase
// mode, which has none.
func (s *Store) KeyPath() string {
	if s.opts.Passphrase {
		return ""
	}
	return s.keyPath
}

// ExportKey returns the content of the store's key file (the age
// identity, with its comment lines), for a backup: whoever holds it can
// decrypt every secret of the project. A missing key file, or passphrase
// mode, is an error that says so.
func (s *Store) ExportKey() ([]byte, error) {
	if s.opts.Passphrase {
		return nil, fmt.Errorf("%w: project %q is encrypted with a passphrase (option passphrase: true): there is no key file; the passphrase is what must be kept safe", secrets.ErrInvalidConfig, s.scope.Project)
	}
	data, err := readKeyFile(s.keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(s.path); serr == nil {
			return nil, fmt.Errorf("%w: the store %s exists but its key file %s is missing; restore the key file from a backup (dstack-secrets key import FILE)", secrets.ErrAuth, s.path, s.keyPath)
		}
		return nil, fmt.Errorf("%w: project %q has no key file yet (%s is created by the first write)", secrets.ErrNotFound, s.scope.Project, s.keyPath)
	}
	if err != nil {
		return nil, err
	}
	if _, err := parseKey(data); err != nil {
		return nil, fmt.Errorf("%w: the key file %s: %v", secrets.ErrCorrupt, s.keyPath, err)
	}
	return data, nil
}

// ImportKey installs key, the content of a key file (as ExportKey returns
// it), as the store's key file: created 0600 in a 0700 directory, never
// replacing a file. When the key file already holds the same key it does
// nothing and returns installed false. A different existing key is
// refused (ErrExists), and so is a key that does not decrypt the existing
// store file (ErrAuth): nothing is written then.
func (s *Store) ImportKey(key []byte) (installed bool, err error) {
	if s.opts.Passphrase {
		return false, fmt.Errorf("%w: project %q is encrypted with a passphrase (option passphrase: true) and uses no key file", secrets.ErrInvalidConfig, s.scope.Project)
	}
	ids, err := parseKey(key)
	if err != nil {
		return false, fmt.Errorf("%w: the key to import: %v; give the file that dstack-secrets key export wrote (or a copy of %s)", secrets.ErrInvalidValue, err, filepath.Base(s.keyPath))
	}
	if existing, err := readKeyFile(s.keyPath); err == nil {
		if old, perr := parseKey(existing); perr == nil && sameKeys(old, ids) {
			return false, nil
		}
		return false, fmt.Errorf("%w: the key file %s exists and holds another key; it was not replaced. If it is the wrong key, move it away first (keep it: it may be the only key of some secrets)", secrets.ErrExists, s.keyPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	if err := s.checkDecrypts(ids); err != nil {
		return false, err
	}
	dir := filepath.Dir(s.keyPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, s.ioError("create the directory of", err)
	}
	if !bytes.HasSuffix(key, []byte("\n")) {
		key = append(slices.Clip(key), '\n')
	}
	tmp, err := os.CreateTemp(dir, ".key.tmp-*")
	if err != nil {
		return false, s.ioError("create a key file for", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, s.ioError("write the key file of", err)
	}
	if err := os.Link(tmp.Name(), s.keyPath); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, fmt.Errorf("%w: the key file %s was created meanwhile; it was not replaced", secrets.ErrExists, s.keyPath)
		}
		return false, s.ioError("install the key file of", err)
	}
	s.mu.Lock()
	s.identities, s.recipients = nil, nil
	s.mu.Unlock()
	return true, syncDir(dir)
}

// checkDecrypts reports an existing store file that ids cannot decrypt.
func (s *Store) checkDecrypts(ids []age.Identity) error {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return s.ioError("read", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return s.ioError("read", err)
	}
	if _, err := document.Decrypt(f, fi.Size(), ids...); err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return fmt.Errorf("%w: the key to import does not decrypt %s (it is another store's key, or the store uses a passphrase); nothing was installed", secrets.ErrAuth, s.path)
		}
		return s.docError(err)
	}
	return nil
}

// readKeyFile reads a key file, bounded by maxKeyFile.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("%w: cannot read key file %s: %v", secrets.ErrPermission, path, err)
		}
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(io.LimitReader(f, maxKeyFile+1)); err != nil {
		return nil, fmt.Errorf("cannot read key file %s: %w", path, err)
	}
	if b.Len() > maxKeyFile {
		return nil, fmt.Errorf("%w: key file %s is larger than %d bytes: it is not a key file", secrets.ErrCorrupt, path, maxKeyFile)
	}
	return b.Bytes(), nil
}

// parseKey parses the content of a key file: age X25519 identities only.
func parseKey(data []byte) ([]age.Identity, error) {
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes: not a key file", maxKeyFile)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not an age identity file (%s)", secrets.PrintableText(err.Error()))
	}
	for _, id := range ids {
		if _, ok := id.(*age.X25519Identity); !ok {
			return nil, errors.New("holds a non-X25519 identity, which is not supported")
		}
	}
	return ids, nil
}

// sameKeys reports whether a and b hold the same identities.
func sameKeys(a, b []age.Identity) bool {
	str := func(ids []age.Identity) []string {
		var out []string
		for _, id := range ids {
			if x, ok := id.(*age.X25519Identity); ok {
				out = append(out, x.String())
			}
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(str(a), str(b))
}
