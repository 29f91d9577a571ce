// Package cloud is the dstack-secrets backend for teams on AWS, Google
// Cloud or Azure: each repository's secrets are one encrypted object in an
// S3, Google Cloud Storage or Azure Blob bucket, reached through
// gocloud.dev/blob with each cloud's standard credential chain.
//
// # Layout
//
// Under the url option's prefix, project P keeps
//
//	P/members.json                member list (recipients mode)
//	P/repos/HOST/ORG/REPO.age     one object per repository with a remote
//	P/local/PATH.age              one per local-only repository
//
// so a bucket policy can grant a CI role exactly one repository's object.
// Reading every secret (run, GetAll) is one GET; a write is one GET and one
// conditional PUT (S3 If-Match / If-None-Match: *, GCS ifGenerationMatch,
// Azure If-Match), read again and retried with backoff and jitter while
// other writers get there first, until the operation's deadline. Objects
// are replaced whole, so nothing is ever half-written, and an object that
// does not verify or decrypt is never overwritten.
//
// # Modes
//
// Recipients mode (the default): the object is encrypted with age to every
// member's key (age X25519, or SSH ed25519/RSA through agessh) and signed
// by the member who wrote it. The member list is a chain of statements,
// each signed by a member of the one before; its first statement's hash is
// the project ID, which every member but the first pins (option
// project_id), and each client keeps the longest list it has verified
// (~/.dstack/secrets/cloud-pins), so someone who can write to the bucket
// but holds no member key can neither add themselves as a recipient nor
// plant values that members trust. Identity, ShareList, ShareAdd and
// ShareRemove manage the list.
//
// KMS mode (option kms): the object is sealed under a fresh data key that a
// cloud KMS key wraps (gocloud.dev/secrets: awskms://, gcpkms://,
// azurekeyvault://, hashivault:// for Vault's transit engine), so a cloud
// runner with an IAM role decrypts with no key file.
//
// docs/cloud.md has the setup per cloud, least-privilege policies and the
// threat model of each mode.
//
// # The document
//
// What an object encrypts is the store document of the file backend
// (package internal/document, docs/file-format.md), holding the one
// repository of the object. In recipients mode the payload after the
// envelope's line is the document's own age encryption, which a member
// decrypts with the standard age program and their key (docs/cloud.md);
// in KMS mode it is the document's plaintext sealed under the data key.
// Objects of the first plaintext format (a JSON object of the secrets) are
// read as they are and replaced by a document on their next write.
//
// # Repositories
//
// Store.Repositories (secrets.RepositoryLister) lists PROJECT/repos/ and
// PROJECT/local/ and reads each object found (one GET each, verified and
// decrypted as a read of that repository is) for its number of secrets.
package cloud
