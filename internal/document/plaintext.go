package document

// Parse and Encode give the plaintext of a document to a caller that
// encrypts it by other means: the cloud backend in KMS mode seals it with a
// data key wrapped by a cloud KMS. Everything else (format, checks, lazy
// decoding, versions) is the same as through Decrypt and Encrypt.

// Parse returns the Document of plaintext, a document that Encode (or
// Encrypt, before encryption) produced, in either format version. Parse
// keeps plaintext: the caller must not modify it afterwards. Anything that
// is not a store document, or of a newer format, is a *CorruptError.
func Parse(plaintext []byte) (*Document, error) {
	st := &state{size: int64(len(plaintext)), plain: bytesToString(plaintext), loaded: true, repos: map[string]*repoState{}}
	d := &Document{st: st}
	if err := d.readHead(); err != nil {
		return nil, err
	}
	return d, nil
}

// Encode returns the plaintext that Encrypt would encrypt: the document
// with its edits, in FormatV2, in a new slice. As Encrypt, it checks the
// whole stored document first (a *CorruptError, and d unchanged, when it
// is not exactly as this package writes it), and on success d holds the
// encoded document, with no edits and no Fingerprint.
func (d *Document) Encode() ([]byte, error) {
	plain, st, err := d.encodeChecked()
	if err != nil {
		return nil, err
	}
	d.st, d.src, d.edits = st, source{}, nil
	return []byte(plain), nil
}
