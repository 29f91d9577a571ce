package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

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
	s.mu.Unlock()
	return nil
}

// loadKey reads the X25519 identity; with create it generates one when the
// key file does not exist.
func (s *Store) loadKey(create bool) error {
	data, err := os.ReadFile(s.keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			return fmt.Errorf("%w: the store %s exists but its key file %s is missing; restore the key file (a new key cannot decrypt the store)", secrets.ErrAuth, s.path, s.keyPath)
		}
		if err := s.generateKey(); err != nil {
			return err
		}
		data, err = os.ReadFile(s.keyPath)
	}
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("%w: cannot read key file %s: %v", secrets.ErrPermission, s.keyPath, err)
		}
		return fmt.Errorf("cannot read key file %s: %w", s.keyPath, err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(s.keyPath)
		if err != nil {
			return fmt.Errorf("cannot stat key file %s: %w", s.keyPath, err)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return fmt.Errorf("%w: key file %s is accessible by group or others (mode %04o); run: chmod 600 %s", secrets.ErrPermission, s.keyPath, perm, s.keyPath)
		}
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
