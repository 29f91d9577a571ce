package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/dstackai/dstack-secrets/secrets"
)

// foreignSecret stores a secret straight into the backend, past the
// checks, as another tool writing the store would.
func foreignSecret(name, value string) func(s *sandbox) {
	return func(s *sandbox) {
		if err := secrets.Unwrap(s.store()).Set(context.Background(), name, value); err != nil {
			s.t.Fatal(err)
		}
	}
}

// homeConfig writes the default configuration file ~/.dstack/secrets.yml.
func homeConfig(content string) func(s *sandbox) {
	return func(s *sandbox) { writeFile(s.t, filepath.Join(s.home, ".dstack", "secrets.yml"), content, 0o600) }
}

// manyLines is a dotenv file of n secrets.
func manyLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "S%05d=v\n", i)
	}
	return b.String()
}

// manyBigLines is a dotenv file of n secrets of 64 KiB.
func manyBigLines(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "B%03d=%s\n", i, strings.Repeat("x", secrets.MaxValueSize))
	}
	return b.String()
}

// chmodStore changes the mode of a file of the store directory (name "":
// the directory itself).
func chmodStore(name string, mode os.FileMode) func(s *sandbox) {
	return func(s *sandbox) {
		if err := os.Chmod(filepath.Join(s.storeDir(), name), mode); err != nil {
			s.t.Fatal(err)
		}
	}
}

// linkStore replaces a file of the store directory by a symbolic link to
// <tmp>/<name>, where the file is moved if move is true.
func linkStore(name string, move bool) func(s *sandbox) {
	return func(s *sandbox) {
		path, target := filepath.Join(s.storeDir(), name), filepath.Join(s.tmp, name)
		if move {
			if err := os.Rename(path, target); err != nil {
				s.t.Fatal(err)
			}
		} else {
			os.Remove(path)
		}
		if err := os.Symlink(target, path); err != nil {
			s.t.Fatal(err)
		}
	}
}

// passphraseStoreWith is passphraseStore with more options (YAML lines
// under options:) in the configuration.
func passphraseStoreWith(options string) func(s *sandbox) {
	return func(s *sandbox) {
		passphraseStore(s)
		cfgFile("projects:\n  pp:\n    backend: file\n    options:\n      dir: " + filepath.Join(s.root, "pp") + "\n      passphrase: true\n" + options)(s)
	}
}

