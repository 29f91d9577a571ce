package reliability

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// TestTerminalEscapes: a repository whose origin URL holds terminal escape
// sequences (clear the screen, set the title, a bidirectional override)
// gives messages with those characters escaped, on every path that names
// the repository: success reports, not-found errors, and a missing
// repository directory.
func TestTerminalEscapes(t *testing.T) {
	s := newSandbox(t)
	evil := "git@github.com:org/re\x1b[2J\x1b]0;pwned\x07po\u202e.git"
	writeFile(t, filepath.Join(s.repo, ".git", "config"), "[remote \"origin\"]\n\turl = "+evil+"\n", 0o644)
	bad := func(out string) bool { return strings.ContainsAny(out, "\x1b\x07\u202e") }
	for _, args := range [][]string{
		{"add", "A", "v"},
		{"add", "A", "v"},
		{"get", "MISSING"},
		{"delete", "-y", "MISSING"},
		{"list"},
		{"--repo", "/nonexistent/\x1b[2J", "list"},
		{"--repo", "git@github.com:org/\x1b[2J", "list", "--project", "x\x1by"},
	} {
		r := s.run("", args...)
		if bad(r.stderr) || bad(r.stdout) {
			t.Errorf("%q: a terminal control character reaches the terminal: stderr %q, stdout %q", args, r.stderr, r.stdout)
		}
		if !strings.Contains(r.stderr+r.stdout, `\x1b`) && args[0] != "list" {
			t.Errorf("%q: the escaped identity is not shown: %q", args, r.stderr)
		}
	}
}

// TestUnsafeNameTakeover: a BASH_ENV secret, written into the store by
// another tool (straight into the backend, or into a shared Vault path with
// Vault's own API), would make every bash that run starts execute a script
// of the writer's choice. run refuses to start the command, naming the
// variable; the project's allow_unsafe_names lifts it.
func TestUnsafeNameTakeover(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	check := func(t *testing.T, s *sandbox, pwned string, cfgArgs []string, allowCfg func()) {
		t.Helper()
		r := s.run("", append(cfgArgs, "run", "--", bash, "-c", "true")...)
		if _, err := os.Stat(pwned); err == nil {
			t.Fatalf("BASH_ENV ran its script in the command that run started (exit %d, %s)", r.code, r.stderr)
		}
		if r.code != 1 || !strings.Contains(r.stderr, "BASH_ENV") || !strings.Contains(r.stderr, "allow_unsafe_names") {
			t.Errorf("run with a BASH_ENV secret: exit %d, %q", r.code, r.stderr)
		}
		if allowCfg == nil {
			return
		}
		allowCfg()
		r = s.run("", append(cfgArgs, "run", "--", bash, "-c", "true")...)
		if _, err := os.Stat(pwned); r.code != 0 || err != nil {
			t.Errorf("allowed by allow_unsafe_names: exit %d (%s), script ran: %v", r.code, r.stderr, err == nil)
		}
	}
	evilScript := func(s *sandbox) (script, pwned string) {
		pwned = filepath.Join(s.tmp, "pwned")
		script = filepath.Join(s.tmp, "evil.sh")
		writeFile(t, script, "touch "+pwned+"\n", 0o755)
		return script, pwned
	}

	t.Run("file", func(t *testing.T) {
		s := newSandbox(t)
		script, pwned := evilScript(s)
		if err := secrets.Unwrap(s.store()).Set(context.Background(), "BASH_ENV", script); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(s.root, "secrets.yml")
		check(t, s, pwned, nil, func() {
			writeFile(t, cfg, "projects:\n  default:\n    backend: file\n    allow_unsafe_names: [BASH_ENV]\n", 0o600)
			s.env = map[string]string{"DSTACK_SECRETS_CONFIG": cfg}
		})
		// The CLI's writers refuse the name.
		s.env = nil
		if r := s.run("", "add", "-y", "LD_PRELOAD", "/tmp/evil.so"); r.code != 1 || !strings.Contains(r.stderr, "LD_PRELOAD") {
			t.Errorf("add LD_PRELOAD: exit %d, %q", r.code, r.stderr)
		}
	})

	t.Run("vault", func(t *testing.T) {
		srv := sharedVault(t)
		s := newSandbox(t)
		script, pwned := evilScript(s)
		prefix := "unsafe-" + randomHex(t)
		client, err := api.NewClient(&api.Config{Address: srv.addr})
		if err != nil {
			t.Fatal(err)
		}
		client.SetToken(srv.token)
		// Another tool writes the shared path: Vault's API, no checks.
		if _, err := client.KVv2("secret").Put(context.Background(), prefix+"/default/"+repoID+"/BASH_ENV", map[string]any{"value": script}); err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(s.root, "secrets.yml")
		project := "projects:\n  default:\n    backend: vault\n    options:\n      address: " + srv.addr + "\n      mount: secret\n      prefix: " + prefix + "\n      kv_version: 2\n"
		writeFile(t, cfg, project, 0o600)
		s.env = map[string]string{"VAULT_TOKEN": srv.token}
		check(t, s, pwned, []string{"--config", cfg}, func() {
			writeFile(t, cfg, project+"    allow_unsafe_names: [BASH_ENV]\n", 0o600)
		})
	})
}

