// Package vault is the HashiCorp Vault backend of dstack-secrets: it keeps
// the secrets of each project and git repository in a Vault KV secrets
// engine (version 2 or version 1), through github.com/hashicorp/vault/api.
//
// Select it in the project configuration (~/.dstack/secrets.yml):
//
//	projects:
//	  team:
//	    backend: vault
//	    options:
//	      address: https://vault.example.com:8200   # else VAULT_ADDR
//	      mount: secret        # the KV mount (default secret)
//	      prefix: dstack       # path prefix inside the mount (default dstack)
//	      namespace: team-a    # Vault Enterprise namespace (else VAULT_NAMESPACE)
//	      kv_version: 2        # default: detected from the mount
//	      auth: approle        # token (default) or approle
//	      role_id_file: ~/.dstack/vault-role-id
//	      secret_id_file: ~/.dstack/vault-secret-id
//
// Library users call Open with an Options value instead; the store it
// returns is wrapped by secrets.Wrap, which checks names and values and
// names the Vault path (Vault <address>, <mount>/<prefix>/<project>/
// <repository>/<NAME>) in not-found and already-exists errors.
//
// # Layout
//
// Every secret is one KV entry, at
//
//	<mount>/<prefix>/<project>/<repository>/<NAME>
//
// holding one field, "value". The repository is its identity as
// secrets.NormalizeRepository gives it: github.com/org/repo for a repository
// with a remote, and _local/<absolute path> for a local-only repository (so
// /home/me/app becomes _local/home/me/app; "_local" cannot be a host name,
// and a remote identity whose host is "_local" is refused). For example,
// with the defaults, API_TOKEN of project "team" in github.com/org/app is
//
//	vault kv get -mount=secret dstack/team/github.com/org/app/API_TOKEN
//	vault kv list -mount=secret dstack/team/github.com/org/app
//
// One entry per secret (rather than one entry per repository holding all of
// its secrets) is chosen because it makes the secrets browsable and editable
// with plain `vault kv` commands, lets a policy grant single secrets, gives
// every secret its own version history, and means writers of different
// secrets never contend: no read-modify-write of a shared document, hence no
// lost update and no retry loop. The price is that reading every secret of a
// repository (GetAll, used to inject them as environment variables) takes
// one LIST plus one read per secret; GetAll issues those reads concurrently,
// at most MaxConcurrentReads at a time, so it costs about
// 1 + n/MaxConcurrentReads round-trip times rather than 1 + n.
//
// # Policies
//
// Ordinary Vault ACL policies grant a project or a repository. For a KV v2
// mount "secret", read and write access to one repository's secrets is
//
//	path "secret/data/dstack/team/github.com/org/app/+" {
//	  capabilities = ["create", "read", "update"]
//	}
//	path "secret/metadata/dstack/team/github.com/org/app/" {
//	  capabilities = ["list"]
//	}
//	path "secret/metadata/dstack/team/github.com/org/app/+" {
//	  capabilities = ["read", "delete"]
//	}
//
// The "+" matches exactly one path segment, i.e. the repository's own
// secrets and not those of a repository nested below it (such as
// github.com/org/app/sub). Replace "github.com/org/app/+" with "*" after the
// project ("secret/data/dstack/team/*") to grant a whole project. A
// read-only consumer (a CI runner injecting secrets) needs only "read" on
// the data path and "list" on the metadata folder. The operations need:
// List: list on metadata/<repo>/; Get: read on data/<repo>/<NAME>; Set:
// create and update on data/<repo>/<NAME> (and read on
// metadata/<repo>/<NAME> on a mount with cas_required); Create: create on
// data/<repo>/<NAME>, and read on metadata/<repo>/<NAME> to tell an
// existing secret from a soft-deleted one; Delete: read and delete on
// metadata/<repo>/<NAME>. Opening a store reads
// sys/internal/ui/mounts/<mount>, which Vault allows to any token with a
// capability under the mount (set kv_version to skip it). On
// KV v1 there is no data/ or metadata/ segment: the same capabilities apply
// to <mount>/<prefix>/<project>/<repo>/<NAME> and list to the folder.
//
// # KV version 2
//
// Create writes with check-and-set cas=0, which Vault applies atomically:
// of two processes adding the same name at once exactly one succeeds and the
// other gets an error wrapping secrets.ErrExists. Set writes a new version
// without a check (replacing a value is what Set means, and the previous
// value stays in the version history); on a mount with cas_required it reads
// the current version and writes with cas set to it, so a concurrent writer
// in between makes Set fail with secrets.ErrConflict instead of being
// overwritten silently. Delete removes the secret's metadata (like `vault kv
// metadata delete`), which destroys all of its versions: the name no longer
// lists, and old values cannot be recovered with `vault kv undelete` or
// `vault kv rollback`. Keep backups through Vault itself (snapshots) if
// that matters. A secret that someone soft-deleted with `vault kv delete`
// still lists (its metadata exists) but reads as not found; GetAll skips
// it, Create may reuse its name, and Delete removes it for good. A version
// whose deletion is only scheduled (delete_version_after) is live until
// then.
//
// # KV version 1
//
// KV v1 keeps no versions and has no check-and-set, so its guarantees are
// weaker: Set overwrites without a trace, Delete is immediate and final, and
// there is no atomic create. On a KV v1 mount Create therefore falls back
// (through secrets.Wrap) to a read followed by a write, and two processes
// adding the same name at the same moment can both succeed, the later write
// winning. Writes of different names never interfere.
//
// # Connection and authentication
//
// Connection settings follow the vault CLI: the address comes from the
// address option, else VAULT_AGENT_ADDR, else VAULT_ADDR, else
// https://127.0.0.1:8200; likewise namespace (VAULT_NAMESPACE), ca_cert
// (VAULT_CACERT, or VAULT_CACERT_BYTES), ca_path (VAULT_CAPATH),
// client_cert and client_key (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY),
// tls_server_name (VAULT_TLS_SERVER_NAME) and tls_skip_verify
// (VAULT_SKIP_VERIFY), plus VAULT_MAX_RETRIES, VAULT_CLIENT_TIMEOUT and
// VAULT_PROXY_ADDR (or VAULT_HTTP_PROXY). An
// option set in the configuration wins over the environment, because it
// names the Vault of one particular project; the environment fills in what
// the configuration leaves out. Other VAULT_* variables the Go client reads
// itself from the process environment (VAULT_RATE_LIMIT, VAULT_HEADERS,
// VAULT_DISABLE_REDIRECTS, VAULT_SRV_LOOKUP) keep the client's own meaning.
//
// Credentials never come from the configuration file. With auth: token (the
// default) the token is VAULT_TOKEN, else the file ~/.vault-token that
// `vault login` writes (external token helpers are not run). With auth:
// approle the backend logs in with
// github.com/hashicorp/vault/api/auth/approle at the approle_mount (default
// "approle"); the role id comes from the role_id option (it is an
// identifier, not a credential), role_id_file or
// DSTACK_SECRETS_VAULT_ROLE_ID, and the secret id from secret_id_file or
// DSTACK_SECRETS_VAULT_SECRET_ID (set secret_id_wrapped: true when it is a
// response-wrapping token). Close revokes the token obtained by an AppRole
// login; a token given by the user is never revoked.
//
// # Failures
//
// Every call is bounded by its context. Requests that fail with a connection
// error, 429 or a 5xx status are retried with exponential backoff
// (VAULT_MAX_RETRIES times, default 2) unless the context's deadline would
// pass during the wait, in which case the last failure is reported at once.
// Failures are reported as errors wrapping the secrets sentinels, with
// Vault's own message but never a raw response body, a token or a secret
// value: an unreachable server (secrets.ErrUnavailable, naming the
// address), a sealed server (secrets.ErrUnavailable), a missing or expired
// token (secrets.ErrAuth), a policy that lacks a capability
// (secrets.ErrPermission, naming the path and the capability), and a mount
// that is missing or not KV (secrets.ErrInvalidConfig, saying how to enable
// one).
package vault
