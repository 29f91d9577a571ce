package reliability

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// badInput is one bad input given to the CLI: a row of docs/bad-input.md.
type badInput struct {
	category string
	input    string            // what is wrong, for the doc
	setup    func(s *sandbox)  // prepares files (optional)
	env      map[string]string // extra environment
	stdin    string
	args     []string
	code     int    // expected exit code
	want     string // a part of the expected message
	outside  bool   // run outside any git repository
}

const badInputDoc = "../docs/bad-input.md"

func cfgFile(content string) func(s *sandbox) {
	return func(s *sandbox) { writeFile(s.t, filepath.Join(s.root, "secrets.yml"), content, 0o600) }
}

// addSecret stores one more secret before the row runs.
func addSecret(name, value string) func(s *sandbox) {
	return func(s *sandbox) {
		if err := s.store().Set(context.Background(), name, value); err != nil {
			s.t.Fatal(err)
		}
	}
}

// withConfig runs args with --config <root>/secrets.yml.
func withConfig(args ...string) []string {
	return append([]string{"--config", "CONFIG"}, args...)
}

func storeContent(content func(s *sandbox) []byte) func(s *sandbox) {
	return func(s *sandbox) { writeFile(s.t, s.storePath(), string(content(s)), 0o600) }
}

// otherKeyStore returns a store file holding one secret, encrypted to a
// key other than the sandbox's.
func otherKeyStore(s *sandbox) []byte {
	dir := filepath.Join(s.root, "other")
	st, err := file.Open(context.Background(), secrets.Scope{Project: "default", Repository: repoID}, file.Options{Dir: dir})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := st.Set(context.Background(), "X", "v"); err != nil {
		s.t.Fatal(err)
	}
	data, _ := os.ReadFile(secrets.Unwrap(st).(*file.Store).Path())
	return data
}

// passphraseStore writes a passphrase-mode store for project pp in <root>/pp
// and a config naming it.
func passphraseStore(s *sandbox) {
	dir := filepath.Join(s.root, "pp")
	st, err := file.Open(context.Background(), secrets.Scope{Project: "pp", Repository: repoID}, file.Options{Dir: dir, Passphrase: true, ScryptWorkFactor: 10, AllowWeakScrypt: true,
		PassphraseFunc: func(context.Context, bool) (string, error) { return "right passphrase", nil }})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := st.Set(context.Background(), "X", "v"); err != nil {
		s.t.Fatal(err)
	}
	cfgFile("projects:\n  pp:\n    backend: file\n    options:\n      dir: " + dir + "\n      passphrase: true\n")(s)
}

