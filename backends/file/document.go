package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/secrets"
)

// formatV1 marks the plaintext document of a store file.
const formatV1 = "dstack-secrets/file/v1"

// document is the plaintext of a store file.
type document struct {
	Format       string                       `json:"format"`
	Repositories map[string]map[string]string `json:"repositories"`
}

// decodeFile decrypts and decodes an open store file, using the cache when
// the file is the one last decoded.
func (s *Store) decodeFile(ctx context.Context, f *os.File) (*document, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, s.ioError("read", err)
	}
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, s.ioError("read", err)
	}
	head = head[:n]
	if !bytes.HasPrefix(head, []byte("age-encryption.org/v1\n")) {
		return nil, fmt.Errorf("%w: %s is not a dstack-secrets store (it is not an age-encrypted file); move it away or set another dir in the project options. It will not be overwritten", secrets.ErrCorrupt, s.path)
	}
	key := cacheKey(head, fi.Size())
	s.mu.Lock()
	if key != nil && s.cache != nil && bytes.Equal(key, s.cacheHdr) {
		doc := s.cache
		s.mu.Unlock()
		return doc, nil
	}
	s.mu.Unlock()

	ids, err := s.decryptIdentities(ctx, head)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(io.MultiReader(bytes.NewReader(head), f), ids...)
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
		return nil, s.corrupt(err)
	}
	plain, err := io.ReadAll(r)
	if err != nil {
		return nil, s.corrupt(err)
	}
	var doc document
	if err := json.Unmarshal(plain, &doc); err != nil || doc.Format != formatV1 {
		if err == nil {
			err = fmt.Errorf("unknown format %q", doc.Format)
		}
		return nil, s.corrupt(err)
	}
	if doc.Repositories == nil {
		doc.Repositories = map[string]map[string]string{}
	}
	if key != nil {
		s.mu.Lock()
		s.cache, s.cacheHdr = &doc, key
		s.mu.Unlock()
	}
	return &doc, nil
}

// cacheKey returns the age header (which holds fresh random data for every
// encryption) plus the file size, or nil when the header does not fit head.
func cacheKey(head []byte, size int64) []byte {
	i := bytes.Index(head, []byte("\n--- "))
	if i < 0 {
		return nil
	}
	end := bytes.IndexByte(head[i+1:], '\n')
	if end < 0 {
		return nil
	}
	return fmt.Appendf(append([]byte(nil), head[:i+1+end]...), "|%d", size)
}

func (d *document) clone() *document {
	out := &document{Format: formatV1, Repositories: make(map[string]map[string]string, len(d.Repositories))}
	for repo, m := range d.Repositories {
		c := make(map[string]string, len(m))
		for k, v := range m {
			c[k] = v
		}
		out.Repositories[repo] = c
	}
	return out
}

func (s *Store) corrupt(err error) error {
	return fmt.Errorf("%w: %s is damaged or truncated (%s); restore it from a backup or move it away. It will not be overwritten", secrets.ErrCorrupt, s.path, unquoted(err))
}

// unquoted returns err's text up to the first quoted part: age and
// encoding/json quote the bytes they failed on, and those bytes are store
// content, which may be secret.
func unquoted(err error) string {
	msg := err.Error()
	if i := strings.IndexAny(msg, "\"'`"); i >= 0 {
		msg = strings.TrimRight(msg[:i], ": ")
	}
	return msg
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

func (s *Store) ioError(op string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w: cannot %s %s: %v; check the ownership and mode of the directory", secrets.ErrPermission, op, s.path, err)
	}
	return fmt.Errorf("cannot %s the store %s: %w", op, s.path, err)
}
