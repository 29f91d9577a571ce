package secrets_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestUnsafeName(t *testing.T) {
	for _, name := range []string{"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "ld_preload", "DYLD_INSERT_LIBRARIES",
		"BASH_ENV", "ENV", "PATH", "Path", "IFS", "NODE_OPTIONS", "PYTHONSTARTUP", "PYTHONPATH", "PERL5OPT",
		"RUBYOPT", "JAVA_TOOL_OPTIONS", "GIT_SSH_COMMAND", "GCONV_PATH", "PROMPT_COMMAND", "PS4", "SHELLOPTS",
		"GIT_CONFIG_KEY_0", "GIT_CONFIG_COUNT", "npm_config_script_shell", "GOFLAGS"} {
		if what, unsafe := secrets.UnsafeName(name); !unsafe || what == "" {
			t.Errorf("UnsafeName(%q) = %q, %v; want it refused", name, what, unsafe)
		}
	}
	for _, name := range []string{"API_TOKEN", "LDAP_PASSWORD", "PATHS", "MY_PATH", "ENVIRONMENT", "AWS_SECRET_ACCESS_KEY", "GIT_TOKEN", "NODE_ENV", "HOME_TOKEN"} {
		if _, unsafe := secrets.UnsafeName(name); unsafe {
			t.Errorf("UnsafeName(%q) refuses an ordinary name", name)
		}
	}
}

// TestUnsafeNamesRefusedOnWrite: every write path of a wrapped store (and
// so add, import and copy) refuses an unsafe name and writes nothing, unless
// the store's Info allows the name.
func TestUnsafeNamesRefusedOnWrite(t *testing.T) {
	ctx := context.Background()
	scope := secrets.Scope{Project: "p", Repository: "github.com/org/repo"}
	m := newMem()
	s := secrets.Wrap(m, secrets.Info{Backend: "mem", Scope: scope})
	for what, err := range map[string]error{
		"Set":     s.Set(ctx, "BASH_ENV", "/tmp/evil"),
		"Create":  secrets.Create(ctx, s, "LD_PRELOAD", "/tmp/evil.so"),
		"SetMany": secrets.SetMany(ctx, s, map[string]string{"A": "1", "NODE_OPTIONS": "--require=/tmp/x.js"}, true),
	} {
		if !errors.Is(err, secrets.ErrUnsafeName) || !strings.Contains(err.Error(), "allow_unsafe_names") {
			t.Errorf("%s: %v", what, err)
		}
	}
	if len(m.data) != 0 {
		t.Errorf("written despite the refusal: %v", secrets.SortedNames(m.data))
	}
	// Allowed by the project: through Info, or added by Registry.Open to the
	// store a backend's Open wrapped.
	allowed := secrets.Wrap(m, secrets.Info{Backend: "mem", Scope: scope, AllowUnsafeNames: []string{"PATH"}})
	if err := allowed.Set(ctx, "PATH", "/opt/bin"); err != nil {
		t.Errorf("allowed name: %v", err)
	}
	if err := allowed.Set(ctx, "BASH_ENV", "x"); !errors.Is(err, secrets.ErrUnsafeName) {
		t.Errorf("a name that is not allowed: %v", err)
	}
	r := secrets.NewRegistry(secrets.Backend{Name: "mem", Open: func(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
		return secrets.Wrap(newMem(), secrets.Info{Backend: "mem", Scope: req.Scope}), nil
	}})
	rs, err := r.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "mem", AllowUnsafeNames: []string{"LD_PRELOAD"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Set(ctx, "LD_PRELOAD", "x"); err != nil {
		t.Errorf("allowed through the registry: %v", err)
	}
}

// TestUnsafeNamesRefusedForChild: a store that holds an unsafe name
// (written by another tool, straight into the backend) makes Environ,
// PrepareCmd and ChildValues refuse, naming the variable; the project's
// allow list lifts it.
func TestUnsafeNamesRefusedForChild(t *testing.T) {
	ctx := context.Background()
	scope := secrets.Scope{Project: "p", Repository: "github.com/org/repo"}
	m := newMem()
	m.data["API_TOKEN"] = "t"
	m.data["BASH_ENV"] = "/tmp/evil"
	s := secrets.Wrap(m, secrets.Info{Backend: "mem", Scope: scope})
	if _, err := secrets.Environ(ctx, s, []string{"HOME=/root"}, false); !errors.Is(err, secrets.ErrUnsafeName) || !strings.Contains(err.Error(), "BASH_ENV") {
		t.Errorf("Environ: %v", err)
	}
	cmd := exec.Command("true")
	if err := secrets.PrepareCmd(ctx, s, cmd, true); !errors.Is(err, secrets.ErrUnsafeName) || cmd.Env != nil {
		t.Errorf("PrepareCmd: %v, env set: %v", err, cmd.Env != nil)
	}
	m.data["LD_PRELOAD"] = "/tmp/evil.so"
	if _, err := secrets.ChildValues(ctx, s); !errors.Is(err, secrets.ErrUnsafeName) || !strings.Contains(err.Error(), "BASH_ENV, LD_PRELOAD") {
		t.Errorf("ChildValues: %v", err)
	}
	ok := secrets.Wrap(m, secrets.Info{Backend: "mem", Scope: scope, AllowUnsafeNames: []string{"BASH_ENV", "LD_PRELOAD"}})
	env, err := secrets.Environ(ctx, ok, nil, true)
	if err != nil || !strings.Contains(strings.Join(env, "\n"), "BASH_ENV=") {
		t.Errorf("allowed: %v", err)
	}
}

func TestAllowUnsafeNamesConfig(t *testing.T) {
	cfg, err := secrets.ParseConfig([]byte("projects:\n  p:\n    backend: file\n    allow_unsafe_names: [PATH, LD_PRELOAD]\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := secrets.Resolve(secrets.Target{Config: cfg, Repository: "github.com/org/repo"})
	if err != nil || strings.Join(r.AllowUnsafeNames, ",") != "PATH,LD_PRELOAD" {
		t.Errorf("Resolve: %v %v", r.AllowUnsafeNames, err)
	}
	for doc, says := range map[string]string{
		"projects:\n  p:\n    backend: file\n    allow_unsafe_names: [API_TOKEN]\n": "API_TOKEN is not an unsafe name",
		"projects:\n  p:\n    backend: file\n    allow_unsafe_names: PATH\n":        "must be a list",
		"projects:\n  p:\n    backend: file\n    allow_unsafe_names: [a-b]\n":       "'-'",
	} {
		if _, err := secrets.ParseConfig([]byte(doc)); !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want %q", doc, err, says)
		}
	}
}

// TestUnsafeNamesDocumented: docs/security.md lists every name and prefix
// of the deny list.
func TestUnsafeNamesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range secrets.UnsafeNameList() {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/security.md does not list %s", name)
		}
	}
}