func badInputs() []badInput {
	long := strings.Repeat("A", 201)
	rows := []badInput{
		{category: "Names", input: "empty name", args: []string{"add", "", "v"}, code: 1, want: "empty"},
		{category: "Names", input: "starts with a digit", args: []string{"add", "1TOKEN", "v"}, code: 1, want: "digit"},
		{category: "Names", input: "has a dash", args: []string{"add", "MY-TOKEN", "v"}, code: 1, want: "'-'"},
		{category: "Names", input: "has a space", args: []string{"add", "MY TOKEN", "v"}, code: 1, want: "' '"},
		{category: "Names", input: "has `=`", args: []string{"add", "TOKEN=x", "v"}, code: 1, want: "'='"},
		{category: "Names", input: "non-ASCII letter", args: []string{"add", "ÄPFEL", "v"}, code: 1, want: "'Ä'"},
		{category: "Names", input: "201 characters", args: []string{"add", long, "v"}, code: 1, want: "201"},
		{category: "Names", input: "bad name to delete", args: []string{"delete", "-y", "a.b"}, code: 1, want: "'.'"},
		{category: "Values", input: "empty value argument", args: []string{"add", "A", ""}, code: 1, want: "empty"},
		{category: "Values", input: "empty standard input", args: []string{"add", "A"}, code: 1, want: "empty"},
		{category: "Values", input: "standard input of only a newline", stdin: "\n", args: []string{"add", "A"}, code: 1, want: "empty"},
		{category: "Values", input: "NUL byte (standard input)", stdin: "ab\x00cd", args: []string{"add", "A"}, code: 1, want: "NUL"},
		{category: "Values", input: "64 KiB + 1 byte (standard input)", stdin: strings.Repeat("x", 64*1024+1), args: []string{"add", "A"}, code: 1, want: "65537"},
		{category: "Values", input: "invalid UTF-8 (standard input)", stdin: "ab\xffcd", args: []string{"add", "A"}, code: 1, want: "UTF-8"},
		{category: "Values", input: "value starting with `-` without `--`", args: []string{"add", "A", "-secret"}, code: 2, want: "'--'"},
		{category: "Flags and arguments", input: "no command", args: []string{}, code: 2, want: "no command"},
		{category: "Flags and arguments", input: "unknown command", args: []string{"frobnicate"}, code: 2, want: "unknown command"},
		{category: "Flags and arguments", input: "unknown flag", args: []string{"add", "--force", "A", "v"}, code: 2, want: "unknown flag"},
		{category: "Flags and arguments", input: "unknown global flag", args: []string{"--verbose", "list"}, code: 2, want: "unknown flag"},
		{category: "Flags and arguments", input: "`-y` given a value", args: []string{"add", "-y=maybe", "A", "v"}, code: 2, want: "yes/no"},
		{category: "Flags and arguments", input: "`add` without NAME", args: []string{"add"}, code: 2, want: "missing"},
		{category: "Flags and arguments", input: "`add` with three arguments", args: []string{"add", "A", "v", "extra"}, code: 2, want: "too many"},
		{category: "Flags and arguments", input: "`delete` without NAME", args: []string{"delete"}, code: 2, want: "missing"},
		{category: "Flags and arguments", input: "`list` with an argument", args: []string{"list", "extra"}, code: 2, want: "too many"},
		{category: "Flags and arguments", input: "`--project` without a value", args: []string{"list", "--project"}, code: 2, want: "flag --project needs a value"},
		{category: "Flags and arguments", input: "`--project` not a valid project name", args: []string{"list", "--project", "a/b"}, code: 1, want: "project"},
		{category: "Flags and arguments", input: "`--project` unknown (no config file)", args: []string{"list", "--project", "nope"}, code: 1, want: "nope"},
		{category: "Flags and arguments", input: "overwrite without `-y`, no terminal", args: []string{"add", "EXISTING", "v"}, code: 1, want: "-y"},
		{category: "Flags and arguments", input: "delete without `-y`, no terminal", args: []string{"delete", "EXISTING"}, code: 1, want: "-y"},
		{category: "Flags and arguments", input: "delete a missing secret", args: []string{"delete", "-y", "MISSING"}, code: 1, want: "MISSING"},
		{category: "Dotenv files (import)", input: "unclosed double quote", stdin: "A=\"abc\n", args: []string{"import", "-"}, code: 1, want: "line 1"},
		{category: "Dotenv files (import)", input: "unclosed single quote", stdin: "A='abc\n", args: []string{"import", "-"}, code: 1, want: "line 1"},
		{category: "Dotenv files (import)", input: "name starts with a digit", stdin: "1A=x\n", args: []string{"import", "-"}, code: 1, want: "line 1"},
		{category: "Dotenv files (import)", input: "name with a dash", stdin: "MY-TOKEN=x\n", args: []string{"import", "-"}, code: 1, want: "line 1"},
		{category: "Dotenv files (import)", input: "line without `=`", stdin: "JUSTTEXT\n", args: []string{"import", "-"}, code: 1, want: "'='"},
		{category: "Dotenv files (import)", input: "empty value", stdin: "A=\n", args: []string{"import", "-"}, code: 1, want: "empty"},
		{category: "Dotenv files (import)", input: "name given twice", stdin: "A=1\nA=2\n", args: []string{"import", "-"}, code: 1, want: "line 2"},
		{category: "Dotenv files (import)", input: "NUL byte in a value", stdin: "A=a\x00b\n", args: []string{"import", "-"}, code: 1, want: "line 1"},
		{category: "Dotenv files (import)", input: "invalid UTF-8", stdin: "A=\xff\n", args: []string{"import", "-"}, code: 1, want: "UTF-8"},
		{category: "Dotenv files (import)", input: "value over 64 KiB", stdin: "A=" + strings.Repeat("x", 64*1024+1) + "\n", args: []string{"import", "-"}, code: 1, want: "line 1"},
		{category: "Dotenv files (import)", input: "bad line after good ones (all or nothing)", stdin: "A=1\nB=2\nC=\"3\n", args: []string{"import", "-"}, code: 1, want: "nothing was imported"},
		{category: "Dotenv files (import)", input: "existing name without `-y`", stdin: "EXISTING=new\n", args: []string{"import", "-"}, code: 1, want: "-y"},
		{category: "Dotenv files (import)", input: "missing file", args: []string{"import", "/nonexistent/.env"}, code: 1, want: "/nonexistent/.env"},
		{category: "Dotenv files (import)", input: "a directory", args: []string{"import", "/"}, code: 1, want: "/"},
		{category: "Dotenv files (import)", input: "`import` without FILE", args: []string{"import"}, code: 2, want: "missing"},
		{category: "Dotenv files (import)", input: "byte order mark at the start", stdin: "\ufeffA=1\n", args: []string{"import", "-"}, code: 1, want: "byte order mark"},
		{category: "Dotenv files (import)", input: "`${A}` that peers expand", stdin: "A=1\nB=${A}\n", args: []string{"import", "-"}, code: 1, want: "--literal"},
		{category: "Dotenv files (import)", input: "`$HOME` in double quotes (godotenv expands it)", stdin: "B=\"$HOME\"\n", args: []string{"import", "-"}, code: 1, want: "single quotes"},
		{category: "Dotenv files (import)", input: "`\\$` in an unquoted value", stdin: "B=x\\$y\n", args: []string{"import", "-"}, code: 1, want: "single quotes"},
		{category: "Dotenv files (import)", input: "`\\\"` in double quotes", stdin: "B=\"a\\\"b\"\n", args: []string{"import", "-"}, code: 1, want: "single quotes"},
		{category: "Dotenv files (import)", input: "`\\t` escape in double quotes", stdin: "B=\"a\\tb\"\n", args: []string{"import", "-"}, code: 1, want: "unknown escape"},
		{category: "Dotenv files (import)", input: "single-quoted value ending in a backslash", stdin: "B='x\\'\n", args: []string{"import", "-"}, code: 1, want: "line 1"},
		{category: "Dotenv files (import)", input: "comment right after `=` (`A= #c`)", stdin: "A= #c\n", args: []string{"import", "-"}, code: 1, want: "'#'"},
		{category: "Dotenv files (import)", input: "`#` inside an unquoted value", stdin: "A=a#b\n", args: []string{"import", "-"}, code: 1, want: "'#'"},
		{category: "Dotenv files (import)", input: "non-breaking space around an unquoted value", stdin: "A=\u00a0x\n", args: []string{"import", "-"}, code: 1, want: "white space"},
		{category: "Dotenv files (import)", input: "lone CR inside a quoted value", stdin: "A=\"x\ry\"\n", args: []string{"import", "-"}, code: 1, want: "carriage return"},
		{category: "Dotenv files (import)", input: "`--literal` with a JSON file", stdin: `{"A": "x"}`, args: []string{"import", "--literal", "-"}, code: 2, want: "dotenv files only"},
		{category: "Other import formats", input: "JSON value that is a number", stdin: `{"A": 1}`, args: []string{"import", "-"}, code: 1, want: "not a string"},
		{category: "Other import formats", input: "JSON key given twice", stdin: `{"A": "1", "A": "2"}`, args: []string{"import", "-"}, code: 1, want: "more than once"},
		{category: "Other import formats", input: "YAML value `yes` (a boolean to YAML 1.1)", stdin: "A: yes\n", args: []string{"import", "--format", "yaml", "-"}, code: 1, want: "quote it"},
		{category: "Other import formats", input: "broken JSON", stdin: `{"A": "x"`, args: []string{"import", "-"}, code: 1, want: "JSON"},
		{category: "Other import formats", input: "format that cannot be imported", stdin: "A=1\n", args: []string{"import", "--format", "github", "-"}, code: 1, want: "cannot be imported"},
		{category: "Export and render", input: "dotenv export of a value with `${...}`", setup: addSecret("TEMPLATE", "${HOME}/x"), args: []string{"export"}, code: 1, want: "dotenv-node"},
		{category: "Export and render", input: "docker export of a multi-line value", setup: addSecret("PEM", "a\nb"), args: []string{"export", "--format", "docker"}, code: 1, want: "line break"},
		{category: "Export and render", input: "k8s export with an invalid Secret name", args: []string{"export", "--format", "k8s", "--name", "My_Secret"}, code: 1, want: "Kubernetes name"},
		{category: "Export and render", input: "render of an unknown secret", stdin: "${{ secrets.NOPE }}", args: []string{"render", "-"}, code: 1, want: "NOPE"},
		{category: "Export and render", input: "render of a malformed reference", stdin: "${{ secrets.1X }}", args: []string{"render", "-"}, code: 1, want: "column"},
		{category: "Export and render", input: "render of an unclosed reference", stdin: "${{ secrets.A", args: []string{"render", "-"}, code: 1, want: "not closed"},
		{category: "Flags and arguments", input: "`export` with an unknown format", args: []string{"export", "--format", "xml"}, code: 2, want: "xml"},
		{category: "Flags and arguments", input: "`get` a missing secret", args: []string{"get", "MISSING"}, code: 1, want: "MISSING"},
		{category: "Flags and arguments", input: "`get` without NAME", args: []string{"get"}, code: 2, want: "missing"},
		{category: "Flags and arguments", input: "`run` without a command", args: []string{"run"}, code: 2, want: "missing"},
		{category: "Flags and arguments", input: "`run` a program that does not exist", args: []string{"run", "--", "/nonexistent/prog"}, code: 127, want: "not found"},
		{category: "Flags and arguments", input: "`copy` without `--to-project`", args: []string{"copy"}, code: 2, want: "to-project"},
		{category: "Flags and arguments", input: "`copy` to an unknown project", args: []string{"copy", "--to-project", "nope"}, code: 1, want: "nope"},
		{category: "Flags and arguments", input: "`copy` to the same project", args: []string{"copy", "--to-project", "default"}, code: 2, want: "default"},
		{category: "Flags and arguments", input: "`copy` a missing secret", setup: cfgFile("default_project: default\nprojects:\n  default:\n    backend: file\n  other:\n    backend: file\n    options:\n      dir: /tmp/dstack-secrets-reliability-never-created\n"), args: withConfig("copy", "--to-project", "other", "MISSING"), code: 1, want: "MISSING"},
		{category: "Configuration files", input: "keyring: unknown keychain", setup: cfgFile("projects:\n  a:\n    backend: keyring\n    options:\n      keychains: [gnome]\n"), args: withConfig("list"), code: 1, want: "gnome"},
		{category: "Configuration files", input: "keyring: timeout that is not a duration", setup: cfgFile("projects:\n  a:\n    backend: keyring\n    options:\n      timeout: soon\n"), args: withConfig("list"), code: 1, want: "timeout"},
		{category: "Configuration files", input: "vault: unknown option key", setup: cfgFile("projects:\n  a:\n    backend: vault\n    options:\n      adress: http://127.0.0.1:1\n"), args: withConfig("list"), code: 1, want: "adress"},
		{category: "Configuration files", input: "vault: `token` in the file (not allowed)", setup: cfgFile("projects:\n  a:\n    backend: vault\n    options:\n      token: abc\n"), args: withConfig("list"), code: 1, want: "token"},
		{category: "Configuration files", input: "vault: `kv_version: 3`", setup: cfgFile("projects:\n  a:\n    backend: vault\n    options:\n      address: http://127.0.0.1:1\n      kv_version: 3\n"), env: map[string]string{"VAULT_TOKEN": "t"}, args: withConfig("list"), code: 1, want: "kv_version"},
		{category: "Configuration files", input: "vault: no token anywhere", setup: cfgFile("projects:\n  a:\n    backend: vault\n    options:\n      address: http://127.0.0.1:1\n"), args: withConfig("list"), code: 1, want: "VAULT_TOKEN"},
		{category: "Configuration files", input: "vault: nothing listening at the address", setup: cfgFile("projects:\n  a:\n    backend: vault\n    options:\n      address: http://127.0.0.1:1\n      kv_version: 2\n"), env: map[string]string{"VAULT_TOKEN": "t"}, args: withConfig("--timeout", "1s", "list"), code: 1, want: "127.0.0.1:1"},
		{category: "Configuration files", input: "vault: address that is not a URL", setup: cfgFile("projects:\n  a:\n    backend: vault\n    options:\n      address: \"::\"\n"), env: map[string]string{"VAULT_TOKEN": "t"}, args: withConfig("list"), code: 1, want: "::"},
		{category: "Configuration files", input: "`--config` names a missing file", args: []string{"--config", "/nonexistent/secrets.yml", "list"}, code: 1, want: "does not exist"},
		{category: "Configuration files", input: "`DSTACK_SECRETS_CONFIG` names a missing file", env: map[string]string{"DSTACK_SECRETS_CONFIG": "/nonexistent/secrets.yml"}, args: []string{"list"}, code: 1, want: "DSTACK_SECRETS_CONFIG"},
		{category: "Configuration files", input: "not YAML", setup: cfgFile("projects: [unclosed\n"), args: withConfig("list"), code: 1, want: "secrets.yml"},
		{category: "Configuration files", input: "unknown top-level key", setup: cfgFile("default_projct: a\nprojects:\n  a:\n    backend: file\n"), args: withConfig("list"), code: 1, want: "default_projct"},
		{category: "Configuration files", input: "unknown project key", setup: cfgFile("projects:\n  a:\n    backnd: file\n"), args: withConfig("list"), code: 1, want: "backnd"},
		{category: "Configuration files", input: "project without a backend", setup: cfgFile("projects:\n  a:\n    options: {}\n"), args: withConfig("list"), code: 1, want: "backend"},
		{category: "Configuration files", input: "unknown backend", setup: cfgFile("projects:\n  a:\n    backend: filez\n"), args: withConfig("list"), code: 1, want: "filez"},
		{category: "Configuration files", input: "unknown option key", setup: cfgFile("projects:\n  a:\n    backend: file\n    options:\n      dirr: /tmp\n"), args: withConfig("list"), code: 1, want: "dirr"},
		{category: "Configuration files", input: "option of the wrong type", setup: cfgFile("projects:\n  a:\n    backend: file\n    options:\n      passphrase: maybe\n"), args: withConfig("list"), code: 1, want: "passphrase"},
		{category: "Configuration files", input: "`scrypt_work_factor` out of range", setup: cfgFile("projects:\n  a:\n    backend: file\n    options:\n      scrypt_work_factor: 5\n"), args: withConfig("list"), code: 1, want: "scrypt_work_factor"},
		{category: "Configuration files", input: "`default_project` names a missing project", setup: cfgFile("default_project: b\nprojects:\n  a:\n    backend: file\n"), args: withConfig("list"), code: 1, want: "b"},
		{category: "Configuration files", input: "invalid project name", setup: cfgFile("projects:\n  a/b:\n    backend: file\n"), args: withConfig("list"), code: 1, want: "a/b"},
		{category: "Configuration files", input: "`--project` not in the file", setup: cfgFile("projects:\n  a:\n    backend: file\n"), args: withConfig("list", "--project", "c"), code: 1, want: "c"},
		{category: "Store files", input: "empty store file", setup: storeContent(func(*sandbox) []byte { return nil }), args: []string{"list"}, code: 1, want: "not an age-encrypted file"},
		{category: "Store files", input: "a text file", setup: storeContent(func(*sandbox) []byte { return []byte("TOKEN=abc\n") }), args: []string{"add", "A", "v"}, code: 1, want: "not an age-encrypted file"},
		{category: "Store files", input: "truncated store", setup: storeContent(func(s *sandbox) []byte { d, _ := os.ReadFile(s.storePath()); return d[:len(d)-20] }), args: []string{"add", "A", "v"}, code: 1, want: "damaged or truncated"},
		{category: "Store files", input: "age header only", setup: storeContent(func(s *sandbox) []byte {
			d, _ := os.ReadFile(s.storePath())
			return d[:bytes.Index(d, []byte("\n--- "))+1]
		}), args: []string{"list"}, code: 1, want: "damaged or truncated"},
		{category: "Store files", input: "one flipped byte in the payload", setup: storeContent(func(s *sandbox) []byte { d, _ := os.ReadFile(s.storePath()); d[len(d)-5] ^= 1; return d }), args: []string{"list"}, code: 1, want: "damaged or truncated"},
		{category: "Store files", input: "encrypted to another key", setup: storeContent(otherKeyStore), args: []string{"list"}, code: 1, want: "does not decrypt"},
		{category: "Store files", input: "store is a directory", setup: func(s *sandbox) { os.Remove(s.storePath()); os.Mkdir(s.storePath(), 0o700) }, args: []string{"list"}, code: 1, want: "default.age"},
		{category: "Store files", input: "passphrase store, no passphrase, no terminal", setup: passphraseStore, args: withConfig("list"), code: 1, want: "DSTACK_SECRETS_PASSPHRASE"},
		{category: "Store files", input: "passphrase store, wrong passphrase", setup: passphraseStore, env: map[string]string{"DSTACK_SECRETS_PASSPHRASE": "wrong"}, args: withConfig("list"), code: 1, want: "wrong passphrase"},
		{category: "Store files", input: "passphrase store opened without `passphrase: true`", setup: func(s *sandbox) {
			passphraseStore(s)
			cfgFile("projects:\n  pp:\n    backend: file\n    options:\n      dir: " + filepath.Join(s.root, "pp") + "\n")(s)
		}, args: withConfig("list"), code: 1, want: "passphrase: true"},
		{category: "Store files", input: "key-file store opened with `passphrase: true`", setup: func(s *sandbox) {
			cfgFile("projects:\n  default:\n    backend: file\n    options:\n      passphrase: true\n")(s)
		}, env: map[string]string{"DSTACK_SECRETS_PASSPHRASE": "p"}, args: withConfig("list"), code: 1, want: "key file"},
		{category: "Key files", input: "key file readable by others (0644)", setup: func(s *sandbox) { os.Chmod(filepath.Join(s.storeDir(), "default.key"), 0o644) }, args: []string{"list"}, code: 1, want: "chmod 600"},
		{category: "Key files", input: "key file missing, store present", setup: func(s *sandbox) { os.Remove(filepath.Join(s.storeDir(), "default.key")) }, args: []string{"add", "A", "v"}, code: 1, want: "missing"},
		{category: "Key files", input: "key file is not an age identity", setup: func(s *sandbox) { writeFile(s.t, filepath.Join(s.storeDir(), "default.key"), "hello\n", 0o600) }, args: []string{"list"}, code: 1, want: "not an age identity"},
		{category: "Repositories", input: "outside a git repository", outside: true, args: []string{"list"}, code: 1, want: "--repo"},
		{category: "Repositories", input: "`--repo` that is not a URL or directory", args: []string{"list", "--repo", "::bad::"}, code: 1, want: "::bad::"},
		{category: "Repositories", input: "`--repo` with a host and no path", args: []string{"list", "--repo", "https://github.com/"}, code: 1, want: "no path"},
		{category: "Repositories", input: "origin remote URL without a host", setup: func(s *sandbox) {
			writeFile(s.t, filepath.Join(s.repo, ".git", "config"), "[remote \"origin\"]\n\turl = https:///org/repo\n", 0o644)
		}, args: []string{"list"}, code: 1, want: "origin"},
	}
	rows = append(rows, hardeningRows()...)
	return rows
}

