// Package redact masks secret values in text and in streams of bytes, for
// the output of a command that runs with secrets in its environment.
//
// # What is masked
//
// A [Redactor] is built once from the secrets of a scope (name → value).
// Every occurrence of a value of at least [Options.MinLength] bytes is
// replaced with "***" ([FormatStars], the default) or "<NAME>"
// ([FormatName]). Besides the value as it is, these forms of it are
// masked (unless [Options.NoEncodings] is set):
//
//   - the value with each "\n" written as "\r\n", as a terminal
//     (a pseudo-terminal's ONLCR) or a Windows program shows it;
//   - base64, with the standard and the URL alphabets, padded and not;
//     and the value at any byte offset inside a longer base64 blob: for
//     each of the three alignments of the value to the 3-byte groups of
//     base64, the characters that depend only on the value's bits (the
//     "alignment-stable" part) are masked, so `echo "x$TOKEN" | base64`
//     shows at most the one or two characters at each end of the value that
//     also carry bits of its neighbours;
//   - URL escaping as url.QueryEscape ("a b" → "a+b") and url.PathEscape
//     ("a b" → "a%20b") write it (upper-case hex, as most encoders do);
//   - JSON string escaping as json.Marshal writes the value inside a
//     string (with and without its HTML escaping of <, > and &), and as
//     encoders that escape every non-ASCII character as \uXXXX write it
//     (Python's json.dumps by default).
//
// An encoded form shorter than MinLength, or than 4 bytes, is not masked. Forms that
// are equal to another (a value with only letters and digits is its own
// URL and JSON form) are matched once.
//
// Where occurrences overlap, their union is masked as one: a value that is
// a substring of another is masked with the longer one, and two values
// that overlap in the text are masked together, so no part of either is
// shown. The name a FormatName mask shows is that of the occurrence that
// starts first (the longest one when several start at the same byte; the
// first name in sort order when several secrets share a value). Two
// occurrences that only touch are masked separately ("******").
//
// # Minimum length
//
// Values shorter than [DefaultMinLength] (6 bytes) are not masked, and
// [Redactor.Skipped] names them so that a caller can warn. A short value
// such as "true", "prod", "8080" or "admin" is ordinary text: masking it
// would garble every log line that happens to contain it, and every "***"
// would tell the reader where the value stands and so reveal it by
// elimination ("port ***" reads as "port 8080"). Six bytes keep common
// words and small numbers out while masking every generated token, key or
// password. [Options.MinLength] can lower it (to 1) or raise it.
//
// # Algorithm
//
// All forms of all values are the patterns of one multi-pattern matcher,
// built once when it is first needed (the first bytes written to a writer
// of the Redactor, or the first String or Bytes; a command that prints
// nothing never pays for it) and then shared, read-only, by every writer:
//
//   - Finding occurrences: every pattern is at least m bytes long (m is the
//     shortest pattern), so every occurrence covers one of the stream
//     positions that are multiples of k = m - w + 1, with the w bytes
//     there (a "gram", w = 8 for m ≥ 16, about m/2 below) lying inside the
//     occurrence at an offset below k. The grams of each pattern at offsets
//     0..k-1 are indexed in a hash table with a blocked Bloom filter (at
//     most 1 MiB) in front of it. The scan reads one gram every k bytes
//     (every 25 bytes for 32-byte values) and tests two bits of one word;
//     only when both are set are the table's candidates compared with the
//     text. This is the sampling form of the Wu-Manber/Rabin-Karp family of
//     multi-pattern searches; it scans several times faster than a
//     byte-at-a-time automaton (about 5 GB/s for 1,000 values of 32 bytes
//     on a 2-core Xeon VM, against 0.2 GB/s for an Aho-Corasick library
//     reporting overlapping matches).
//   - Holding back: an Aho-Corasick automaton (a trie of all patterns with
//     failure links) is run over the last bytes of each write. Its state
//     gives the longest suffix of the stream that is a proper prefix of
//     some pattern: exactly the bytes that could still be the start of a
//     value. Those, and only those, are held back; everything before them
//     is written at once. This keeps memory bounded by the longest pattern
//     (a write is processed in pieces of at most 64 KiB, so a gigabyte
//     without a newline needs no more memory than a line), and keeps a
//     prompt without a newline visible unless it ends with the start of a
//     value.
//
// The output therefore does not depend on how the input is split into
// writes (unless an idle flush happens, below).
//
// # Idle flush
//
// Bytes held back because they could be the start of a value are written
// as they are when no write has come for [Options.IdleFlush]
// ([DefaultIdleFlush], 100 ms): a program that prints a prompt ending with
// such bytes and then waits for input must not look stalled forever. The
// trade-off: a program that prints a value slowly, pausing longer than
// IdleFlush inside it, shows the part of the value printed before the
// pause; the rest of the value is still masked (the matcher keeps its
// state across the flush). A negative IdleFlush disables it: held bytes
// then wait for more input or Close.
//
// # Limits
//
// A value is masked only in the forms above. A value printed in any other
// transform (hex, quoted-printable, a hash of it, base64 wrapped over
// several lines, lower-case URL escapes, reversed, split by the program
// into pieces with other text between them, compressed, or in an encoding
// other than UTF-8) is not recognised. A value shorter than MinLength is not
// masked at all. Masking applies to what goes through a writer of this
// package: what a program writes elsewhere (a file, the network, the
// terminal directly through /dev/tty) is not seen.
package redact

import (
	"bytes"
	"io"
	"slices"
	"sync"
	"time"
)

// Format is how a masked value is shown.
type Format int

