// Package file is the encrypted local file backend of dstack-secrets, and
// the zero-configuration default.
//
// # Layout
//
// Each project's secrets live in one file, <dir>/<project>.age, where dir
// defaults to ~/.dstack/secrets (created 0700). The file is an age
// (filippo.io/age, https://age-encryption.org/v1) encryption of a JSON
// document that maps repository identities to name/value maps; no
// cryptography is home-made. Beside it are <project>.key, the age X25519
// identity generated on first write (0600; a key file readable by group or
// others is refused), and <project>.lock, used for cross-process locking.
// In passphrase mode (option passphrase: true) the file is encrypted with
// age's scrypt recipient instead and there is no key file; the passphrase
// comes from DSTACK_SECRETS_PASSPHRASE or a masked prompt.
//
// # Durability
//
// Readers take no lock: they read whichever complete file is in place.
// Writers take an exclusive flock on the lock file, decrypt the current
// file, write the new content to a temporary file in the same directory,
// fsync it, rename it over the store and fsync the directory. A crash at any
// instant leaves the old or the new store, never a partial one, and
// concurrent writers in any number of processes lose no update. A store that
// cannot be decrypted or decoded (damaged, truncated, foreign, or encrypted
// to another key) is reported as secrets.ErrCorrupt or secrets.ErrAuth and
// is never overwritten.
//
// # Cost
//
// Every write re-encrypts the whole project file, so writes cost time
// linear in the project's total size; reads decrypt the file once and then
// serve from memory for as long as the file is unchanged (checked by its age
// header, which is fresh random data on every write).
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
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/gofrs/flock"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Name is the backend name used in the project configuration.
const Name = "file"

// PassphraseEnvVar is the environment variable that supplies the passphrase
// in passphrase mode.
const PassphraseEnvVar = "DSTACK_SECRETS_PASSPHRASE"

// DefaultScryptWorkFactor is the scrypt work factor (log2 of N) used to
// encrypt passphrase-mode stores: age's own default.
const DefaultScryptWorkFactor = 18

// formatV1 marks the plaintext document of a store file.
const formatV1 = "dstack-secrets/file/v1"

// Options configure the file backend. In the project configuration they are
// written in snake case under options:, e.g.
//
//	backend: file
//	options:
//	  dir: ~/secrets
//	  passphrase: true
type Options struct {
	// Dir is the directory of the store files; default ~/.dstack/secrets.
	Dir string `yaml:"dir"`
	// IdentityFile is the age identity (key) file; default
	// <dir>/<project>.key. Ignored in passphrase mode.
	IdentityFile string `yaml:"identity_file"`
	// Passphrase selects passphrase mode: the store is encrypted with a
	// passphrase (age scrypt) instead of a key file.
	Passphrase bool `yaml:"passphrase"`
	// ScryptWorkFactor is the scrypt work factor for new encryptions in
	// passphrase mode (10 to 22); 0 means DefaultScryptWorkFactor. Lower
	// values make wrong-passphrase guessing cheaper: only tests should
	// lower it.
	ScryptWorkFactor int `yaml:"scrypt_work_factor"`

	// PassphraseFunc supplies the passphrase in passphrase mode. confirm is
	// true when a new store is about to be created, so an interactive
	// implementation should ask twice. The backend opener sets it from
	// DSTACK_SECRETS_PASSPHRASE or the terminal prompt.
	PassphraseFunc func(ctx context.Context, confirm bool) (string, error) `yaml:"-"`
}

// Backend returns the registry entry of the file backend.
func Backend() secrets.Backend {
	return secrets.Backend{
		Name:    Name,
		Summary: "age-encrypted file per project under ~/.dstack/secrets (the default)",
		Open:    openFromRequest,
	}
}

func openFromRequest(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
	var opts Options
	if err := req.Options.Decode(Name, &opts); err != nil {
		return nil, err
	}
	var err error
	if opts.Dir == "" {
		home, herr := req.Env.Home()
		if herr != nil {
			return nil, herr
		}
		opts.Dir = filepath.Join(home, ".dstack", "secrets")
	} else if opts.Dir, err = secrets.ExpandHome(req.Env, opts.Dir); err != nil {
		return nil, err
	}
	if opts.IdentityFile != "" {
		if opts.IdentityFile, err = secrets.ExpandHome(req.Env, opts.IdentityFile); err != nil {
			return nil, err
		}
	}
	if opts.Passphrase {
		env, prompt := req.Env, req.Env.Prompt
		opts.PassphraseFunc = func(ctx context.Context, confirm bool) (string, error) {
			if p := env.Value(PassphraseEnvVar); p != "" {
				return p, nil
			}
			if prompt == nil {
				return "", fmt.Errorf("%w: project %q uses a passphrase: set %s or run in a terminal to be asked for it", secrets.ErrAuth, req.Scope.Project, PassphraseEnvVar)
			}
			p, err := prompt(ctx, fmt.Sprintf("Passphrase for project %q: ", req.Scope.Project))
			if err != nil || !confirm {
				return p, err
			}
			again, err := prompt(ctx, "Repeat the passphrase: ")
			if err != nil {
				return "", err
			}
			if again != p {
				return "", fmt.Errorf("%w: the two passphrases differ; nothing was written", secrets.ErrAuth)
			}
			return p, nil
		}
	}
	return Open(ctx, req.Scope, opts)
}

