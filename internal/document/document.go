package document

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"filippo.io/age"
)

// Format tags of the plaintext document.
const (
	// FormatV1 is the first format: one JSON object mapping repositories
	// to name/value objects, decoded as a whole.
	FormatV1 = "dstack-secrets/file/v1"
	// FormatV2 is the indexed format this package writes (docs/file-format.md).
	FormatV2 = "dstack-secrets/file/v2"
)

// chunkSize is the size of age's plaintext chunks (its STREAM format):
// the unit of random access.
const chunkSize = 64 << 10

// Document is one decrypted store document: the secrets of one or more
// repositories. It decrypts and decodes lazily: Decrypt reads the age
// header, the first line and the final chunk; List decodes one
// repository's index, Get one value. Edits (Set, Delete) are kept aside
// until Encrypt writes a new encryption of the whole document.
//
// The read methods (Repositories, List, Get, GetAll, Has) are safe for
// concurrent use as long as no edit runs at the same time; Set, Delete and
// Encrypt are not. Documents returned by Reopen share what has been decoded
// and may be used concurrently with each other.
type Document struct {
	st    *state
	src   source                        // plaintext access, unless st holds all of it
	edits map[string]map[string]*string // repository -> name -> value (nil: deleted)
}

// state is what is known of one encryption; it is shared by the Documents
// that read it and is never changed except to fill the memos under mu.
type state struct {
	key      string // Fingerprint of the encryption; "" when unknown or new
	fileKey  []byte // age file key, for Reopen without the identities
	version  int    // 1 or 2
	size     int64  // plaintext size
	line1Len int64
	toc      []tocEntry                   // version 2, sorted by repository
	v1       map[string]map[string]string // a document decoded as plain JSON

	mu      sync.Mutex
	plain   string // the whole plaintext, once loaded
	loaded  bool
	checked bool // the whole document was checked (it may be rewritten)
	repos   map[string]*repoState
}

// repoState is the decoded part of one repository. Its fields are set
// once, and values grows, under state.mu.
type repoState struct {
	te      *tocEntry // version 2
	index   string    // version 2: the index object, as read
	names   []string  // sorted; for version 2 decoded from index on the first lookup
	sizes   string    // version 2: the raw sizes list, parsed into offs on demand
	offs    []int64   // offs[i]: start of entry i; offs[len(names)]: end of the last + 2
	entries string    // version 2: the entries, once read whole (GetAll)
	sound   bool      // version 2: every entry was checked as check does (GetAll)
	values  map[string]string
	all     bool // values holds every secret (version 1)
}

// New returns an empty document. Encrypt writes it in FormatV2.
func New() *Document {
	return &Document{st: &state{version: 2, loaded: true, checked: true, repos: map[string]*repoState{}}}
}

// Fingerprint identifies an encryption by its age header, which holds
// fresh random data for every encryption, and its size. head is the start
// of the encrypted file; ok is false when it does not hold the whole
// header (more than 4 KiB of recipients), and then there is no fingerprint.
func Fingerprint(head []byte, size int64) (key string, ok bool) {
	i := bytes.Index(head, []byte("\n--- "))
	if i < 0 {
		return "", false
	}
	end := bytes.IndexByte(head[i+1:], '\n')
	if end < 0 {
		return "", false
	}
	var sb strings.Builder
	var num [20]byte
	sb.Grow(i + 1 + end + 1 + len(num))
	sb.Write(head[:i+1+end])
	sb.WriteByte('|')
	sb.Write(strconv.AppendInt(num[:0], size, 10))
	return sb.String(), true
}

// Decrypt opens the age-encrypted document in src (size bytes long) with
// the first of identities that fits. It decrypts the header, the final
// chunk (which authenticates the size) and the first line; the rest is
// decrypted when asked for, so src must stay readable while the Document
// is read (Reopen binds it to another handle of the same file).
//
// Errors: a *age.NoIdentityMatchError (through errors.As) when no identity
// fits; a *CorruptError for anything damaged, truncated, foreign or of a
// newer format; other errors are failures to read src.
func Decrypt(src io.ReaderAt, size int64, identities ...age.Identity) (*Document, error) {
	rec := &recorder{}
	rsrc := recReaderAt{src, rec}
	head := make([]byte, min(size, 4096))
	if n, err := src.ReadAt(head, 0); n < len(head) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, ageError(err, nil, false)
	}
	key, _ := Fingerprint(head, size)
	hdr, err := age.ExtractHeader(io.NewSectionReader(rsrc, 0, size))
	if err != nil {
		return nil, ageError(err, rec, false)
	}
	fileKey, err := age.DecryptHeader(hdr, identities...)
	if err != nil {
		return nil, ageError(err, rec, true)
	}
	st := &state{key: key, fileKey: fileKey, repos: map[string]*repoState{}}
	d := &Document{st: st, src: source{cipher: src, size: size, fileKey: fileKey}}
	r, err := d.src.reader()
	if err != nil {
		return nil, err
	}
	st.size = r.size
	if err := d.readHead(); err != nil {
		return nil, err
	}
	return d, nil
}

