package secrets_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestParseConfig(t *testing.T) {
	cfg, err := secrets.ParseConfig([]byte(`
default_project: main
projects:
  main:
    backend: file
  team:
    backend: vault
    options:
      address: https://vault.example.com:8200
      mount: secret
`))
	if err != nil {
		t.Fatal(err)
	}
	name, pc, err := cfg.Project("")
	if err != nil || name != "main" || pc.Backend != "file" {
		t.Errorf("default project: %q %+v %v", name, pc, err)
	}
	name, pc, err = cfg.Project("team")
	if err != nil || name != "team" || pc.Backend != "vault" || pc.Options["mount"] != "secret" {
		t.Errorf("team: %q %+v %v", name, pc, err)
	}
	_, _, err = cfg.Project("nope")
	if !errors.Is(err, secrets.ErrUnknownProject) || !strings.Contains(err.Error(), "main, team") {
		t.Errorf("unknown project: %v", err)
	}
}

// TestParseConfigNoProjects: a document without projects (an empty file, a
// file cut short while another process rewrote it) is an error, never the
// implicit default project on the local file store.
func TestParseConfigNoProjects(t *testing.T) {
	for _, doc := range []string{"", "\n", "# only a comment\n", "projects:\n", "default_project:\n", "default_project: default\n", "default_project: main\nprojects:\n"} {
		cfg, err := secrets.ParseConfig([]byte(doc))
		if err == nil {
			t.Errorf("%q: accepted, with projects %v", doc, cfg.Projects)
			continue
		}
		if !errors.Is(err, secrets.ErrInvalidConfig) && !errors.Is(err, secrets.ErrUnknownProject) || !strings.Contains(err.Error(), "no project") {
			t.Errorf("%q: %v", doc, err)
		}
	}
	// LoadConfigFor: an existing empty default file is an error naming it;
	// only a missing file gives the implicit default.
	home := t.TempDir()
	env := secrets.Env{HomeDir: home, Getenv: func(string) string { return "" }}
	path := filepath.Join(home, ".dstack", "secrets.yml")
	write(t, path, "")
	if cfg, err := secrets.LoadConfigFor(env, ""); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("empty default file: %+v %v", cfg, err)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	// One project and no default_project: that project is the default.
	cfg, err := secrets.ParseConfig([]byte("projects:\n  only:\n    backend: file\n"))
	if err != nil {
		t.Fatal(err)
	}
	if name, _, err := cfg.Project(""); err != nil || name != "only" {
		t.Errorf("single project: %q %v", name, err)
	}
	// Two projects and no default_project: say to pass --project.
	cfg, err = secrets.ParseConfig([]byte("projects:\n  a:\n    backend: file\n  b:\n    backend: file\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cfg.Project(""); !errors.Is(err, secrets.ErrUnknownProject) || !strings.Contains(err.Error(), "--project") {
		t.Errorf("no default: %v", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct{ doc, says string }{
		{"projcts:\n  a:\n    backend: file\n", `line 1: unknown key "projcts" in the top level (valid keys: default_project, projects)`},
		{"projects:\n  a:\n    backnd: file\n", `line 3: unknown key "backnd" in project "a" (valid keys: backend, options, allow_unsafe_names, max_secrets)`},
		{"projects:\n  a:\n    options: {}\n", `project "a" has no backend`},
		{"projects:\n  a: file\n", `project "a" must be a mapping`},
		{"projects:\n  a:\n    backend: [x]\n", "must be a backend name"},
		{"projects:\n  a/b:\n    backend: file\n", "project name"},
		{"default_project: b\nprojects:\n  a:\n    backend: file\n", `default_project "b" is not defined`},
		{"default_project: b\n", `default_project "b" is not defined`},
		{"", "defines no projects"},
		{"projects: [a]\n", "projects must be a mapping"},
		{"projects:\n  a:\n    backend: file\n    options: [1]\n", "options of project \"a\" must be a mapping"},
		{"projects:\n  a:\n    backend: file\n  a:\n    backend: file\n", ""},
		{"projects:\n  a:\n    backend: file\n    backend: vault\n", ""},
		{"\tbad: yaml: here\n", "not valid YAML"},
		{"- a\n- b\n", "must be a mapping"},
		{"projects:\n  Team:\n    backend: file\n  team:\n    backend: file\n", "differ only in letter case"},
	}
	for _, tc := range cases {
		_, err := secrets.ParseConfig([]byte(tc.doc))
		if err == nil {
			t.Errorf("%q: no error", tc.doc)
			continue
		}
		if !errors.Is(err, secrets.ErrInvalidConfig) && !errors.Is(err, secrets.ErrUnknownProject) && !errors.Is(err, secrets.ErrInvalidScope) {
			t.Errorf("%q: %v does not wrap a config error", tc.doc, err)
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: got %q, want it to say %q", tc.doc, err, tc.says)
		}
	}
}

func TestLoadConfigFor(t *testing.T) {
	home := t.TempDir()
	env := secrets.Env{HomeDir: home, Getenv: func(string) string { return "" }}
	// No file: the implicit default.
	cfg, err := secrets.LoadConfigFor(env, "")
	if err != nil || cfg.Path != "" || cfg.Projects["default"].Backend != "file" {
		t.Fatalf("implicit: %+v %v", cfg, err)
	}
	// The default file is used when present, and its errors name it.
	path := filepath.Join(home, ".dstack", "secrets.yml")
	write(t, path, "projects:\n  p:\n    backend: file\n")
	cfg, err = secrets.LoadConfigFor(env, "")
	if err != nil || cfg.Path != path {
		t.Fatalf("default file: %+v %v", cfg, err)
	}
	write(t, path, "projects:\n  p:\n    bakend: file\n")
	if _, err := secrets.LoadConfigFor(env, ""); err == nil || !strings.HasPrefix(err.Error(), path+": ") {
		t.Errorf("error does not name the file: %v", err)
	}
	// An explicitly named file that does not exist is an error, not the default.
	env.Getenv = func(k string) string {
		if k == secrets.ConfigEnvVar {
			return filepath.Join(home, "missing.yml")
		}
		return ""
	}
	_, err = secrets.LoadConfigFor(env, "")
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "$DSTACK_SECRETS_CONFIG") {
		t.Errorf("missing $DSTACK_SECRETS_CONFIG file: %v", err)
	}
	_, err = secrets.LoadConfigFor(env, filepath.Join(home, "also-missing.yml"))
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "--config") {
		t.Errorf("missing --config file: %v", err)
	}
	if _, err := secrets.LoadConfig(filepath.Join(home, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadConfig of a missing file: %v", err)
	}
}

type fileOpts struct {
	Dir   string `yaml:"dir"`
	Count int    `yaml:"count"`
	Flag  bool   `yaml:"flag"`
}

func TestOptionsDecode(t *testing.T) {
	var o fileOpts
	if err := (secrets.Options{"dir": "/x", "count": 3, "flag": true}).Decode("b", &o); err != nil || o.Dir != "/x" || o.Count != 3 || !o.Flag {
		t.Errorf("decode: %+v %v", o, err)
	}
	err := (secrets.Options{"dri": "/x"}).Decode("b", &o)
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), `unknown option "dri" for backend "b" (valid options: count, dir, flag)`) {
		t.Errorf("unknown key: %v", err)
	}
	err = (secrets.Options{"count": "many"}).Decode("b", &o)
	if !errors.Is(err, secrets.ErrInvalidConfig) {
		t.Errorf("wrong type: %v", err)
	}
	for _, doc := range []secrets.Options{{"dir": nil}, {"count": nil}} {
		if err := doc.Decode("b", &o); !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "has no value") {
			t.Errorf("null option %v: %v", doc, err)
		}
	}
	var none struct{}
	if err := (secrets.Options{"x": 1}).Decode("b", &none); err == nil || !strings.Contains(err.Error(), "takes no options") {
		t.Errorf("no options: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	opened := 0
	b := secrets.Backend{Name: "mem", Open: func(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
		opened++
		return newMem(), nil
	}}
	r := secrets.NewRegistry(b, secrets.Backend{Name: "another", Open: b.Open})
	if got := strings.Join(r.Names(), ","); got != "another,mem" {
		t.Errorf("Names = %q", got)
	}
	scope := secrets.Scope{Project: "p", Repository: "github.com/o/r"}
	if _, err := r.Open(context.Background(), secrets.OpenRequest{Scope: scope, Backend: "mem"}); err != nil || opened != 1 {
		t.Errorf("Open: %v", err)
	}
	_, err := r.Open(context.Background(), secrets.OpenRequest{Scope: scope, Backend: "vualt"})
	if !errors.Is(err, secrets.ErrUnknownBackend) || !strings.Contains(err.Error(), "another, mem") {
		t.Errorf("unknown backend: %v", err)
	}
	_, err = r.Open(context.Background(), secrets.OpenRequest{Scope: secrets.Scope{Project: "p"}, Backend: "mem"})
	if !errors.Is(err, secrets.ErrInvalidScope) {
		t.Errorf("invalid scope: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("duplicate Register did not panic")
		}
	}()
	r.Register(b)
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte("default_project: a\nprojects:\n  a:\n    backend: file\n    options:\n      dir: /x\n"))
	f.Add([]byte("projects:\n  a: {backend: vault, options: {mount: kv}}\n"))
	f.Add([]byte("- x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := secrets.ParseConfig(data)
		if err != nil {
			return
		}
		if len(cfg.Projects) == 0 {
			t.Fatalf("a parsed configuration has no projects")
		}
		for name, pc := range cfg.Projects {
			if secrets.ValidateProject(name) != nil || pc.Backend == "" {
				t.Fatalf("invalid project %q accepted: %+v", name, pc)
			}
		}
		if cfg.DefaultProject != "" {
			if _, ok := cfg.Projects[cfg.DefaultProject]; !ok {
				t.Fatalf("default_project %q accepted but not defined", cfg.DefaultProject)
			}
		}
	})
}
