package cli

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// useConfig writes a configuration file and points the harness at it.
func (h *harness) useConfig(yml string) string {
	h.t.Helper()
	p := filepath.Join(h.home, ".dstack", "secrets.yml")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		h.t.Fatal(err)
	}
	h.vars["DSTACK_SECRETS_CONFIG"] = p
	return p
}

// openProject opens a project of the harness's configuration through the
// library.
func (h *harness) openProject(project string, reg *secrets.Registry) secrets.Store {
	h.t.Helper()
	if reg == nil {
		reg = backends.Registry()
	}
	r, err := secrets.Resolve(secrets.Target{
		Project: project,
		Dir:     h.repo,
		Env:     secrets.Env{HomeDir: h.home, Getenv: func(k string) string { return h.vars[k] }},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := reg.OpenResolved(context.Background(), r)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { secrets.Close(s) })
	return s
}

func (h *harness) allOf(project string) map[string]string {
	h.t.Helper()
	m, err := secrets.GetAll(context.Background(), h.openProject(project, nil))
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// twoFileProjects configures "main" (the default, in the default
// directory) and "side" (another directory).
func twoFileProjects(h *harness) string {
	side := filepath.Join(h.home, "side")
	h.useConfig("default_project: main\nprojects:\n  main:\n    backend: file\n  side:\n    backend: file\n    options:\n      dir: " + side + "\n")
	return filepath.Join(side, "side.age")
}

const repoDesc = "repository github.com/org/repo"

func TestCopyBetweenProjects(t *testing.T) {
	h := newHarness(t)
	sideFile := twoFileProjects(h)
	want := trickyWithMarker()
	src := h.openProject("main", nil)
	for name, v := range want {
		if err := src.Set(context.Background(), name, v); err != nil {
			t.Fatal(err)
		}
	}
	names := secrets.SortedNames(want)

	r := h.run("", "copy", "--to-project", "side")
	h.want(r, 0, `Copied 17 secrets from project "main" (backend file, `+repoDesc+`) to project "side" (backend file, `+repoDesc+`): `+strings.Join(names, ", ")+"\n")
	if r.stdout != "" {
		t.Errorf("copy printed on stdout: %q", r.stdout)
	}
	if got := h.allOf("side"); !maps.Equal(got, want) {
		t.Fatalf("side holds %d secrets, want the %d copied byte for byte", len(got), len(want))
	}
	if _, err := os.Stat(sideFile); err != nil {
		t.Fatalf("the side project's file was not written: %v", err)
	}

	// Existing names are refused without -y; nothing changes.
	src.Set(context.Background(), "TOKEN", "changed")
	src.Set(context.Background(), "BRAND_NEW", "new")
	before, _ := os.ReadFile(sideFile)
	h.want(h.run("", "copy", "--to-project", "side"), 1, `17 secrets already exist in project "side" (backend file, `+repoDesc+`): `)
	h.want(h.run("", "copy", "--to-project", "side", "TOKEN", "BRAND_NEW"), 1, `1 secret already exists in project "side" (backend file, `+repoDesc+`): TOKEN; pass -y to overwrite (nothing was copied)`)
	if after, _ := os.ReadFile(sideFile); !bytes.Equal(before, after) {
		t.Fatalf("a refused copy changed the destination")
	}
	h.want(h.run("", "copy", "-y", "--to-project", "side", "TOKEN", "BRAND_NEW", "TOKEN"), 0, `Copied 2 secrets from project "main" (backend file, `+repoDesc+`) to project "side" (backend file, `+repoDesc+`): TOKEN, BRAND_NEW (1 overwritten: TOKEN)`)
	want["TOKEN"], want["BRAND_NEW"] = "changed", "new"
	if got := h.allOf("side"); !maps.Equal(got, want) {
		t.Errorf("after copy -y of two names: side differs")
	}

	// Back from side to a third project named with --from-project, and
	// with the global --project naming the source.
	h.useConfig("default_project: main\nprojects:\n  main:\n    backend: file\n  side:\n    backend: file\n    options:\n      dir: " + filepath.Dir(sideFile) + "\n  third:\n    backend: file\n    options:\n      dir: " + filepath.Join(h.home, "third") + "\n")
	h.want(h.run("", "copy", "--from-project", "side", "--to-project", "third", "MULTI_LINE"), 0, `Copied 1 secret from project "side"`)
	h.want(h.run("", "--project", "side", "copy", "--to-project", "third", "UNICODE"), 0, `Copied 1 secret from project "side"`)
	h.want(h.run("", "copy", "--project", "side", "--from-project", "side", "--to-project", "third", "-y", "UNICODE"), 0, `Copied 1 secret from project "side"`)
	if got := h.allOf("third"); !maps.Equal(got, map[string]string{"MULTI_LINE": want["MULTI_LINE"], "UNICODE": want["UNICODE"]}) {
		t.Errorf("third holds %d secrets", len(got))
	}
}

func TestCopyErrors(t *testing.T) {
	h := newHarness(t)
	sideFile := twoFileProjects(h)
	h.want(h.run("", "copy", "--to-project", "side"), 0, `Nothing to copy: project "main" (backend file, `+repoDesc+`) has no secrets`)
	if _, err := os.Stat(sideFile); err == nil {
		t.Errorf("copying nothing created the destination")
	}
	h.openProject("main", nil).Set(context.Background(), "TOKEN", marker)
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"copy"}, 2, "copy: missing --to-project PROJECT"},
		{[]string{"copy", "TOKEN"}, 2, "copy: missing --to-project PROJECT"},
		{[]string{"copy", "--to-project", "main"}, 2, `copy: the source and the destination are both project "main"`},
		{[]string{"copy", "--from-project", "side", "--to-project", "side"}, 2, `both project "side"`},
		{[]string{"copy", "--project", "main", "--from-project", "side", "--to-project", "x"}, 2, "--project and --from-project name different projects"},
		{[]string{"copy", "--to-project", "side", "-" + marker}, 2, "copy: unknown flag"},
		{[]string{"copy", "--to-project", "nope"}, 1, `unknown project "nope"`},
		{[]string{"copy", "--from-project", "nope", "--to-project", "side"}, 1, `unknown project "nope"`},
		{[]string{"copy", "--to-project", "side", "bad-name"}, 1, "invalid secret name"},
		{[]string{"copy", "--to-project", "side", "TOKEN", "MISSING", "GONE"}, 1, `reading from project "main" (backend file, ` + repoDesc + `): secret not found: MISSING, GONE (nothing was copied)`},
	} {
		h.want(h.run("", tc.args...), tc.code, tc.says)
	}
	h.want(h.runIn(t.TempDir(), "", "copy", "--to-project", "side"), 1, "not inside a git repository")
	if _, err := os.Stat(sideFile); err == nil {
		t.Errorf("a failed copy created the destination")
	}
	if r := h.run("", "copy", "-h"); r.code != 0 || !strings.Contains(r.stdout, "Usage: dstack-secrets copy [-h] --to-project PROJECT [--from-project PROJECT] [-y] [NAME...]") {
		t.Errorf("copy -h: %+v", r)
	}
}