// normalize replaces the sandbox's paths in a message.
func (s *sandbox) normalize(msg string) string {
	return strings.NewReplacer(s.home, "~", s.repo, "<repo>", filepath.Join(s.root, "secrets.yml"), "<config>", s.root, "<tmp>").Replace(msg)
}

// TestBadInput runs every bad input of the table: each must fail with the
// expected exit code and one clear line on stderr that starts with
// "dstack-secrets: ", leave the store byte-identical, and match the exact
// message recorded in docs/bad-input.md (-update rewrites the file).
func TestBadInput(t *testing.T) {
	rows := badInputs()
	type outcome struct {
		row badInput
		msg string
	}
	var outcomes []outcome
	for _, row := range rows {
		s := newSandbox(t)
		s.seed(0, nil)
		if err := s.store().Set(context.Background(), "EXISTING", "v"); err != nil {
			t.Fatal(err)
		}
		if row.setup != nil {
			row.setup(s)
		}
		s.env = row.env
		args := make([]string, len(row.args))
		for i, a := range row.args {
			if a == "CONFIG" {
				a = filepath.Join(s.root, "secrets.yml")
			}
			args[i] = a
		}
		before, _ := os.ReadFile(s.storePath())
		cmd := s.command(context.Background(), row.stdin, args...)
		if row.outside {
			cmd.Dir = s.tmp
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		_ = cmd.Run()
		code := cmd.ProcessState.ExitCode()
		msg := strings.TrimSuffix(errb.String(), "\n")
		switch {
		case code != row.code:
			t.Errorf("%s / %s: exit %d, want %d (%s)", row.category, row.input, code, row.code, msg)
		case !strings.HasPrefix(msg, "dstack-secrets: ") || strings.Contains(msg, "\n"):
			t.Errorf("%s / %s: want one line starting with \"dstack-secrets: \", got %q", row.category, row.input, msg)
		case !strings.Contains(msg, row.want):
			t.Errorf("%s / %s: message does not mention %q: %s", row.category, row.input, row.want, msg)
		case strings.Contains(msg, "panic") || out.Len() > 0:
			t.Errorf("%s / %s: panic or output on stdout: %s %s", row.category, row.input, msg, out.String())
		}
		if after, _ := os.ReadFile(s.storePath()); !bytes.Equal(before, after) {
			t.Errorf("%s / %s: the store changed", row.category, row.input)
		}
		outcomes = append(outcomes, outcome{row, s.normalize(msg)})
	}

	var doc strings.Builder
	doc.WriteString("# Bad input and the errors it gives\n\n")
	doc.WriteString("Every bad input that the reliability suite tries, with the exact message and exit code the CLI gives\n")
	doc.WriteString("(1: failure, 2: usage error, 127: the program given to `run` does not exist). Each row is a test\n(`TestBadInput` in ")
	doc.WriteString("[`reliability/badinput_test.go`](../reliability/badinput_test.go)), which also checks that the\n")
	doc.WriteString("store is byte-identical afterwards; this file is generated by it and the test fails when the two\n")
	doc.WriteString("differ: after changing a message run `go test ./reliability/ -run TestBadInput -update`.\n\n")
	doc.WriteString("Paths are shown as `~` (home), `<repo>` (the git repository), `<config>` (the `--config` file) and\n")
	doc.WriteString("`<tmp>` (elsewhere in the test's directory). The store already holds one secret, `EXISTING`.\n")
	doc.WriteString("The parsers are also fuzzed: store files (`FuzzDecodeStore`, `FuzzDecodePlaintext` in\n")
	doc.WriteString("`backends/file`), dotenv files (`internal/dotenv`), the configuration (`FuzzParseConfig`), names\n")
	doc.WriteString("(`FuzzValidateName`) and repository URLs (`FuzzNormalizeRepository`) in `secrets`; `scripts/fuzz` runs them.\n")
	var categories []string
	byCategory := map[string][]outcome{}
	for _, o := range outcomes {
		if byCategory[o.row.category] == nil {
			categories = append(categories, o.row.category)
		}
		byCategory[o.row.category] = append(byCategory[o.row.category], o)
	}
	for _, category := range categories {
		fmt.Fprintf(&doc, "\n## %s\n\n| input | command | exit | message (stderr) |\n|---|---|---:|---|\n", category)
		for _, o := range byCategory[category] {
			fmt.Fprintf(&doc, "| %s | %s | %d | %s |\n", strings.ReplaceAll(o.row.input, "|", "\\|"), cell(commandLine(o.row)), o.row.code, cell(o.msg))
		}
	}
	fmt.Fprintf(&doc, "\n%d bad inputs.\n", len(outcomes))
	got := doc.String()
	if *update {
		if err := os.WriteFile(badInputDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(badInputDoc)
	if err != nil || string(want) != got {
		t.Errorf("docs/bad-input.md is out of date (%v); run: go test ./reliability/ -run TestBadInput -update", err)
	}
	t.Logf("%d bad inputs tried", len(outcomes))
}

// commandLine shows a row's command for the doc.
func commandLine(row badInput) string {
	var parts []string
	for k, v := range row.env {
		parts = append(parts, k+"="+v)
	}
	parts = append(parts, "dstack-secrets")
	for _, a := range row.args {
		switch {
		case a == "CONFIG":
			a = "<config>"
		case len(a) > 40:
			a = a[:12] + fmt.Sprintf("...(%d bytes)", len(a))
		case a == "" || strings.ContainsAny(a, " =\"'"):
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	line := strings.Join(parts, " ")
	if row.stdin != "" {
		in := row.stdin
		if len(in) > 20 {
			in = fmt.Sprintf("%d bytes", len(in))
		} else {
			in = fmt.Sprintf("%q", in)
		}
		line += " < " + in
	}
	if row.outside {
		line = "(outside a repository) " + line
	}
	return line
}

// cell escapes text for a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	return "`" + strings.ReplaceAll(s, "`", "'") + "`"
}
