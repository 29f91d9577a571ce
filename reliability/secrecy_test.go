package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// newMarker returns a unique secret value to look for.
func newMarker(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "MARKER" + hex.EncodeToString(b)
}

// hasCommand reports whether the CLI has the named command.
func hasCommand(s *sandbox, name string) bool {
	return s.run("", name, "-h").code == 0
}

// TestSecrecy runs every command and failure path with a marker value and
// checks that the marker never appears on stderr (nor on stdout, except
// where printing the value is the command's job), in an error string, or in
// any file outside the encrypted store.
func TestSecrecy(t *testing.T) {
	s := newSandbox(t)
	m := newMarker(t)
	pass1, pass2 := newMarker(t), newMarker(t)
	cfgDir := filepath.Join(s.root, "cfg")
	cfg := func(name, content string) string {
		p := filepath.Join(cfgDir, name)
		writeFile(t, p, content, 0o600)
		return p
	}
	unknownKey := cfg("unknown-key.yml", "projects:\n  p:\n    backend: file\n    options:\n      token: "+m+"\n")
	unknownBackend := cfg("unknown-backend.yml", "projects:\n  p:\n    backend: nosuch\n    options:\n      token: "+m+"\n")
	badYAML := cfg("bad-yaml.yml", "projects:\n  p: {backend: file, options: {token: \""+m+"}\n")
	wrongType := cfg("wrong-type.yml", "projects:\n  p:\n    backend: file\n    options:\n      passphrase: "+m+"\n")
	passCfg := cfg("passphrase.yml", "projects:\n  pp:\n    backend: file\n    options:\n      dir: "+filepath.Join(s.root, "pp")+"\n      passphrase: true\n      scrypt_work_factor: 10\n      allow_weak_scrypt: true\n")

	type step struct {
		name   string
		stdin  string
		env    map[string]string
		dir    string // working directory; default the repository
		before func()
		args   []string
		// printsValue: stdout may hold the marker (get, run's child).
		printsValue bool
		// mustHide are credentials that must not appear even where values
		// may (the environment of run's child).
		mustHide []string
	}
	big := strings.Repeat("x", secrets.MaxValueSize) + m
	storeBackup := func() func() {
		data, err := os.ReadFile(s.storePath())
		if err != nil {
			t.Fatal(err)
		}
		return func() { writeFile(t, s.storePath(), string(data), 0o600) }
	}
	var restore func()
	steps := []step{
		{name: "add with value argument", args: []string{"add", "A", m}},
		{name: "add from stdin", stdin: m + "\n", args: []string{"add", "B"}},
		{name: "add existing without -y", args: []string{"add", "A", m}},
		{name: "add existing from stdin without -y", stdin: m, args: []string{"add", "A"}},
		{name: "add -y overwrite", args: []string{"add", "-y", "A", m}},
		{name: "add invalid name", args: []string{"add", "bad-name", m}},
		{name: "add name starting with digit", args: []string{"add", "1A", m}},
		{name: "add too many arguments", args: []string{"add", "C", m, m}},
		{name: "add value that looks like a flag", args: []string{"add", "C", "-" + m}},
		{name: "add value that looks like a long flag", args: []string{"add", "C", "--" + m + "=" + m}},
		{name: "add -y given a value", args: []string{"add", "--yes=" + m, "C", "v"}},
		{name: "add value after --", args: []string{"add", "D", "--", "-" + m}},
		{name: "add --from-file", args: []string{"add", "--from-file", cfg("value.txt", m+"\n"), "FROM_FILE"}},
		{name: "add --from-file of an existing name", args: []string{"add", "--from-file", cfg("value.txt", m+"\n"), "FROM_FILE"}},
		{name: "add --from-file with VALUE too", args: []string{"add", "--from-file", cfg("value.txt", m+"\n"), "FROM_FILE", m}},
		{name: "add --from-file too large", args: []string{"add", "--from-file", cfg("big.txt", big), "FROM_FILE"}},
		{name: "add --from-file invalid UTF-8", args: []string{"add", "--from-file", cfg("bad.txt", "\xff"+m), "FROM_FILE"}},
		{name: "add too large from stdin", stdin: big, args: []string{"add", "C"}},
		{name: "add NUL from stdin", stdin: m + "\x00" + m, args: []string{"add", "C"}},
		{name: "add invalid UTF-8 from stdin", stdin: "\xff" + m, args: []string{"add", "C"}},
		{name: "add unknown project", args: []string{"add", "--project", "nope", "C", m}},
		{name: "add with credentials in --repo URL", args: []string{"add", "--repo", "https://user:" + m + "@github.com/org/other", "C", m}},
		{name: "add with a malformed --repo URL holding credentials", args: []string{"add", "--repo", "https://user:" + m + "@bad host/x", "C", m}},
		{name: "config with an unknown option key", args: []string{"--config", unknownKey, "add", "C", m}},
		{name: "config with an unknown backend", args: []string{"--config", unknownBackend, "add", "C", m}},
		{name: "config that is not valid YAML", args: []string{"--config", badYAML, "add", "C", m}},
		{name: "config option of the wrong type", args: []string{"--config", wrongType, "add", "C", m}},
		{name: "passphrase project: create", env: map[string]string{"DSTACK_SECRETS_PASSPHRASE": pass1}, args: []string{"--config", passCfg, "add", "P", m}},
		{name: "passphrase project: wrong passphrase", env: map[string]string{"DSTACK_SECRETS_PASSPHRASE": pass2}, args: []string{"--config", passCfg, "add", "Q", m}},
		{name: "passphrase project: wrong passphrase list", env: map[string]string{"DSTACK_SECRETS_PASSPHRASE": pass2}, args: []string{"--config", passCfg, "list"}},
		{name: "passphrase project: no passphrase", args: []string{"--config", passCfg, "add", "Q", m}},
		{name: "corrupt store", before: func() {
			restore = storeBackup()
			writeFile(t, s.storePath(), "age-encryption.org/v1\n"+m+"\n", 0o600)
		}, args: []string{"add", "C", m}},
		{name: "corrupt store list", args: []string{"list"}},
		{name: "store that is not age", before: func() { writeFile(t, s.storePath(), m+"\n", 0o600) }, args: []string{"add", "-y", "A", m}},
		{name: "key file readable by others", before: func() {
			restore()
			os.Chmod(filepath.Join(s.storeDir(), "default.key"), 0o644)
		}, args: []string{"add", "-y", "A", m}},
		{name: "list", before: func() { os.Chmod(filepath.Join(s.storeDir(), "default.key"), 0o600) }, args: []string{"list"}},
		{name: "list --json", args: []string{"list", "--json"}},
		{name: "outside a repository", dir: s.tmp, args: []string{"add", "C", m}},
		{name: "unknown flag before the command", args: []string{"--" + m, "list"}},
	}
	vaultCfg := cfg("vault.yml", "projects:\n  v:\n    backend: vault\n    options:\n      address: http://127.0.0.1:1\n      kv_version: 2\n")
	keyringCfg := cfg("keyring.yml", "projects:\n  k:\n    backend: keyring\n    options:\n      keychains: [file]\n      file_dir: "+filepath.Join(s.root, "kr")+"\n")
	vaultCredsCfg := cfg("vault-creds.yml", "projects:\n  v:\n    backend: vault\n    options:\n      address: http://user:"+pass2+"@127.0.0.1:1\n      kv_version: 2\n")
	vaultBadCredsCfg := cfg("vault-bad-creds.yml", "projects:\n  v:\n    backend: vault\n    options:\n      address: \"http://user:"+pass2+"@127.0.0.1:bad\"\n      kv_version: 2\n")
	steps = append(steps,
		step{name: "vault: token of a server that is down", env: map[string]string{"VAULT_TOKEN": pass1}, args: []string{"--config", vaultCfg, "add", "C", m}},
		step{name: "vault: credentials in the address of a server that is down", env: map[string]string{"VAULT_TOKEN": pass1}, args: []string{"--config", vaultCredsCfg, "add", "C", m}},
		step{name: "vault: credentials in an address with a bad port", env: map[string]string{"VAULT_TOKEN": pass1}, args: []string{"--config", vaultBadCredsCfg, "list"}},
		step{name: "vault: credentials in the proxy URL", env: map[string]string{"VAULT_TOKEN": pass1, "VAULT_PROXY_ADDR": "http://proxy:" + pass2 + "@127.0.0.1:1"}, args: []string{"--config", vaultCfg, "list"}},
		step{name: "vault: credentials in a proxy URL that does not parse", env: map[string]string{"VAULT_TOKEN": pass1, "VAULT_PROXY_ADDR": "http://proxy:" + pass2 + "@127.0.0.1:bad"}, args: []string{"--config", vaultCfg, "list"}},
		step{name: "keyring file: create", env: map[string]string{"DSTACK_SECRETS_KEYRING_PASSWORD": pass1}, args: []string{"--config", keyringCfg, "add", "K", m}},
		step{name: "keyring file: wrong password", env: map[string]string{"DSTACK_SECRETS_KEYRING_PASSWORD": pass2}, args: []string{"--config", keyringCfg, "get", "K"}},
		step{name: "keyring file: no password", args: []string{"--config", keyringCfg, "list"}},
		step{name: "keyring file: run env with the password in the environment", env: map[string]string{"DSTACK_SECRETS_KEYRING_PASSWORD": pass1}, args: []string{"--config", keyringCfg, "run", "--no-mask", "--", "/usr/bin/env"}, printsValue: true, mustHide: []string{pass1}},
		step{name: "passphrase project: run env with the passphrase in the environment", env: map[string]string{"DSTACK_SECRETS_PASSPHRASE": pass1}, args: []string{"--config", passCfg, "run", "--no-mask", "--", "/usr/bin/env"}, printsValue: true, mustHide: []string{pass1}},
	)
	if addr, token := os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN"); addr != "" && token != "" {
		liveCfgText := "projects:\n  v:\n    backend: vault\n    options:\n      address: " + addr + "\n      prefix: secrecy-" + m + "\n"
		liveCfg := cfg("vault-live.yml", liveCfgText)
		steps = append(steps,
			step{name: "vault: invalid token", env: map[string]string{"VAULT_TOKEN": pass1}, args: []string{"--config", liveCfg, "add", "C", m}},
			step{name: "vault: invalid token, credentials in the address", env: map[string]string{"VAULT_TOKEN": pass1}, args: []string{"--config", cfg("vault-live-creds.yml", strings.Replace(liveCfgText, "://", "://user:"+pass2+"@", 1)), "add", "C", m}},
			step{name: "vault: missing secret, credentials in the address", env: map[string]string{"VAULT_TOKEN": token}, args: []string{"--config", cfg("vault-live-creds2.yml", strings.Replace(strings.Replace(liveCfgText, "://", "://user:"+pass2+"@", 1), "prefix: secrecy-"+m, "prefix: secrecy-creds", 1)), "get", "NOPE"}},
			step{name: "vault: add", env: map[string]string{"VAULT_TOKEN": token}, args: []string{"--config", liveCfg, "add", "C", m}},
			step{name: "vault: add existing", env: map[string]string{"VAULT_TOKEN": token}, args: []string{"--config", liveCfg, "add", "C", m}},
			step{name: "vault: get", env: map[string]string{"VAULT_TOKEN": token}, args: []string{"--config", liveCfg, "get", "C"}, printsValue: true},
			step{name: "vault: run", env: map[string]string{"VAULT_TOKEN": token}, args: []string{"--config", liveCfg, "run", "--", "/bin/false"}},
			step{name: "vault: run env with the token in the environment", env: map[string]string{"VAULT_TOKEN": token}, args: []string{"--config", liveCfg, "run", "--no-mask", "--", "/usr/bin/env"}, printsValue: true, mustHide: []string{token}},
		)
	}
	steps = append(steps,
		step{name: "import a valid file", stdin: "IMP=" + m + "\n", args: []string{"import", "-"}},
		step{name: "import: invalid name", stdin: "1A=" + m + "\n", args: []string{"import", "-"}},
		step{name: "import: unclosed quote", stdin: "A=\"" + m + "\n", args: []string{"import", "-"}},
		step{name: "import: unclosed single quote", stdin: "A='" + m + "\n", args: []string{"import", "-"}},
		step{name: "import: NUL", stdin: "A=" + m + "\x00\n", args: []string{"import", "-"}},
		step{name: "import: invalid UTF-8", stdin: "A=\xff" + m + "\n", args: []string{"import", "-"}},
		step{name: "import: no equals sign", stdin: m + "\n", args: []string{"import", "-"}},
		step{name: "import: value too large", stdin: "A=" + big + "\n", args: []string{"import", "-"}},
		step{name: "import: duplicate", stdin: "Z=" + m + "\nZ=" + m + "\n", args: []string{"import", "-"}},
		step{name: "import: existing without -y", stdin: "A=" + m + "\n", args: []string{"import", "-"}},
		step{name: "import -y", stdin: "A=" + m + "\n", args: []string{"import", "-y", "-"}},
		step{name: "copy to an unknown project", args: []string{"copy", "--to-project", "nope"}},
		step{name: "add a name that takes over a process", args: []string{"add", "-y", "BASH_ENV", m}},
		step{name: "import a name that takes over a process", stdin: "OK_NAME=" + m + "\nLD_PRELOAD=" + m + "\n", args: []string{"import", "-y", "-"}},
		step{name: "import past the limit of secrets", stdin: manyLinesWith(10001, m), args: []string{"import", "-"}},
		step{name: "run with a secret that takes over a process", before: func() {
			if err := secrets.Unwrap(s.store()).Set(context.Background(), "PROMPT_COMMAND", m); err != nil {
				t.Fatal(err)
			}
		}, args: []string{"run", "--", "/usr/bin/env"}},
		step{name: "export with a secret that takes over a process", args: []string{"export", "--format", "json"}, printsValue: true},
		step{name: "delete the secret that takes over a process", args: []string{"delete", "-y", "PROMPT_COMMAND"}},
		step{name: "export", args: []string{"export"}, printsValue: true},
		step{name: "export json", args: []string{"export", "--format", "json"}, printsValue: true},
	)
	if hasCommand(s, "get") {
		steps = append(steps,
			step{name: "get", args: []string{"get", "A"}, printsValue: true},
			step{name: "get missing", args: []string{"get", "MISSING"}},
		)
	}
	if hasCommand(s, "run") {
		steps = append(steps,
			step{name: "run a failing child", args: []string{"run", "--", "/bin/false"}},
			step{name: "run a missing program (the value is an argument; the program name is printed)", args: []string{"run", "--", "/nonexistent/prog", m}},
			step{name: "run a child that prints its environment", args: []string{"run", "--", "/usr/bin/env"}, printsValue: true},
		)
	}
	steps = append(steps,
		step{name: "delete", args: []string{"delete", "-y", "B"}},
		step{name: "delete missing", args: []string{"delete", "-y", "B"}},
		step{name: "delete without -y", args: []string{"delete", "A"}},
	)
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		saved := s.env
		s.env = st.env
		cmd := s.command(context.Background(), st.stdin, st.args...)
		if st.dir != "" {
			cmd.Dir = st.dir
		}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		_ = cmd.Run()
		s.env = saved
		for _, secret := range []string{m, pass1, pass2} {
			if strings.Contains(errb.String(), secret) {
				t.Errorf("%s: a secret value appears on stderr: %q", st.name, errb.String())
			}
			if !st.printsValue && strings.Contains(out.String(), secret) {
				t.Errorf("%s: a secret value appears on stdout", st.name)
			}
		}
		for _, secret := range st.mustHide {
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("%s: a store credential reaches the command's environment or the output", st.name)
			}
		}
		if len(st.mustHide) > 0 && !strings.Contains(out.String(), m) {
			t.Errorf("%s: the command did not get the secrets (exit %v): %s", st.name, cmd.ProcessState, errb.String())
		}
	}
	if st, err := s.store().Get(context.Background(), "A"); err != nil || st != m {
		t.Fatalf("the marker secret itself is not stored (%v): the test did not exercise anything", err)
	}

	// Error strings of the library.
	ctx := context.Background()
	lib := s.store()
	for name, err := range map[string]error{
		"Set invalid name":  lib.Set(ctx, "bad name", m),
		"Set NUL":           lib.Set(ctx, "A", m+"\x00"),
		"Set too large":     lib.Set(ctx, "A", big),
		"Set invalid UTF-8": lib.Set(ctx, "A", "\xff"+m),
		"Create existing":   secrets.Create(ctx, lib, "A", m),
		"Create invalid":    secrets.Create(ctx, lib, "9", m),
		"ValidateValue":     secrets.ValidateValue(m + "\x00"),
		"NormalizeRepository": func() error {
			_, err := secrets.NormalizeRepository("https://u:" + m + "@bad host/x")
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), m) {
			t.Errorf("%s: the error contains the value: %v", name, err)
		}
	}
	pp, _ := file.Open(ctx, secrets.Scope{Project: "pp", Repository: repoID}, file.Options{Dir: filepath.Join(s.root, "pp"), Passphrase: true,
		PassphraseFunc: func(context.Context, bool) (string, error) { return pass2, nil }})
	if _, err := pp.List(ctx); err == nil || strings.Contains(err.Error(), pass2) {
		t.Errorf("wrong passphrase through the library: %v", err)
	}

	// No file anywhere in the sandbox (home, TMPDIR, repository, config,
	// passphrase store) holds a secret value in the clear.
	files := 0
	filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Error(err)
			return nil
		}
		files++
		if strings.HasPrefix(p, cfgDir) {
			return nil // the test's own config files hold the marker on purpose
		}
		for _, secret := range []string{m, pass1, pass2} {
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s holds a secret value in the clear", p)
			}
		}
		return nil
	})
	t.Logf("%d command runs and 9 library error paths checked; %d files scanned", len(steps), files)
}