// TestCopyRollback copies into a destination whose backend fails midway:
// the destination is left as it was.
func TestCopyRollback(t *testing.T) {
	h := newHarness(t)
	cfg := h.useConfig("default_project: main\nprojects:\n  main:\n    backend: file\n  flaky:\n    backend: flaky\n")
	src := h.openProject("main", nil)
	for _, n := range []string{"A", "B", "C", "D"} {
		src.Set(context.Background(), n, marker+n)
	}
	flakyDir := filepath.Join(h.home, "flaky")
	dst, err := file.Open(context.Background(), secrets.Scope{Project: "flaky", Repository: "github.com/org/repo"}, file.Options{Dir: flakyDir})
	if err != nil {
		t.Fatal(err)
	}
	dst.Set(context.Background(), "B", "old b")
	want := map[string]string{"B": "old b"}
	for allowed := 0; allowed < 4; allowed++ {
		reg := secrets.NewRegistry(file.Backend(), secrets.Backend{
			Name: "flaky",
			Open: func(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
				s, err := file.Open(ctx, req.Scope, file.Options{Dir: flakyDir})
				return &flakyStore{Store: s, allowed: allowed}, err
			},
		})
		var out, errb bytes.Buffer
		code := Run(context.Background(), []string{"--config", cfg, "copy", "-y", "--to-project", "flaky"}, Params{
			Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, HomeDir: h.home, Dir: h.repo, Registry: reg,
		})
		if strings.Contains(errb.String(), marker) {
			t.Errorf("stderr holds a value")
		}
		if code != 1 || !strings.Contains(errb.String(), `copying to project "flaky" (backend flaky, `+repoDesc+`): storing `) {
			t.Errorf("failure after %d writes: exit %d, stderr %q", allowed, code, errb.String())
		}
		got, err := secrets.GetAll(context.Background(), dst)
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("failure after %d writes left the destination with %d secrets (%v)", allowed, len(got), err)
		}
	}
}