// hardeningRows are the bad inputs of issue 13 (hardening).
func hardeningRows() []badInput {
	return []badInput{
		{category: "Configuration files", input: "empty configuration file (`~/.dstack/secrets.yml`)", setup: homeConfig(""), args: []string{"add", "A", "v"}, code: 1, want: "defines no projects"},
		{category: "Configuration files", input: "configuration file cut short to `default_project:`", setup: homeConfig("default_project:\n"), args: []string{"add", "A", "v"}, code: 1, want: "defines no projects"},
		{category: "Configuration files", input: "configuration file writable by others (0666)", setup: func(s *sandbox) {
			cfgFile("projects:\n  a:\n    backend: file\n")(s)
			os.Chmod(filepath.Join(s.root, "secrets.yml"), 0o666)
		}, args: withConfig("list"), code: 1, want: "chmod go-w"},
		{category: "Configuration files", input: "configuration file in a directory writable by others (0777, no sticky bit)", setup: func(s *sandbox) {
			cfgFile("projects:\n  a:\n    backend: file\n")(s)
			os.Chmod(s.root, 0o777)
		}, args: withConfig("list"), code: 1, want: "chmod go-w"},
		{category: "Configuration files", input: "`allow_unsafe_names` with a name that is not unsafe", setup: cfgFile("projects:\n  a:\n    backend: file\n    allow_unsafe_names: [API_TOKEN]\n"), args: withConfig("list"), code: 1, want: "not an unsafe name"},
		{category: "Store files", input: "store directory writable by others (0777)", setup: chmodStore("", 0o777), args: []string{"list"}, code: 1, want: "chmod go-w"},
		{category: "Store files", input: "store directory writable by others with the sticky bit (1777, as /tmp)", setup: chmodStore("", os.ModeSticky|0o777), args: []string{"add", "A", "v"}, code: 1, want: "chmod go-w"},
		{category: "Store files", input: "store file writable by others (0646)", setup: chmodStore("default.age", 0o646), args: []string{"get", "EXISTING"}, code: 1, want: "store file"},
		{category: "Store files", input: "lock file writable by others (0666)", setup: chmodStore("default.lock", 0o666), args: []string{"add", "A", "v"}, code: 1, want: "lock file"},
		{category: "Store files", input: "store file is a symbolic link", setup: linkStore("default.age", true), args: []string{"list"}, code: 1, want: "symbolic link"},
		{category: "Store files", input: "lock file is a symbolic link to a missing file (elsewhere)", setup: linkStore("default.lock", false), args: []string{"add", "A", "v"}, code: 1, want: "symbolic link"},
		{category: "Key files", input: "key file is a symbolic link", setup: linkStore("default.key", true), args: []string{"get", "EXISTING"}, code: 1, want: "symbolic link"},
		{category: "Configuration files", input: "`scrypt_work_factor: 12` without `allow_weak_scrypt`", setup: cfgFile("projects:\n  a:\n    backend: file\n    options:\n      passphrase: true\n      scrypt_work_factor: 12\n"), args: withConfig("list"), code: 1, want: "allow_weak_scrypt: true"},
		{category: "Configuration files", input: "`passphrase_command` without `passphrase: true`", setup: cfgFile("projects:\n  a:\n    backend: file\n    options:\n      passphrase_command: [pass, show, dstack]\n"), args: withConfig("list"), code: 1, want: "passphrase: true"},
		{category: "Configuration files", input: "`passphrase_fd: 1` (standard output)", setup: cfgFile("projects:\n  a:\n    backend: file\n    options:\n      passphrase: true\n      passphrase_fd: 1\n"), args: withConfig("list"), code: 1, want: "passphrase_fd 1"},
		{category: "Store files", input: "passphrase store, `passphrase_command` that fails (its output is not shown)", setup: passphraseStoreWith("      passphrase_command: [false]\n"), args: withConfig("list"), code: 1, want: "failed (exit status 1)"},
		{category: "Store files", input: "passphrase store, `passphrase_command` not found", setup: passphraseStoreWith("      passphrase_command: [/nonexistent/pass-helper]\n"), args: withConfig("list"), code: 1, want: "not found"},
		{category: "Store files", input: "passphrase store, `DSTACK_SECRETS_PASSPHRASE_FD` names a descriptor that is not open", setup: passphraseStore, env: map[string]string{"DSTACK_SECRETS_PASSPHRASE_FD": "99"}, args: withConfig("list"), code: 1, want: "not open"},
		{category: "Store files", input: "passphrase store, `DSTACK_SECRETS_PASSPHRASE_FD` that is not a number", setup: passphraseStore, env: map[string]string{"DSTACK_SECRETS_PASSPHRASE_FD": "three"}, args: withConfig("list"), code: 1, want: "DSTACK_SECRETS_PASSPHRASE_FD=three"},
		{category: "Values", input: "`--from-file` names a missing file", args: []string{"add", "--from-file", "/nonexistent/key.json", "A"}, code: 1, want: "/nonexistent/key.json"},
		{category: "Values", input: "`--from-file` of an empty file", setup: func(s *sandbox) { writeFile(s.t, filepath.Join(s.repo, "empty.txt"), "\n", 0o600) }, args: []string{"add", "--from-file", "empty.txt", "A"}, code: 1, want: "empty"},
		{category: "Values", input: "`--from-file` and VALUE both given", args: []string{"add", "--from-file", "/etc/hostname", "A", "v"}, code: 2, want: "not both"},
		{category: "Limits", input: "import of 10,001 secrets (the limit is 10,000 per repository)", stdin: manyLines(10001), args: []string{"import", "-"}, code: 1, want: "10000 secrets per repository"},
		{category: "Limits", input: "import of 300 values of 64 KiB (over 16 MiB)", stdin: manyBigLines(300), args: []string{"import", "-"}, code: 1, want: "16.0 MiB"},
		{category: "Names that take over a process", input: "`BASH_ENV` (a script every bash runs)", args: []string{"add", "-y", "BASH_ENV", "/tmp/evil"}, code: 1, want: "allow_unsafe_names"},
		{category: "Names that take over a process", input: "`ld_preload` (any letter case)", args: []string{"add", "ld_preload", "/tmp/evil.so"}, code: 1, want: "ld_preload"},
		{category: "Names that take over a process", input: "`NODE_OPTIONS` in an imported file", stdin: "A=1\nNODE_OPTIONS=--require=/tmp/x.js\n", args: []string{"import", "-"}, code: 1, want: "NODE_OPTIONS"},
		{category: "Names that take over a process", input: "copy of `PATH` to a project that does not allow it", setup: func(s *sandbox) {
			foreignSecret("PATH", "/tmp/evil/bin")(s)
			cfgFile("default_project: default\nprojects:\n  default:\n    backend: file\n    allow_unsafe_names: [PATH]\n  other:\n    backend: file\n    options:\n      dir: /tmp/dstack-secrets-reliability-never-created\n")(s)
		}, args: withConfig("copy", "--to-project", "other", "PATH"), code: 1, want: "PATH"},
		{category: "Names that take over a process", input: "`run` with a `PATH` secret written by another tool", setup: foreignSecret("PATH", "/tmp/evil/bin"), args: []string{"run", "--", "true"}, code: 1, want: "was not started"},
		{category: "Names that take over a process", input: "`run` with `GIT_SSH_COMMAND` and `LD_PRELOAD` written by another tool", setup: func(s *sandbox) {
			foreignSecret("GIT_SSH_COMMAND", "evil")(s)
			foreignSecret("LD_PRELOAD", "/tmp/evil.so")(s)
		}, args: []string{"run", "--", "true"}, code: 1, want: "GIT_SSH_COMMAND, LD_PRELOAD"},
	}
}

// manyLinesWith is a dotenv file of n secrets holding value.
func manyLinesWith(n int, value string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "S%05d=%s\n", i, value)
	}
	return b.String()
}
