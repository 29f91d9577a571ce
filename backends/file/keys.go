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
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/secrets"
)

// decryptIdentities returns the identities that can open an existing store.
func (s *Store) decryptIdentities(ctx context.Context, head []byte) ([]age.Identity, error) {
	s.mu.Lock()
	ids := s.identities
	s.mu.Unlock()
	if ids != nil {
		return ids, nil
	}
	if s.opts.Passphrase {
		if !bytes.Contains(head, []byte("\n-> scrypt ")) {
			return nil, s.noMatchError(head)
		}
		if err := s.loadPassphrase(ctx, false); err != nil {
			return nil, err
		}
	} else {
		if bytes.Contains(head, []byte("\n-> scrypt ")) {
			return nil, s.noMatchError(head)
		}
		if err := s.loadKey(false); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.identities, nil
}

func (s *Store) loadPassphrase(ctx context.Context, confirm bool) error {
	p, err := s.opts.PassphraseFunc(ctx, confirm)
	if err != nil {
		return err
	}
	if p == "" {
		return fmt.Errorf("%w: the passphrase is empty", secrets.ErrAuth)
	}
	id, err := age.NewScryptIdentity(p)
	if err != nil {
		return fmt.Errorf("%w: %v", secrets.ErrAuth, err)
	}
	rcp, err := age.NewScryptRecipient(p)
	if err != nil {
		return fmt.Errorf("%w: %v", secrets.ErrAuth, err)
	}
	rcp.SetWorkFactor(s.opts.ScryptWorkFactor)
	s.mu.Lock()
	s.identities, s.recipients = []age.Identity{id}, []age.Recipient{rcp}
	s.passChars = utf8.RuneCountInString(p)
	s.mu.Unlock()
	return nil
}

// writeRecipients returns the recipients a write encrypts to. In
// passphrase mode the scrypt work factor is the higher of the configured
// one and existing's, that of the store being replaced: a write never
// lowers it. A passphrase shorter than shortPassphrase gets a warning,
// once per Store.
func (s *Store) writeRecipients(existing int) []age.Recipient {
	s.mu.Lock()
	defer s.mu.Unlock()
	rcps := s.recipients
	if !s.opts.Passphrase || len(rcps) != 1 {
		return rcps
	}
	if s.passChars < shortPassphrase && !s.warned && s.opts.Env.Warn != nil {
		s.warned = true
		s.opts.Env.Warn(fmt.Sprintf("the passphrase of project %q is %d characters long: anyone with a copy of %s can try many passphrases that short; use %d or more characters (several random words)", s.scope.Project, s.passChars, s.path, shortPassphrase))
	}
	if r, ok := rcps[0].(*age.ScryptRecipient); ok && existing > s.opts.ScryptWorkFactor {
		higher := *r
		higher.SetWorkFactor(existing)
		return []age.Recipient{&higher}
	}
	return rcps
}

// scryptWorkFactor returns the work factor of the scrypt stanza in an age
// header ("-> scrypt SALT LOG2N"), or 0.
func scryptWorkFactor(head []byte) int {
	_, line, ok := bytes.Cut(head, []byte("\n-> scrypt "))
	if !ok {
		return 0
	}
	line, _, _ = bytes.Cut(line, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) != 2 {
		return 0
	}
	n, err := strconv.Atoi(string(fields[1]))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// loadKey reads the X25519 identity; with create it generates one when the
// key file does not exist.
func (s *Store) loadKey(create bool) error {
	data, err := s.readKey()
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return fmt.Errorf("%w: the store %s exists but its key file %s is missing; restore the key file (a new key cannot decrypt the store)", secrets.ErrAuth, s.path, s.keyPath)
		}
		if err := s.generateKey(); err != nil {
			return err
		}
		data, err = s.readKey()
	}
	if err != nil {
		return err
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: key file %s is not an age identity file (%v); restore it from a backup", secrets.ErrAuth, s.keyPath, err)
	}
	var rcps []age.Recipient
	for _, id := range ids {
		x, ok := id.(*age.X25519Identity)
		if !ok {
			return fmt.Errorf("%w: key file %s holds a non-X25519 identity, which is not supported", secrets.ErrAuth, s.keyPath)
		}
		rcps = append(rcps, x.Recipient())
	}
	s.mu.Lock()
	s.identities, s.recipients = ids, rcps
	s.mu.Unlock()
	return nil
}

// readKey reads the key file after checking that only the user (or root)
// owns and can read it. The default key file is never followed when it is
// a symbolic link; an identity_file given explicitly is. A missing file is
// an error wrapping fs.ErrNotExist.
func (s *Store) readKey() ([]byte, error) {
	explicit := s.opts.IdentityFile != ""
	f, fi, err := openChecked("key file", s.keyPath, explicit)
	if errors.Is(err, fs.ErrNotExist) {
		if lfi, lerr := os.Lstat(s.keyPath); lerr == nil && lfi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(s.keyPath)
			return nil, fmt.Errorf("%w: identity_file %s is a symbolic link to %s, which does not exist; restore the key file there or set identity_file to the key file itself (no key is created through a link)", secrets.ErrAuth, secrets.Printable(s.keyPath), secrets.Printable(target))
		}
		return nil, err
	}
	if err != nil {
		var pe *fs.PathError
		switch {
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("%w: cannot read key file %s: %v", secrets.ErrPermission, s.keyPath, err)
		case errors.As(err, &pe):
			return nil, fmt.Errorf("cannot read key file %s: %w", s.keyPath, err)
		}
		return nil, err
	}
	defer f.Close()
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: key file %s is accessible by group or others (mode %04o); run: chmod 600 %s", secrets.ErrPermission, s.keyPath, perm, s.keyPath)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read key file %s: %w", s.keyPath, err)
	}
	if len(data) > maxKeySize {
		return nil, fmt.Errorf("%w: key file %s is over %d KiB, too big for an age identity file; restore it from a backup", secrets.ErrAuth, s.keyPath, maxKeySize/1024)
	}
	return data, nil
}

// maxKeySize bounds what is read of a key file: an identity is 74 bytes.
const maxKeySize = 64 << 10

// generateKey writes a new identity to the key path unless one appears
// there first (os.Link does not replace an existing file, so concurrent
// first writers agree on one key).
func (s *Store) generateKey() error {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("cannot generate a key: %w", err)
	}
	dir := filepath.Dir(s.keyPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return s.ioError("create the directory of", err)
	}
	content := fmt.Sprintf("# dstack-secrets key for %s, created %s\n# public key: %s\n%s\n",
		s.path, time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	tmp, err := os.CreateTemp(dir, ".key.tmp-*")
	if err != nil {
		return s.ioError("create a key file for", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return s.ioError("write the key file of", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return s.ioError("write the key file of", err)
	}
	if err := tmp.Close(); err != nil {
		return s.ioError("write the key file of", err)
	}
	if err := os.Link(tmp.Name(), s.keyPath); err == nil {
		defer s.keyCreated() // once synced: tell the user to back it up
	} else if !errors.Is(err, fs.ErrExist) {
		return s.ioError("install the key file of", err)
	}
	return syncDir(dir)
}

func (s *Store) ensureRecipients(ctx context.Context, exists bool) error {
	s.mu.Lock()
	have := s.recipients != nil
	s.mu.Unlock()
	if have {
		return nil
	}
	if s.opts.Passphrase {
		return s.loadPassphrase(ctx, !exists)
	}
	return s.loadKey(!exists)
}