// Reopen returns a Document of the same encryption read through src: the
// caller has checked that src has d's Fingerprint (for a file, it was
// opened again and is unchanged). It shares everything d has decoded, so
// only what d has not yet read is decrypted, without the identities. d's
// edits are not carried over.
func (d *Document) Reopen(src io.ReaderAt, size int64) *Document {
	return &Document{st: d.st, src: source{cipher: src, size: size, fileKey: d.st.fileKey}}
}

// Fingerprint returns the Fingerprint of the encryption d was decrypted
// from or last written to ("" for a new document or an unknown one).
func (d *Document) Fingerprint() string { return d.st.key }

// Version returns the format version of the stored document: 1 for a
// FormatV1 document (or any document read as plain JSON), 2 otherwise.
// Encrypt always writes version 2.
func (d *Document) Version() int { return d.st.version }

// Repositories returns the repositories that hold at least one secret,
// sorted.
func (d *Document) Repositories() ([]string, error) {
	repos := d.touchedRepositories()
	out := repos[:0]
	for _, r := range repos {
		if _, edited := d.edits[r]; !edited {
			out = append(out, r)
			continue
		}
		names, err := d.List(r)
		if err != nil {
			return nil, err
		}
		if len(names) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// List returns the names of repo's secrets, sorted. It decodes repo's
// index only: no value, no sort.
func (d *Document) List(repo string) ([]string, error) {
	rs, err := d.repo(repo)
	if err != nil {
		return nil, err
	}
	var base []string
	owned := false // base is a new slice, the caller's
	if rs != nil {
		d.st.mu.Lock()
		base = rs.names
		d.st.mu.Unlock()
		if base == nil {
			// Decode the names for the caller only: a listing process
			// keeps one copy of them.
			if base, _, err = parseIndex(rs.index, rs.te); err != nil {
				return nil, err
			}
			owned = true
		}
	}
	edits := d.edits[repo]
	if len(edits) == 0 {
		if owned {
			return base, nil
		}
		return slices.Clone(base), nil
	}
	out := make([]string, 0, len(base)+len(edits))
	mergeNames(base, edits, func(name string, fromBase bool, v *string) {
		if fromBase || v != nil {
			out = append(out, name)
		}
	})
	return out, nil
}

// Has reports whether repo holds a secret called name, decoding no value.
func (d *Document) Has(repo, name string) (bool, error) {
	if v, ok := d.edits[repo][name]; ok {
		return v != nil, nil
	}
	rs, err := d.repo(repo)
	if err != nil || rs == nil {
		return false, err
	}
	names, err := d.lookup(rs)
	if err != nil {
		return false, err
	}
	_, found := slices.BinarySearch(names, name)
	return found, nil
}

// Get returns the value of repo's secret name; ok is false when there is
// none. It decodes that value only.
func (d *Document) Get(repo, name string) (value string, ok bool, err error) {
	if v, edited := d.edits[repo][name]; edited {
		if v == nil {
			return "", false, nil
		}
		return *v, true, nil
	}
	rs, err := d.repo(repo)
	if err != nil || rs == nil {
		return "", false, err
	}
	names, err := d.lookup(rs)
	if err != nil {
		return "", false, err
	}
	i, found := slices.BinarySearch(names, name)
	if !found {
		return "", false, nil
	}
	v, err := d.value(rs, name, i)
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}

// GetAll returns all of repo's secrets (a new map).
func (d *Document) GetAll(repo string) (map[string]string, error) {
	rs, err := d.repo(repo)
	if err != nil {
		return nil, err
	}
	edits := d.edits[repo]
	out := map[string]string{}
	if rs != nil {
		if out, err = d.allValues(rs, len(edits)); err != nil {
			return nil, err
		}
	}
	for k, v := range edits {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = *v
		}
	}
	return out, nil
}

// Set gives repo's secret name the value; Encrypt writes it.
func (d *Document) Set(repo, name, value string) {
	d.edit(repo)[name] = &value
}

// Delete removes repo's secret name and reports whether it existed.
func (d *Document) Delete(repo, name string) (bool, error) {
	ok, err := d.Has(repo, name)
	if err != nil || !ok {
		return false, err
	}
	d.edit(repo)[name] = nil
	return true, nil
}

// Changed reports whether d has edits that Encrypt has not written.
func (d *Document) Changed() bool { return len(d.edits) > 0 }

func (d *Document) edit(repo string) map[string]*string {
	if d.edits == nil {
		d.edits = map[string]map[string]*string{}
	}
	m := d.edits[repo]
	if m == nil {
		m = map[string]*string{}
		d.edits[repo] = m
	}
	return m
}

// mergeNames calls fn for every name of the sorted base list and of edits,
// in order: fromBase says whether base has it, v is its edit (nil when
// deleted or not edited; only names with an edit and not in base can have
// fromBase false).
func mergeNames(base []string, edits map[string]*string, fn func(name string, fromBase bool, v *string)) {
	keys := make([]string, 0, len(edits))
	for k := range edits {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	i, j := 0, 0
	for i < len(base) || j < len(keys) {
		switch {
		case j == len(keys) || i < len(base) && base[i] < keys[j]:
			fn(base[i], true, nil)
			i++
		case i == len(base) || keys[j] < base[i]:
			if v := edits[keys[j]]; v != nil {
				fn(keys[j], false, v)
			}
			j++
		default: // the same name
			if v := edits[keys[j]]; v != nil {
				fn(keys[j], false, v)
			}
			i++
			j++
		}
	}
}

// source reads the plaintext of one encryption through one handle; the
// zero source has none.
type source struct {
	cipher  io.ReaderAt
	size    int64
	fileKey []byte
	rec     recorder

	once sync.Once
	r    *plainReader
	err  error
}

type plainReader struct {
	r    io.ReaderAt
	size int64
}

// reader returns the plaintext reader, made on first use (age decrypts the
// final chunk then).
func (s *source) reader() (*plainReader, error) {
	s.once.Do(func() {
		r, n, err := age.DecryptReaderAt(recReaderAt{s.cipher, &s.rec}, s.size, age.NewInjectedFileKeyIdentity(s.fileKey))
		if err != nil {
			s.err = ageError(err, &s.rec, false)
			return
		}
		s.r = &plainReader{r, n}
	})
	return s.r, s.err
}

// recReaderAt passes reads through, recording failures other than io.EOF.
type recReaderAt struct {
	r   io.ReaderAt
	rec *recorder
}

func (r recReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		r.rec.record(err)
	}
	return n, err
}

// read returns n bytes of plaintext at off. A part of at least half the
// document is read as the whole plaintext (see readAll), which is kept.
func (d *Document) read(off, n int64) (string, error) {
	st := d.st
	if off < 0 || n < 0 || off > st.size-n {
		return "", corruptf("a part at byte %d (%d bytes) is outside the document (%d bytes)", off, n, st.size)
	}
	st.mu.Lock()
	if st.loaded {
		s := st.plain[off : off+n]
		st.mu.Unlock()
		return s, nil
	}
	st.mu.Unlock()
	if n > 0 && 2*n >= st.size {
		// Most of the document (the entries of a store of one repository,
		// for GetAll): it is read whole, in one sequential pass, and kept,
		// so that a rewrite (Encrypt's load) does not decrypt it again.
		plain, err := d.readAll()
		if err != nil {
			return "", err
		}
		st.mu.Lock()
		if !st.loaded {
			st.plain, st.loaded = plain, true
		}
		plain = st.plain
		st.mu.Unlock()
		return plain[off : off+n], nil
	}
	if d.src.cipher == nil || d.src.fileKey == nil {
		return "", errors.New("document: reading a Document without a source (use Reopen)")
	}
	r, err := d.src.reader()
	if err != nil {
		return "", err
	}
	// One ReadAt for the whole part: age decrypts chunk after chunk into
	// one buffer of its own, and buf becomes the string without a copy.
	buf := make([]byte, n)
	if m, err := r.r.ReadAt(buf, off); int64(m) < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return "", ageError(err, &d.src.rec, false)
	}
	return bytesToString(buf), nil
}

