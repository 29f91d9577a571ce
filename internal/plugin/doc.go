// Package plugin runs a dstack-secrets backend in a separate program: the
// CLI links only the backends it needs on every command (the file
// backend), and a backend with heavy dependencies (the Vault API client,
// the keychain libraries with D-Bus, the cloud backend's S3, GCS and Azure
// SDKs: hundreds of package initialisations) lives in its own executable,
// dstack-secrets-NAME, started only by the commands that open it, in the
// spirit of git remote helpers and docker credential helpers.
//
// The CLI side registers Backend(name, summary, nil) in its registry; its
// Open starts the program, opens the store in it and returns a store whose
// methods are calls to the program. The plugin side is a main that calls
// Main (or ServeProcess, or Serve) with a registry holding the real
// backend.
//
// # Protocol
//
// The CLI (the parent) starts the program with the single argument
// ServeArg and speaks to it over the program's standard input (requests)
// and standard output (responses), one JSON object per line; the program's
// standard error is the parent's, for its own messages. Nothing else
// travels on standard input or output, so a plugin never has a terminal: a
// backend that asks for input (secrets.Env.Prompt) asks the parent, which
// prompts at its terminal (masked) and answers.
//
// The program first writes a greeting:
//
//	{"protocol":2,"backends":[{"name":"cloud","env":["VAULT_ADDR"]}]}
//
// naming the protocol version and, for each backend it serves, the
// environment variables the backend reads through secrets.Env (ServeEnv).
// The parent then sends requests, each with an id that the response
// repeats, and may send several before the responses come:
//
//	{"id":1,"method":"open","params":{"backend":"cloud","scope":{...},"options":{...},"env":{"VAULT_ADDR":"aHR0cHM6Ly8..."},"home":"L2hvbWUvbWU=","prompt":true}}
//	{"id":1,"result":{"methods":["list","get",...]}}
//	{"id":2,"method":"get","params":{"name":"TOKEN"},"deadline":"2026-01-02T15:04:05.123Z"}
//	{"id":2,"error":{"kinds":["not_found"],"message":"secret not found: ..."}}
//	{"cancel":2,"cause":"interrupted by SIGINT: context canceled"}
//
// open comes first and opens the one store the process serves; env holds
// only the declared variables (values and the home directory in base64,
// byte for byte), and allow_unsafe_names and max_secrets carry the
// project's options of those names, which the program's own checks
// (secrets.Wrap) apply: the parent leaves the capacity check, which lists
// the repository, to the program. Its result lists the methods the store supports; the
// others are list, get, set, delete, create, get_all, set_many, locate and
// close (see the table in methods.go: adding a method is one entry there
// and one method of the parent's store). A request carries the deadline
// of the caller's context; {"cancel":ID} cancels the context of a request
// in flight, with the cause of the caller's context when it has one
// (context.Cause), which the program's context then has (its
// context.Cause reads the same, and is context.Canceled). An error
// carries its kinds (the sentinel errors of package secrets,
// errors.ErrUnsupported and the context errors it wraps), so errors.Is
// works in the parent as it would in-process, and its message, which like
// every message of a backend never contains a secret value.
// close closes the store, and the program exits after answering it, or
// when its standard input ends.
//
// While a call is in flight the program may send the messages of the
// backend's secrets.Env, which are not responses:
//
//	{"prompt":{"ask":1,"call":2,"text":"Password of the keyring file store: "}}
//	{"answer":1,"value":"aHVudGVyMg=="}
//	{"warn":"skipped K: ..."}
//	{"notice":"created the key file ..."}
//
// prompt exists only when open said "prompt":true (the parent has a
// Prompt: a terminal). It names the call whose context the backend gave
// its Prompt; the parent asks text with its own Prompt under that call's
// context (its deadline and cancellation bound the prompt) and sends
// answer with the value typed (base64) or an error; the program waits for
// it until the context ends. The context of open lives as long as the
// store, on both sides, as the context given to Open does in-process: a
// backend that keeps it (the keyring backend's file keychain asks for its
// password at its first read) prompts under the context the parent gave
// Open. The parent asks one
// prompt at a time, and an error of its Prompt (an interrupted prompt) is
// wrapped by the error the call then returns, so that errors.As finds it
// as in-process. The value is in no message, log or error. warn and notice
// go to the parent's secrets.Env.Warn and Notice, before the response of
// the call that gave them. open also carries the parent's Env.Timeout
// ("timeout", in nanoseconds).
//
// # Failures
//
// A program that is missing, exits, or answers something else than the
// protocol gives errors wrapping secrets.ErrUnavailable that name it, and
// never a hang: a call whose context ends is cancelled in the program,
// which is killed if it has not answered within CancelGrace; the store
// then answers ErrUnavailable until it is opened again. Close waits for
// the program to exit (killing it after CloseTimeout), and a store that is
// never closed has its program killed when it is garbage collected.
//
// The package is internal: its protocol is not a stable interface yet.
// Programs that embed dstack-secrets link the backends they need directly.
package plugin