// TestRunTooManySecrets: run with 100,000 secrets (written past the
// checks, as another tool would) says before starting the command that its
// environment exceeds the system's limit, and by how much, instead of the
// kernel's "argument list too long" (exit 126). Adding secrets past the
// documented cap is refused with nothing written.
func TestRunTooManySecrets(t *testing.T) {
	s := newSandbox(t)
	values := make(map[string]string, 100000)
	for i := range 100000 {
		values[fmt.Sprintf("S%06d", i)] = "0123456789abcdef0123456789abcdef"
	}
	raw, ok := secrets.Unwrap(s.store()).(secrets.BatchWriter)
	if !ok {
		t.Fatal("the file store has no batch write")
	}
	if err := raw.SetMany(context.Background(), values, true); err != nil {
		t.Fatal(err)
	}
	r := s.run("", "run", "--", "true")
	if r.code != 1 || !strings.Contains(r.stderr, "100") || !strings.Contains(r.stderr, "too many, so the command was not started") {
		t.Errorf("run with 100,000 secrets: exit %d, %q", r.code, r.stderr)
	}
	before, _ := os.ReadFile(s.storePath())
	r = s.run("", "add", "ONE_MORE", "v")
	if r.code != 1 || !strings.Contains(r.stderr, "10000 secrets per repository") {
		t.Errorf("add past the cap: exit %d, %q", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(s.storePath()); !bytes.Equal(before, after) {
		t.Errorf("the store changed")
	}
	if r := s.run("", "delete", "-y", "S000001"); r.code != 0 {
		t.Errorf("delete past the cap: exit %d, %q", r.code, r.stderr)
	}
}

// TestPassForeignItems: in the pass keychain, an entry written with "pass
// insert" reads as its value, and an entry that holds no secret value
// (binary) is left out of run and export with a warning naming it, instead
// of failing the whole repository with a JSON error that quotes its first
// byte; get of that name fails with a clear message.
func TestPassForeignItems(t *testing.T) {
	if os.Getenv("DSTACK_SECRETS_TEST_KEYRING") != "1" {
		if requireServices() {
			t.Fatal("the keychains are not running (scripts/services/keychains.sh)")
		}
		t.Skip("the keychains are not running; run scripts/test")
	}
	s := newSandbox(t)
	store := os.Getenv("PASSWORD_STORE_DIR")
	service := "dstack-secrets-rel-" + randomHex(t)
	t.Cleanup(func() { os.RemoveAll(filepath.Join(store, service)) })
	cfg := filepath.Join(s.root, "secrets.yml")
	writeFile(t, cfg, "projects:\n  p:\n    backend: keyring\n    options:\n      keychains: [pass]\n      service: "+service+"\n", 0o600)
	s.env = map[string]string{"DSTACK_SECRETS_CONFIG": cfg, "PASSWORD_STORE_DIR": store, "GNUPGHOME": os.Getenv("GNUPGHOME")}
	s.mustRun("", "add", "GOOD", "good value")
	entries, _ := filepath.Glob(filepath.Join(store, service, "p", "*", "GOOD.gpg"))
	if len(entries) != 1 {
		t.Fatalf("entry of GOOD: %v", entries)
	}
	folder := strings.TrimSuffix(strings.TrimPrefix(filepath.Dir(entries[0]), store+"/"), ".gpg")
	insert := func(name, content string, args ...string) {
		cmd := exec.Command("pass", append(append([]string{"insert"}, args...), folder+"/"+name)...)
		cmd.Env = append(os.Environ(), "PASSWORD_STORE_DIR="+store)
		cmd.Stdin = strings.NewReader(content)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pass insert: %v: %s", err, out)
		}
	}
	insert("TYPED", "Zs3cr3t\nZs3cr3t\n")
	m := newMarker(t)
	insert("BINARY", "Z\xff\xfe"+m, "-m")

	r := s.run("", "run", "--no-mask", "--", "env")
	if r.code != 0 || !strings.Contains(r.stdout, "TYPED=Zs3cr3t\n") || !strings.Contains(r.stdout, "GOOD=good value\n") {
		t.Errorf("run with a foreign entry: exit %d, %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "dstack-secrets: warning: left out secret BINARY") || strings.Contains(r.stderr, "'Z'") {
		t.Errorf("run's warning: %q", r.stderr)
	}
	if r := s.run("", "export", "--format", "json"); r.code != 0 || !strings.Contains(r.stdout, `"TYPED": "Zs3cr3t"`) || !strings.Contains(r.stderr, "BINARY") {
		t.Errorf("export with a foreign entry: exit %d, %q", r.code, r.stderr)
	}
	r = s.run("", "get", "BINARY")
	if r.code != 1 || !strings.Contains(r.stderr, "corrupt") || strings.Contains(r.stderr, "unavailable") || strings.Contains(r.stderr, "'Z'") {
		t.Errorf("get of a foreign entry: exit %d, %q", r.code, r.stderr)
	}
	t.Logf("get of a foreign entry: %s", r.stderr)
	for _, args := range [][]string{{"run", "--", "true"}, {"get", "BINARY"}, {"export"}, {"list"}} {
		if r := s.run("", args...); strings.Contains(r.stderr, m) || strings.Contains(r.stdout, m) {
			t.Errorf("%s prints the foreign entry's content", args[0])
		}
	}
}
