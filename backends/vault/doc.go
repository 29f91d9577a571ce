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
//	      # addresses: [https://vault-1:8200, https://vault-2:8200, https://vault-3:8200]
//	      mount: secret        # the KV mount (default secret)
//	      prefix: dstack       # path prefix inside the mount (default dstack)
//	      layout: entry        # entry (default) or bundle
//	      namespace: team-a    # Vault Enterprise namespace (else VAULT_NAMESPACE)
//	      kv_version: 2        # default: detected from the mount
//	      timeout: 30s         # retry budget of one operation (default 30s)
//	      auth: approle        # token (default) or approle
//	      role_id_file: ~/.dstack/vault-role-id
//	      secret_id_file: ~/.dstack/vault-secret-id
//
// Library users call Open with an Options value instead; the store it
// returns is wrapped by secrets.Wrap, which checks names and values and
// names the Vault path in not-found and already-exists errors.
//
// # Layouts
//
// The repository is its identity as secrets.NormalizeRepository gives it:
// github.com/org/repo for a repository with a remote, and _local/<absolute
// path> for a local-only repository ("_local" cannot be a host name, and a
// remote identity whose host is "_local" is refused). Its secrets are kept
// in one of two layouts.
//
// layout: entry (the default) keeps every secret in a KV entry of its own,
//
//	<mount>/<prefix>/<project>/<repository>/<NAME>      field "value"
//
//	vault kv get -mount=secret -field=value dstack/team/github.com/org/app/API_TOKEN
//
// so a policy can grant single secrets, every secret has its own version
// history, and writers of different secrets never contend. The price is
// that reading every secret (run, export, list) is one LIST plus one read
// per secret; the reads go MaxConcurrentReads at a time, but each costs
// Vault its own token lookup, policy check and storage read (about half a
// millisecond of server CPU), so 100 secrets cost some 50 times one read.
//
// layout: bundle keeps all secrets of a repository as the fields of one KV
// version 2 entry, the way applications' secrets are often kept (`vault kv
// put secret/app A=1 B=2`):
//
//	<mount>/<prefix>/<project>/<repository>      one field per secret
//
//	vault kv get -mount=secret dstack/team/github.com/org/app
//
// Reading every secret, one secret or the names is one read of that entry.
// A write reads the entry and writes it back with check-and-set (cas set to
// the version read), so that two writers never lose each other's secrets:
// the one that lost the race reads again and retries, after a short random
// wait, until the operation's deadline. An import or copy (SetMany) is one
// such write, so it is atomic, also when the process is killed. The price:
// policies grant the repository as a whole (not single secrets), writers of
// one repository take turns, the history is the entry's (Vault keeps 10
// versions of it by default, see max_versions), and the entry must fit the
// storage's size limit (Raft's max_entry_size, 1 MiB by default: thousands
// of ordinary secrets, not thousands of large files). Fields that are not
// secrets (a name that is not a valid environment variable name, a value
// that is not a string) are kept by every write and skipped by reads, with
// a warning. The bundle layout needs KV version 2 (check-and-set); on a KV
// version 1 mount Open refuses it.
//
// Use the entry layout where secrets need their own policies; use bundle
// where starting a workflow (run) must be fast, or the Vault is far away.
// `dstack-secrets copy` moves a repository's secrets between two projects
// configured with different layouts.
//
// # Policies
//
// Ordinary Vault ACL policies grant a project or a repository. For a KV v2
// mount "secret" in the entry layout, read and write access to one
// repository's secrets is
//
//	path "secret/data/dstack/team/github.com/org/app/+" {
//	  capabilities = ["create", "read", "update", "delete"]
//	}
//	path "secret/metadata/dstack/team/github.com/org/app/" {
//	  capabilities = ["list"]
//	}
//	path "secret/metadata/dstack/team/github.com/org/app/+" {
//	  capabilities = ["read", "delete"]
//	}
//
// The "+" matches exactly one path segment, i.e. the repository's own
// secrets (and its batch record, below) and not those of a repository
// nested below it (such as github.com/org/app/sub). Replace
// "github.com/org/app/+" with "*" after the project
// ("secret/data/dstack/team/*") to grant a whole project. A read-only
// consumer (a CI runner injecting secrets) needs only "read" on the data
// path and "list" on the metadata folder. Writes need "create", "read" and
// "update" on the data path (a write keeps an entry's other fields, so it
// reads first); Delete needs "read" and "delete" on the metadata path;
// history needs "read" on the metadata path. In the bundle layout the same
// capabilities apply to the one entry: "secret/data/dstack/team/
// github.com/org/app" and "secret/metadata/dstack/team/github.com/org/app".
// Opening a store reads sys/internal/ui/mounts/<mount>, which Vault allows
// to any token with a capability under the mount (set kv_version to skip
// it). On KV v1 there is no data/ or metadata/ segment.
//
// # Entries written by other tools
//
// An entry of the entry layout without a string field "value" (a `vault kv
// put` with other fields, a number) was not written by dstack-secrets: List
// and GetAll (list, run, export) leave it out with one warning naming it
// (through secrets.Env.Warn; the CLI prints it on standard error), and only
// Get of that name refuses it with secrets.ErrCorrupt. Writing a secret
// keeps an entry's other fields (Set reads it and writes it back with
// check-and-set); Delete of an entry with other fields removes only
// "value". An entry soft-deleted with `vault kv delete` is absent from List
// as from Get; Create may reuse its name.
//
// # Imports and copies (SetMany)
//
// In the bundle layout a batch is one check-and-set write. In the entry
// layout on KV v2, SetMany first writes a batch record, the entry
// .dstack-intent in the repository's folder (not a valid secret name, so
// never a secret), naming every secret of the batch and the version it had;
// then it writes the secrets in name order, 16 at a time, each with
// check-and-set against that version; then it clears the record, which
// commits the batch. When a write fails or the context is cancelled (the
// CLI cancels it on SIGINT and SIGTERM), the secrets already written are
// rolled back to their previous versions before SetMany returns, and the
// error says so. When the process is killed, the record stays: the next
// command on the repository (List, GetAll, SetMany, Set, Create, Delete)
// rolls the batch back, once the record's lease (a minute, extended while
// the batch runs) has expired or, on the same machine, as soon as the
// writer's process is gone; until then List and GetAll show the batch's
// secrets as they were before it, so a half-applied batch is never seen.
// Get of a single secret reads the current value. A second batch on the
// same repository waits for the first (until its deadline). On KV v1, which
// keeps no versions, SetMany is secrets.Wrap's fallback: it undoes on
// failure and cancellation, but a killed process can leave part of a batch.
//
// # KV version 2
//
// Create writes with check-and-set cas=0, which Vault applies atomically:
// of two processes adding the same name at once exactly one succeeds and the
// other gets an error wrapping secrets.ErrExists. Set writes a new version
// (the previous value stays in the history). Delete in the entry layout
// removes the secret's metadata, which destroys all of its versions (like
// `vault kv metadata delete`); in the bundle layout it writes a version of
// the entry without the field, so the value stays in the entry's history.
// A version whose deletion is only scheduled (delete_version_after) is live
// until then.
//
// # History
//
// On KV v2 the store implements secrets.History: Versions lists the versions
// Vault keeps of a secret with the time each was written (Vault does not
// record who wrote a KV version), and GetVersion reads one. In the bundle
// layout the versions of a secret are the versions of the repository's
// entry in which that secret changed, and reading them costs one request
// per version kept. On KV v1 both answer errors.ErrUnsupported.
//
// # KV version 1
//
// KV v1 keeps no versions and has no check-and-set, so its guarantees are
// weaker: Set overwrites without a trace, Delete is immediate and final,
// there is no atomic create (Create falls back, through secrets.Wrap, to a
// read followed by a write), no history and no bundle layout.
//
// # Connection, failover and authentication
//
// Connection settings follow the vault CLI, read from the injected
// environment (Options.Env, the CLI's process environment), never from the
// process's own: the address comes from the address option, else
// VAULT_AGENT_ADDR, else VAULT_ADDR, else https://127.0.0.1:8200; likewise
// namespace (VAULT_NAMESPACE, sent as X-Vault-Namespace), ca_cert
// (VAULT_CACERT, or VAULT_CACERT_BYTES), ca_path (VAULT_CAPATH),
// client_cert and client_key (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY),
// tls_server_name (VAULT_TLS_SERVER_NAME) and tls_skip_verify
// (VAULT_SKIP_VERIFY), plus VAULT_CLIENT_TIMEOUT, VAULT_MAX_RETRIES,
// VAULT_PROXY_ADDR (or VAULT_HTTP_PROXY), VAULT_RATE_LIMIT, VAULT_HEADERS,
// VAULT_SRV_LOOKUP and VAULT_DISABLE_REDIRECTS. An option set in the
// configuration wins over the environment.
//
// addresses lists the nodes of a cluster without a load balancer in front.
// Every operation is retried, with exponential backoff and jitter, on
// connection errors, 429 and 5xx answers (a sealed node, a standby that
// finds no active node during a leader election), until the earlier of its
// context's deadline and the timeout (the timeout option, else
// secrets.Env.Timeout, which the CLI's --timeout sets, else 30 s); with
// several addresses the next node is tried at once. VAULT_MAX_RETRIES, when
// set, bounds the number of retries. Every write re-reads what it depends on,
// so a retried write whose first answer was lost is not applied twice: a
// create that finds its own value succeeds. Errors name the node that failed
// (the one a standby redirected to, not the standby).
//
// Credentials never come from the configuration file. With auth: token (the
// default) the token is VAULT_TOKEN, else the file ~/.vault-token that
// `vault login` writes (external token helpers are not run). With auth:
// approle the backend logs in with
// github.com/hashicorp/vault/api/auth/approle at the approle_mount (default
// "approle"); the role id comes from the role_id option, role_id_file or
// DSTACK_SECRETS_VAULT_ROLE_ID, and the secret id from secret_id_file or
// DSTACK_SECRETS_VAULT_SECRET_ID (set secret_id_wrapped: true when it is a
// response-wrapping token). While a store is open, its token is renewed at
// two thirds of its lifetime; an AppRole login is repeated when the token
// cannot be renewed for its full lifetime any more (its max TTL is near), so
// a service that keeps a store for days keeps working. (A store opened with
// a token asks Vault about it after a second, so short commands never pay
// for that.) Close stops the renewal and revokes the token of an AppRole
// login; a token given by the user is never revoked.
//
// # Failures
//
// Failures are reported as errors wrapping the secrets sentinels, with
// Vault's own message but never a raw response body, a token or a secret
// value: an unreachable server or one that kept failing until the deadline
// (secrets.ErrUnavailable, naming the node), a sealed server
// (secrets.ErrUnavailable), a missing or expired token (secrets.ErrAuth), a
// policy that lacks a capability (secrets.ErrPermission, naming the path and
// the capability), writers that kept winning the check-and-set race until
// the deadline (secrets.ErrConflict), and a mount that is missing or not KV
// (secrets.ErrInvalidConfig, saying how to enable one).
package vault
