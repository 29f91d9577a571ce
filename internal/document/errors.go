package document

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/secrets"
)

// CorruptError reports an encrypted document that cannot be decrypted or
// decoded: damaged, truncated, not a store document, or of a newer format.
// It wraps secrets.ErrCorrupt. Detail never quotes the document's content.
type CorruptError struct {
	Detail string
}

func (e *CorruptError) Error() string { return "damaged store document (" + e.Detail + ")" }

// Unwrap returns secrets.ErrCorrupt.
func (e *CorruptError) Unwrap() error { return secrets.ErrCorrupt }

func corruptf(format string, args ...any) error {
	return &CorruptError{Detail: fmt.Sprintf(format, args...)}
}

// ageError classifies an error of the age library: a failure to read the
// encrypted source (rec saw it) is returned as it is, a missing identity as
// the age error (errors.As finds *age.NoIdentityMatchError), and anything
// else is a CorruptError whose detail stops before the first quote: age
// and encoding/json quote the bytes they failed on, and those bytes are
// document content, which may be secret.
func ageError(err error, rec *recorder, noMatchOK bool) error {
	if rec != nil {
		if ioErr := rec.failure(); ioErr != nil {
			return fmt.Errorf("cannot read the encrypted document: %w", ioErr)
		}
	}
	var ce *CorruptError
	if errors.As(err, &ce) {
		return err
	}
	if noMatchOK && isNoMatch(err) {
		return err
	}
	msg := Unquoted(err)
	for _, s := range []string{"authenticate", "payload size", "final chunk", "chunk at offset"} {
		if strings.Contains(msg, s) {
			// Random access reports the chunk; say it as age's stream
			// decryption does.
			msg = payloadDamaged
			break
		}
	}
	return &CorruptError{Detail: msg}
}

// payloadDamaged is the age library's message for a payload that fails
// authentication or is cut short.
const payloadDamaged = "failed to decrypt and authenticate payload chunk, file may be corrupted or tampered with"

// Unquoted returns err's text up to the first quote character, the part
// that cannot hold document content.
func Unquoted(err error) string {
	msg := err.Error()
	if i := strings.IndexAny(msg, "\"'`"); i >= 0 {
		msg = strings.TrimRight(msg[:i], ": ")
	}
	return msg
}

// recorder remembers the first error of the reads of the encrypted source
// other than io.EOF, so that an I/O failure is not reported as damage.
type recorder struct {
	mu  sync.Mutex
	err error
}

func (r *recorder) record(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

func (r *recorder) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func isNoMatch(err error) bool {
	var noMatch *age.NoIdentityMatchError
	return errors.As(err, &noMatch)
}
