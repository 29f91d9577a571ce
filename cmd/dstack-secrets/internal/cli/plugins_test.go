package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/internal/plugin"
	"github.com/dstackai/dstack-secrets/internal/plugin/plugintest"
)

// TestMain runs the tests and removes the plugin programs built for them.
func TestMain(m *testing.M) {
	code := m.Run()
	programs.Remove()
	os.Exit(code)
}

// programs are the real dstack-secrets-vault and dstack-secrets-keyring,
// built once, when a test first opens a project on one of those backends:
// the tests run the CLI in-process, with the backends in their programs
// as in the installed CLI.
var programs = plugintest.NewPrograms(
	"github.com/dstackai/dstack-secrets/cmd/dstack-secrets-vault",
	"github.com/dstackai/dstack-secrets/cmd/dstack-secrets-keyring")

func init() {
	vaultProgram = builtProgram(vaultBackend)
	keyringProgram = builtProgram(keyringBackend)
}

func builtProgram(backend string) func() (string, error) {
	return func() (string, error) {
		dir, err := programs.Dir()
		if err != nil {
			return "", err
		}
		p := filepath.Join(dir, plugin.Program(backend))
		if runtime.GOOS == "windows" {
			p += ".exe"
		}
		return p, nil
	}
}

// TestBackendsMatchTheirPackages checks what backends.go writes out
// against the packages the CLI does not link.
func TestBackendsMatchTheirPackages(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{keyringBackend, keyring.Name},
		{keyringSummary, keyring.Backend().Summary},
		{keyringPasswordEnvVar, keyring.PasswordEnvVar},
		{vaultBackend, vault.Name},
		{vaultSummary, vault.Backend().Summary},
		{vaultRoleIDEnvVar, vault.RoleIDEnvVar},
		{vaultSecretIDEnvVar, vault.SecretIDEnvVar},
	} {
		if c.got != c.want {
			t.Errorf("backends.go says %q, the backend's package %q", c.got, c.want)
		}
	}
	lib := backends.Registry()
	want := append(lib.Names(), cloudBackend)
	slices.Sort(want)
	if got := registry().Names(); !slices.Equal(got, want) {
		t.Errorf("the CLI's backends %q, want the library's and cloud: %q", got, want)
	}
	for _, b := range lib.Backends() {
		for _, c := range registry().Backends() {
			if b.Name == c.Name && b.Summary != c.Summary {
				t.Errorf("backend %s: the CLI's summary %q, the library's %q", b.Name, c.Summary, b.Summary)
			}
		}
	}
}

// TestCLILinksOnlyTheFileBackend: the packages of the other backends, and
// the libraries they bring, are not in the dstack-secrets binary, whose
// every command would otherwise initialise them.
func TestCLILinksOnlyTheFileBackend(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/dstackai/dstack-secrets/cmd/dstack-secrets").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/dstackai/dstack-secrets/backends/file") {
		t.Errorf("the CLI does not link the file backend")
	}
	for _, d := range deps {
		for _, banned := range []string{
			"github.com/dstackai/dstack-secrets/backends/vault", "github.com/dstackai/dstack-secrets/backends/keyring",
			"github.com/dstackai/dstack-secrets/backends/cloud", "github.com/hashicorp/", "github.com/godbus/",
			"github.com/99designs/", "gocloud.dev", "net/http",
		} {
			if d == banned || strings.HasPrefix(d, banned+"/") || (strings.HasSuffix(banned, "/") && strings.HasPrefix(d, banned)) {
				t.Errorf("the CLI links %s", d)
			}
		}
	}
}

func TestPluginProgramMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := vaultProgram
	vaultProgram = func() (string, error) { return plugin.LookPath(plugin.Program(vaultBackend)) }
	t.Cleanup(func() { vaultProgram = saved })
	h := newHarness(t)
	h.useConfig("default_project: v\nprojects:\n  v:\n    backend: vault\n")
	r := h.run("", "list")
	h.want(r, 1, "the program dstack-secrets-vault is not installed")
	if !strings.Contains(r.stderr, "go install ./cmd/dstack-secrets-vault") {
		t.Errorf("%q does not say how to install it", r.stderr)
	}
}

// TestKeyringFileKeychainThroughItsProgram uses the keyring backend's
// encrypted-file keychain, which needs no service, through
// dstack-secrets-keyring: the password from its environment variable, the
// values byte for byte, and the errors of the program's backend.
func TestKeyringFileKeychainThroughItsProgram(t *testing.T) {
	h := newHarness(t)
	h.useConfig("default_project: k\nprojects:\n  k:\n    backend: keyring\n    options:\n      keychains: [file]\n")
	h.want(h.run("", "add", "TOKEN", marker), 1, "keychain file needs a password: set DSTACK_SECRETS_KEYRING_PASSWORD or run in a terminal")
	h.vars[keyringPasswordEnvVar] = "hunter2-keyring"
	h.want(h.run("", "add", "TOKEN", marker), 0, `Added secret TOKEN in project "k"`)
	if r := h.run("", "get", "TOKEN"); r.code != 0 || r.stdout != marker {
		t.Errorf("get through the program: exit %d, %d bytes (mismatch)", r.code, len(r.stdout))
	}
	if got := h.list(); !slices.Equal(got, []string{"TOKEN"}) {
		t.Errorf("list = %q", got)
	}
	h.vars[keyringPasswordEnvVar] = "wrong"
	h.want(h.run("", "get", "TOKEN"), 1, "wrong password")
	if entries, _ := os.ReadDir(filepath.Join(h.home, ".dstack", "keyring")); len(entries) == 0 {
		t.Errorf("the file keychain is not under the harness's home directory")
	}
}
