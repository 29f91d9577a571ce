// Package document is the encrypted store document of dstack-secrets: the
// age-encrypted JSON that the file backend keeps per project (the secrets
// of the project's repositories) and the cloud backend keeps per object
// (the secrets of one repository). Both backends use it the same way.
//
// # Format
//
// The plaintext is one JSON document (docs/file-format.md has the full
// description and the recovery recipes). Version 2, which this package
// writes, is laid out for lazy reading: a first line with a table of
// contents (byte offsets), then per repository an index line (the names,
// sorted, and the byte size of each entry), then per repository the
// secrets, one "NAME":"VALUE" entry per line, names sorted. The secrets sit
// under "repositories" exactly as in version 1, so
//
//	age -d -i key.txt store.age | jq '.repositories'
//
// gives the same object for both versions. The encryption is one age file
// (filippo.io/age; no cryptography here is home-made), read through age's
// random-access decryption (age.DecryptReaderAt, 64 KiB chunks each
// authenticated), so reading one repository's names decrypts the chunks
// of its index only, and reading one value one or two chunks more.
// A version 1 document, or any document of either version that is not in
// the indexed layout (edited by hand, say), is decoded as plain JSON, and
// the next Encrypt writes it as version 2. Reading never writes.
//
// # API
//
//	d := document.New()                               // an empty document
//	d, err := document.Decrypt(src, size, ids...)     // src io.ReaderAt: a file, bytes.NewReader(object)
//	d.Repositories() ([]string, error)                // repositories holding secrets, sorted
//	d.List(repo) ([]string, error)                    // names, sorted; decodes repo's index only
//	d.Has(repo, name) (bool, error)                   // no value decoded
//	d.Get(repo, name) (value string, ok bool, err error) // decodes one value
//	d.GetAll(repo) (map[string]string, error)
//	d.Set(repo, name, value)                          // edits, kept until Encrypt
//	d.Delete(repo, name) (existed bool, err error)
//	d.Encrypt(dst, recipients...) error               // checks the whole stored document, writes version 2
//	document.Parse(plaintext) (*Document, error)      // a plaintext decrypted by other means (a KMS data key)
//	d.Encode() ([]byte, error)                        // the plaintext Encrypt would encrypt, to seal by other means
//	document.Fingerprint(head, size) (string, bool)   // cache key of an encrypted file: its age header + size
//	d.Fingerprint() string                            // of the encryption d was read from or written to
//	d.Reopen(src, size) *Document                     // same encryption through another handle, sharing what is decoded
//
// A cache keeps a Document under its Fingerprint: when the file (or object)
// still has that fingerprint, Reopen gives a Document that serves what was
// decoded before and decrypts the rest, with the file key it kept (no
// identity, no passphrase asked again).
//
// # Errors
//
// Decrypt returns the age library's *age.NoIdentityMatchError (use
// errors.As) when no identity fits. Anything damaged, truncated, foreign or
// of a newer format is a *CorruptError, which wraps secrets.ErrCorrupt; the
// lazy reads report damage in the part they read, and Encrypt checks the
// whole document before it writes, so a damaged document is never
// rewritten. Errors never quote document content. Other errors are
// failures to read the source.
package document
