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
