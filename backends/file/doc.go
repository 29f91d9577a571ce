// Package file is the encrypted local file backend of dstack-secrets, and
// the zero-configuration default.
//
// # Layout
//
// Each project's secrets live in one file, <dir>/<project>.age, where dir
// defaults to ~/.dstack/secrets (created 0700). The file is an age
// (filippo.io/age, https://age-encryption.org/v1) encryption of a JSON
// document that maps repository identities to name/value maps, laid out
// with an index (format dstack-secrets/file/v2, described in
// docs/file-format.md; package internal/document reads and writes it); no
// cryptography is home-made, and `age -d -i <project>.key <project>.age`
// always gives the secrets back as readable JSON. A store of the first
// format (dstack-secrets/file/v1) is read as it is and rewritten in the new
// one by the next write; reads never write. Beside the store are
// <project>.key, the age X25519 identity generated on first write (0600; a
// key file readable by group or others is refused), and <project>.lock,
// used for cross-process locking.
//
// # Passphrase mode
//
// With the option passphrase: true the file is encrypted with age's scrypt
// recipient instead and there is no key file. The passphrase comes from,
// in this order, Options.PassphraseFunc, passphrase_command (a command run
// without a shell that prints it, as git's credential helpers do),
// passphrase_fd or DSTACK_SECRETS_PASSPHRASE_FD (a descriptor read to its
// end and closed), DSTACK_SECRETS_PASSPHRASE, or a masked prompt; one
// final newline is dropped from a command's output or a descriptor's
// content. The scrypt work factor is age's default, 18; a lower
// scrypt_work_factor needs allow_weak_scrypt: true (for tests only), and a
// write never lowers the factor of an existing store: it keeps the higher
// of the store's and the configured one. A passphrase shorter than 12
// characters gets a warning (secrets.Env.Warn) when it encrypts a store.
//
// # Ownership and links
//
// As OpenSSH's StrictModes does, every operation refuses a store
// directory, store file, key file or lock file that a user other than the
// current one or root owns, or that others (or a group other than the
// user's private group) can write, with the chmod or chown that fixes it
// (secrets.CheckOwnership). A store directory others can write is refused
// even with the sticky bit: they could create the key or lock file first.
//
// A <project>.age, <project>.key or <project>.lock that is a symbolic link
// is refused with an error naming it and its target, by reads and writes
// alike: links there are never followed (the files are opened with
// O_NOFOLLOW), never replaced by a write's rename, and no file is ever
// created where one points. The store directory itself may be a link, as
// may an identity_file given explicitly: the user chose that path, so it
// is followed, and its target must pass the key file's checks; a key is
// never created through a link to a missing file.
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
// Reads decrypt only what they need, through age's random-access
// decryption (64 KiB chunks, each authenticated): List decrypts and
// decodes the repository's index (its names, already sorted), Get one entry
// more, GetAll the repository's entries. A Store keeps what it decoded for
// as long as the file is unchanged (checked by its age header, which is
// fresh random data on every write), with the file key, so a passphrase is
// not asked again. Every write decrypts and checks the whole file and
// re-encrypts it, so writes cost time linear in the project's total size;
// unchanged entries are copied as they are, not decoded and encoded again.
package file