// readAll returns the whole plaintext, decrypted in one sequential pass
// (age's stream decryption: no chunk is read twice or allocated apart).
func (d *Document) readAll() (string, error) {
	st := d.st
	st.mu.Lock()
	if st.loaded {
		s := st.plain
		st.mu.Unlock()
		return s, nil
	}
	st.mu.Unlock()
	if d.src.cipher == nil || d.src.fileKey == nil {
		return "", errors.New("document: reading a Document without a source (use Reopen)")
	}
	rec := &d.src.rec
	r, err := age.Decrypt(io.NewSectionReader(recReaderAt{d.src.cipher, rec}, 0, d.src.size), age.NewInjectedFileKeyIdentity(d.src.fileKey))
	if err != nil {
		return "", ageError(err, rec, false)
	}
	buf := make([]byte, st.size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", ageError(err, rec, false)
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		if err == nil || errors.Is(err, io.EOF) {
			return "", corruptf("the document is longer than its authenticated size")
		}
		return "", ageError(err, rec, false)
	}
	return bytesToString(buf), nil
}

// bytesToString returns b as a string without copying it; b must never
// be modified afterwards.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// touchedRepositories returns, sorted and once each, every repository the
// document stores (in either format) or has edits for, with secrets or not.
func (d *Document) touchedRepositories() []string {
	var repos []string
	for r := range d.st.v1 {
		repos = append(repos, r)
	}
	for _, te := range d.st.toc {
		repos = append(repos, te.Repository)
	}
	for r := range d.edits {
		repos = append(repos, r)
	}
	slices.Sort(repos)
	return slices.Compact(repos)
}