// Store is a file-backed secrets.Store for one scope. It implements
// secrets.Creator, secrets.BulkGetter and secrets.BatchWriter. Its methods are safe for
// concurrent use, also by several Stores and processes on the same file.
type Store struct {
	scope    secrets.Scope
	opts     Options
	path     string // <dir>/<project>.age
	lockPath string
	keyPath  string

	mu         sync.Mutex // guards the fields below
	identities []age.Identity
	recipients []age.Recipient
	cacheHdr   []byte // header + size of the file the cache was decoded from
	cache      *document
}

// document is the plaintext of a store file.
type document struct {
	Format       string                       `json:"format"`
	Repositories map[string]map[string]string `json:"repositories"`
}

// Open opens the file store of scope. It creates nothing: the directory,
// key and store file are created by the first write.
func Open(ctx context.Context, scope secrets.Scope, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := scope.Validate(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: file backend: Options.Dir is empty", secrets.ErrInvalidConfig)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("%w: file backend: dir %q: %v", secrets.ErrInvalidConfig, opts.Dir, err)
	}
	if opts.ScryptWorkFactor == 0 {
		opts.ScryptWorkFactor = DefaultScryptWorkFactor
	}
	if opts.ScryptWorkFactor < 10 || opts.ScryptWorkFactor > 22 {
		return nil, fmt.Errorf("%w: file backend: scrypt_work_factor %d is outside 10..22", secrets.ErrInvalidConfig, opts.ScryptWorkFactor)
	}
	if opts.Passphrase && opts.PassphraseFunc == nil {
		return nil, fmt.Errorf("%w: file backend: passphrase mode needs Options.PassphraseFunc", secrets.ErrInvalidConfig)
	}
	s := &Store{
		scope:    scope,
		opts:     opts,
		path:     filepath.Join(dir, scope.Project+".age"),
		lockPath: filepath.Join(dir, scope.Project+".lock"),
		keyPath:  opts.IdentityFile,
	}
	if s.keyPath == "" {
		s.keyPath = filepath.Join(dir, scope.Project+".key")
	}
	return s, nil
}

// Path returns the store file's path.
func (s *Store) Path() string { return s.path }

// List implements secrets.Store.
func (s *Store) List(ctx context.Context) ([]string, error) {
	doc, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	return secrets.SortedNames(doc.Repositories[s.scope.Repository]), nil
}

// Get implements secrets.Store.
func (s *Store) Get(ctx context.Context, name string) (string, error) {
	if err := secrets.ValidateName(name); err != nil {
		return "", err
	}
	doc, err := s.read(ctx)
	if err != nil {
		return "", err
	}
	v, ok := doc.Repositories[s.scope.Repository][name]
	if !ok {
		return "", s.notFound(name)
	}
	return v, nil
}

// GetAll implements secrets.BulkGetter: one decryption gives every secret.
func (s *Store) GetAll(ctx context.Context) (map[string]string, error) {
	doc, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	src := doc.Repositories[s.scope.Repository]
	out := make(map[string]string, len(src))
	for k, v := range src {
		out[k] = v
	}
	return out, nil
}

// Set implements secrets.Store.
func (s *Store) Set(ctx context.Context, name, value string) error {
	if err := validate(name, value); err != nil {
		return err
	}
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		repo[name] = value
		return true, nil
	})
}

// Create implements secrets.Creator.
func (s *Store) Create(ctx context.Context, name, value string) error {
	if err := validate(name, value); err != nil {
		return err
	}
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		if _, ok := repo[name]; ok {
			return false, fmt.Errorf("%w: %q in %v", secrets.ErrExists, name, s.scope)
		}
		repo[name] = value
		return true, nil
	})
}

// SetMany implements secrets.BatchWriter: all the values are written in
// one rewrite of the store file, or none is.
func (s *Store) SetMany(ctx context.Context, values map[string]string, overwrite bool) error {
	for _, name := range secrets.SortedNames(values) {
		if err := validate(name, values[name]); err != nil {
			return err
		}
	}
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		if !overwrite {
			var existing []string
			for _, name := range secrets.SortedNames(values) {
				if _, ok := repo[name]; ok {
					existing = append(existing, name)
				}
			}
			if len(existing) > 0 {
				return false, fmt.Errorf("%w: %s in %v", secrets.ErrExists, strings.Join(existing, ", "), s.scope)
			}
		}
		for name, value := range values {
			repo[name] = value
		}
		return len(values) > 0, nil
	})
}

// Delete implements secrets.Store.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	return s.update(ctx, func(repo map[string]string) (bool, error) {
		if _, ok := repo[name]; !ok {
			return false, s.notFound(name)
		}
		delete(repo, name)
		return true, nil
	})
}

func validate(name, value string) error {
	if err := secrets.ValidateName(name); err != nil {
		return err
	}
	return secrets.ValidateValue(value)
}

func (s *Store) notFound(name string) error {
	return fmt.Errorf("%w: %q in %v", secrets.ErrNotFound, name, s.scope)
}

// read returns the current document (an empty one when the store file does
// not exist). The result must not be modified.
func (s *Store) read(ctx context.Context) (*document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &document{}, nil
	}
	if err != nil {
		return nil, s.ioError("read", err)
	}
	defer f.Close()
	return s.decodeFile(ctx, f)
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
	if err := os.Link(tmp.Name(), s.keyPath); err != nil && !errors.Is(err, fs.ErrExist) {
		return s.ioError("install the key file of", err)
	}
	return syncDir(dir)
}

// update applies fn to the scope's secrets under the write lock and writes
// the result atomically when fn reports a change.
func (s *Store) update(ctx context.Context, fn func(repo map[string]string) (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
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