const (
	// FormatStars shows every masked value as "***".
	FormatStars Format = iota
	// FormatName shows a masked value as its secret's name in angle
	// brackets: "<API_TOKEN>".
	FormatName
)

// DefaultMinLength is the length in bytes under which values are not
// masked when Options.MinLength is 0; see the package documentation.
const DefaultMinLength = 6

// DefaultIdleFlush is how long a writer waits, when Options.IdleFlush is
// 0, before it writes out bytes it holds back.
const DefaultIdleFlush = 100 * time.Millisecond

// Options tune a Redactor; the zero value is the recommended setting.
type Options struct {
	// Format is how masked values are shown: FormatStars (default) or
	// FormatName.
	Format Format
	// MinLength is the length in bytes under which a value is not masked;
	// 0 means DefaultMinLength. Values below 1 are taken as 1.
	MinLength int
	// NoEncodings masks only the values as they are (and with "\r\n" line
	// ends), not their base64, URL-escaped and JSON-escaped forms.
	NoEncodings bool
	// IdleFlush is how long a writer waits without a write before it writes
	// out the bytes it holds back because they could be the start of a
	// value. 0 means DefaultIdleFlush; a negative value never flushes on
	// idleness.
	IdleFlush time.Duration
}

// Redactor masks the values of a set of secrets. It is immutable and safe
// for concurrent use; each writer it makes has its own state. A nil
// *Redactor masks nothing: its writers and Copy pass bytes through.
type Redactor struct {
	names   []string // names of the masked secrets, sorted
	masks   [][]byte // the replacement shown for each name
	skipped []string
	idle    time.Duration

	// The matcher is built from values by the first call of matcher.
	values    [][]byte // of names, in order; nil once the matcher is built
	minLen    int
	encodings bool
	once      sync.Once
	m         *matcher
}

// New returns a Redactor that masks the values in secrets (name → value).
// Values shorter than the minimum length are left out and listed by
// Skipped.
func New(secrets map[string]string, opts Options) *Redactor {
	minLen := opts.MinLength
	if minLen == 0 {
		minLen = DefaultMinLength
	}
	minLen = max(minLen, 1)
	idle := opts.IdleFlush
	if idle == 0 {
		idle = DefaultIdleFlush
	}
	r := &Redactor{idle: idle, minLen: minLen, encodings: !opts.NoEncodings}
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := secrets[name]
		if len(v) < minLen {
			r.skipped = append(r.skipped, name)
			continue
		}
		r.names = append(r.names, name)
		r.values = append(r.values, []byte(v))
		if opts.Format == FormatName {
			r.masks = append(r.masks, []byte("<"+name+">"))
		} else {
			r.masks = append(r.masks, []byte("***"))
		}
	}
	return r
}

// masksAny reports whether r masks any value.
func (r *Redactor) masksAny() bool { return r != nil && len(r.names) > 0 }

// matcher returns the matcher of r's patterns, building it on the first
// call; nil when r masks nothing.
func (r *Redactor) matcher() *matcher {
	if !r.masksAny() {
		return nil
	}
	r.once.Do(func() {
		r.m = newMatcher(patternsOf(r.values, r.minLen, r.encodings))
		r.values = nil
	})
	return r.m
}

// Skipped returns the names, sorted, of the secrets whose values are not
// masked because they are shorter than the minimum length.
func (r *Redactor) Skipped() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.skipped)
}

// Names returns the names, sorted, of the secrets whose values are masked.
func (r *Redactor) Names() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.names)
}

// String returns s with every value masked, as a writer would write it in
// one piece (there is no idle flush).
func (r *Redactor) String(s string) string {
	if !r.masksAny() {
		return s
	}
	var b bytes.Buffer
	b.Grow(len(s))
	w := r.newWriter(&b, -1)
	_, _ = w.Write([]byte(s)) // a bytes.Buffer does not fail
	_ = w.Close()
	return b.String()
}

// Bytes returns b with every value masked, like String.
func (r *Redactor) Bytes(b []byte) []byte {
	if !r.masksAny() {
		return slices.Clone(b)
	}
	var out bytes.Buffer
	out.Grow(len(b))
	w := r.newWriter(&out, -1)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

// NewWriter returns a writer that writes to w what is written to it, with
// every value masked. It holds back only the bytes that could still be the
// start of a value, and writes them out after Options.IdleFlush without a
// write. Close writes out whatever it holds (it does not close w); it must
// be called when the stream ends. Write and Close are safe for concurrent
// use (each call is applied whole, in the order they take the writer's
// lock), and Write never keeps the caller's slice. The first error of w is
// returned by every later Write and Close; after Close, Write returns
// ErrClosed.
func (r *Redactor) NewWriter(w io.Writer) io.WriteCloser {
	if !r.masksAny() {
		return &passWriter{w: w}
	}
	return r.newWriter(w, r.idle)
}

// Copy copies src to dst until EOF or an error, masking every value, like
// io.Copy through NewWriter(dst) followed by its Close. It returns the
// first error of reading src or writing dst; io.EOF is not an error.
func (r *Redactor) Copy(dst io.Writer, src io.Reader) error {
	w := r.NewWriter(dst)
	buf := make([]byte, readSize)
	var err error
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				err = werr
				break
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				err = rerr
			}
			break
		}
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return err
}

// readSize is the read buffer of Copy.
const readSize = 64 << 10

// passWriter is the writer of a Redactor that masks nothing.
type passWriter struct{ w io.Writer }

func (p *passWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p *passWriter) Close() error                { return nil }
