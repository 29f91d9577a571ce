package secrets

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
)

// Environ reads every secret of s (with GetAll, so in one snapshot) and
// returns base with the secrets added as "NAME=VALUE" entries, as
// MergeEnviron describes. base is typically os.Environ(). With override
// true a secret replaces an inherited variable of the same name, as dstack's
// runner does; with override false the inherited variable is kept.
//
// A secret whose name would take over the child (LD_PRELOAD, BASH_ENV,
// PATH, ...: UnsafeName) is an error unless the project allows it, as
// ChildValues describes. The variables that unlock stores
// (CredentialEnvVars: VAULT_TOKEN, DSTACK_SECRETS_PASSPHRASE, ...) are
// removed from base (DropCredentials): the child gets the repository's
// secrets, not the key to every store, unless a secret of such a name is
// stored, whose value it then gets.
//
// An environment bigger than the system lets a program start with is an
// error wrapping ErrLimit that says by how much (CheckEnvironSize).
//
// On error nothing is returned: a workflow never starts with only some of
// its secrets.
func Environ(ctx context.Context, s Store, base []string, override bool) ([]string, error) {
	values, err := ChildValues(ctx, s)
	if err != nil {
		return nil, err
	}
	env := MergeEnviron(DropCredentials(base), values, override)
	if err := CheckEnvironSize(nil, env); err != nil {
		return nil, err
	}
	return env, nil
}

// CheckEnvironSize reports whether a program started with the arguments
// args (args[0] being the program) and the environment env fits the
// system's limit on their size (ARG_MAX: on Linux a quarter of the stack
// size limit, usually 2 MiB, and 128 KiB per variable; kern.argmax on
// macOS and the BSDs), so that a command is refused with an explanation
// instead of failing with the kernel's bare "argument list too long". The
// error wraps ErrLimit, says how big the environment is, what the limit
// is and by how much it is over, and names a variable too long by itself
// (never its value). Where the limit is not known (Windows) it reports
// nil.
func CheckEnvironSize(args, env []string) error {
	limit, how, maxString := argMax()
	if limit <= 0 {
		return nil
	}
	const ptr = 8 // the pointer to each string, on 64-bit systems
	size := ptr   // the terminating NULL of envp
	for _, a := range args {
		size += len(a) + 1 + ptr
	}
	if len(args) > 0 {
		size += len(args[0]) + 1 // the kernel copies the program's path too
	}
	vars := 0
	for _, kv := range env {
		size += len(kv) + 1 + ptr
		vars++
		if maxString > 0 && len(kv)+1 > maxString {
			return fmt.Errorf("%w: the environment variable %s is %s long, more than the %s the system allows for one variable; the command was not started", ErrLimit, Printable(envName(kv)), byteSize(len(kv)+1), byteSize(maxString))
		}
	}
	if size <= limit {
		return nil
	}
	return fmt.Errorf("%w: the command's environment (%d variables) and arguments take %s, more than the %s the system allows a program to start with (%s): %s too many, so the command was not started; store fewer or smaller secrets (a repository with many secrets can be split across projects), or raise the limit", ErrLimit, vars, byteSize(size), byteSize(limit), how, byteSize(size-limit))
}

// credentialEnvVars are the variables CredentialEnvVars returns.
var credentialEnvVars = []string{
	"DSTACK_SECRETS_PASSPHRASE",       // the file backend's passphrase
	"DSTACK_SECRETS_PASSPHRASE_FD",    // the descriptor it was read from (closed then)
	"DSTACK_SECRETS_KEYRING_PASSWORD", // the keyring backend's file keychain
	"VAULT_TOKEN",                     // Vault's token
	"DSTACK_SECRETS_VAULT_ROLE_ID",    // Vault AppRole login
	"DSTACK_SECRETS_VAULT_SECRET_ID",  // Vault AppRole login
}

// CredentialEnvVars returns the environment variables through which the
// built-in backends get the credentials that unlock a store:
// DSTACK_SECRETS_PASSPHRASE (and DSTACK_SECRETS_PASSPHRASE_FD, which names
// a descriptor the child does not have), DSTACK_SECRETS_KEYRING_PASSWORD,
// VAULT_TOKEN, DSTACK_SECRETS_VAULT_ROLE_ID and
// DSTACK_SECRETS_VAULT_SECRET_ID.
// DropCredentials removes them from a child's environment.
func CredentialEnvVars() []string { return slices.Clone(credentialEnvVars) }

// DropCredentials returns base without the variables of CredentialEnvVars
// (compared as the operating system does: ignoring case on Windows), so
// that a child process started with secrets does not get the credentials
// that unlocked the store. base is not modified. Environ and the CLI's run
// call it before merging the secrets, so a secret of one of those names,
// stored on purpose, still reaches the child.
func DropCredentials(base []string) []string {
	fold := runtime.GOOS == "windows"
	drop := func(name string) bool {
		for _, c := range credentialEnvVars {
			if name == c || fold && strings.EqualFold(name, c) {
				return true
			}
		}
		return false
	}
	out := make([]string, 0, len(base))
	for _, kv := range base {
		if !drop(envName(kv)) {
			out = append(out, kv)
		}
	}
	return out
}

// MergeEnviron returns a new environment holding the entries of base plus
// one "NAME=VALUE" entry per variable of vars, appended in name order. When
// a name of vars is already set in base, override decides: true drops every
// base entry of that name (the variable of vars wins), false keeps the base
// entries and skips the variable. base is not modified. Names are compared
// as the operating system does: case-insensitively on Windows.
func MergeEnviron(base []string, vars map[string]string, override bool) []string {
	fold := runtime.GOOS == "windows"
	key := func(name string) string {
		if fold {
			return strings.ToUpper(name)
		}
		return name
	}
	inVars := make(map[string]bool, len(vars))
	for name := range vars {
		inVars[key(name)] = true
	}
	inBase := map[string]bool{}
	out := make([]string, 0, len(base)+len(vars))
	for _, kv := range base {
		name := envName(kv)
		k := key(name)
		inBase[k] = true
		if override && inVars[k] {
			continue
		}
		out = append(out, kv)
	}
	for _, name := range SortedNames(vars) {
		if !override && inBase[key(name)] {
			continue
		}
		out = append(out, name+"="+vars[name])
	}
	return out
}

// envName returns the name part of a "NAME=VALUE" entry. A leading '=' is
// part of the name (Windows keeps per-drive directories as "=C:=C:\dir").
func envName(kv string) string {
	start := 0
	if strings.HasPrefix(kv, "=") {
		start = 1
	}
	if i := strings.IndexByte(kv[start:], '='); i >= 0 {
		return kv[:start+i]
	}
	return kv
}

// PrepareCmd sets cmd.Env to cmd's environment plus every secret of s, as
// Environ describes: the base is cmd.Env when it is not nil, else the
// current process's environment (which is what cmd would otherwise get).
// Call it after building cmd and before starting it:
//
//	cmd := exec.CommandContext(ctx, "python", "train.py")
//	if err := secrets.PrepareCmd(ctx, store, cmd, true); err != nil {
//		return err
//	}
//	err := cmd.Run()
//
// On error cmd is left unchanged.
func PrepareCmd(ctx context.Context, s Store, cmd *exec.Cmd, override bool) error {
	base := cmd.Env
	if base == nil {
		base = os.Environ()
	}
	env, err := Environ(ctx, s, base, override)
	if err != nil {
		return err
	}
	if err := CheckEnvironSize(cmd.Args, env); err != nil {
		return err
	}
	cmd.Env = env
	return nil
}
