package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// marker is a secret value that must never appear on stderr.
const marker = "MARKER-9f3c-do-not-print"

// harness runs the CLI in-process in a fresh home directory and git
// repository.
type harness struct {
	t    *testing.T
	home string
	repo string
	vars map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, home: t.TempDir(), repo: filepath.Join(t.TempDir(), "repo"), vars: map[string]string{}}
	gitInit(t, h.repo, "git@github.com:org/repo.git")
	return h
}

// gitInit lays out a git repository with an origin remote as git init and
// git remote add would.
func gitInit(t testing.TB, dir, origin string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ".git", "refs"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := "[core]\n\tbare = false\n"
	if origin != "" {
		cfg += "[remote \"origin\"]\n\turl = " + origin + "\n"
	}
	for name, content := range map[string]string{"HEAD": "ref: refs/heads/main\n", "config": cfg} {
		if err := os.WriteFile(filepath.Join(dir, ".git", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (h *harness) runIn(dir, stdin string, args ...string) result {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Params{
		Stdin:   strings.NewReader(stdin),
		Stdout:  &out,
		Stderr:  &errb,
		Getenv:  func(k string) string { return h.vars[k] },
		HomeDir: h.home,
		Dir:     dir,
	})
	r := result{out.String(), errb.String(), code}
	if strings.Contains(r.stderr, marker) || strings.Contains(r.stderr, "hunter2") {
		h.t.Errorf("stderr of %q contains a secret value", args[0])
	}
	return r
}

func (h *harness) run(stdin string, args ...string) result {
	h.t.Helper()
	return h.runIn(h.repo, stdin, args...)
}

func (h *harness) want(r result, code int, stderrHas string) {
	h.t.Helper()
	if r.code != code {
		h.t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.Contains(r.stderr, stderrHas) {
		h.t.Errorf("stderr %q does not contain %q", r.stderr, stderrHas)
	}
	if code != 0 && !strings.HasPrefix(r.stderr, "dstack-secrets: ") {
		h.t.Errorf("error message %q does not start with 'dstack-secrets: '", r.stderr)
	}
}

func (h *harness) list() []string {
	h.t.Helper()
	r := h.run("", "list", "--json")
	if r.code != 0 {
		h.t.Fatalf("list: %d %s", r.code, r.stderr)
	}
	var names []string
	if err := json.Unmarshal([]byte(r.stdout), &names); err != nil {
		h.t.Fatalf("list --json output %q: %v", r.stdout, err)
	}
	return names
}

// storeBytes returns the default store file's bytes.
func (h *harness) storeBytes() []byte {
	data, _ := os.ReadFile(filepath.Join(h.home, ".dstack", "secrets", "default.age"))
	return data
}

func TestAddListDelete(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "list"), 0, "")
	if got := h.list(); len(got) != 0 {
		t.Fatalf("empty list: %q", got)
	}
	h.want(h.run("", "add", "TOKEN", marker), 0, `Added secret TOKEN in project "default" (repository github.com/org/repo)`)
	h.want(h.run("line one\nline two\n\n", "add", "FROM_STDIN"), 0, "Added")
	h.want(h.run("", "add", "B_SECRET", "--", "-starts-with-dash"), 0, "")
	h.want(h.run("", "add", "A_SECRET", "v", "--project", "default"), 0, "")
	r := h.run("", "list")
	if r.stdout != "A_SECRET\nB_SECRET\nFROM_STDIN\nTOKEN\n" {
		t.Errorf("list = %q", r.stdout)
	}
	if got := strings.Join(h.list(), ","); got != "A_SECRET,B_SECRET,FROM_STDIN,TOKEN" {
		t.Errorf("list --json = %q", got)
	}
	if strings.Contains(r.stdout, marker) {
		t.Errorf("list shows a value")
	}
	// The value read from stdin lost exactly one trailing newline.
	store := h.open()
	if v, _ := store.Get(context.Background(), "FROM_STDIN"); v != "line one\nline two\n" {
		t.Errorf("stdin value has %d bytes, want %d", len(v), len("line one\nline two\n"))
	}
	if v, _ := store.Get(context.Background(), "B_SECRET"); v != "-starts-with-dash" {
		t.Errorf("value after -- was not stored as given")
	}

	h.want(h.run("", "delete", "-y", "TOKEN"), 0, "Deleted secret TOKEN")
	h.want(h.run("", "delete", "A_SECRET", "--yes"), 0, "Deleted")
	if got := strings.Join(h.list(), ","); got != "B_SECRET,FROM_STDIN" {
		t.Errorf("after delete: %q", got)
	}
}

func TestFlagsAnywhere(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "K", "v1"), 0, "")
	for _, args := range [][]string{
		{"add", "-y", "K", "v2"},
		{"add", "K", "-y", "v3"},
		{"add", "K", "v4", "-y"},
		{"add", "K", "v5", "--yes"},
		{"--project", "default", "add", "K", "v6", "-y"},
		{"add", "--project=default", "K", "v7", "--yes"},
	} {
		h.want(h.run("", args...), 0, "Updated secret K")
	}
	if v, _ := h.open().Get(context.Background(), "K"); v != "v7" {
		t.Errorf("K = %q", v)
	}
}

func TestOverwriteAndDeleteNeedConfirmation(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "K", marker), 0, "")
	before := h.storeBytes()
	h.want(h.run("", "add", "K", "other"), 1, `secret "K" already exists in project "default" (repository github.com/org/repo); pass -y to overwrite it`)
	h.want(h.run("piped value", "add", "K"), 1, "pass -y")
	h.want(h.run("", "delete", "K"), 1, "needs confirmation; pass -y")
	if !bytes.Equal(before, h.storeBytes()) {
		t.Errorf("a refused command changed the store")
	}
	h.want(h.run("", "delete", "-y", "MISSING"), 1, `secret not found: "MISSING" in project "default"`)
	h.want(h.run("", "delete", "MISSING"), 1, "not found")
}

func TestUsageErrors(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "K", marker), 0, "")
	before := h.storeBytes()
	cases := []struct {
		args []string
		says string
	}{
		{nil, "no command given"},
		{[]string{"bogus"}, `unknown command "bogus" (commands: list, add, delete`},
		{[]string{"add"}, "add: missing NAME [VALUE]"},
		{[]string{"add", "A", "B", "C"}, "add: too many arguments (3 given; expected NAME [VALUE])"},
		{[]string{"add", "K", "-" + marker}, "add: unknown flag"},
		{[]string{"add", "-x", "K"}, "add: unknown flag"},
		{[]string{"add", "-y=" + marker, "K"}, "yes/no flag"},
		{[]string{"delete"}, "delete: missing NAME"},
		{[]string{"list", "extra"}, "list: too many arguments"},
		{[]string{"list", "--project"}, "list: flag --project needs a value"},
		{[]string{"--nope", "list"}, "unknown flag"},
	}
	for _, tc := range cases {
		r := h.run("", tc.args...)
		h.want(r, 2, tc.says)
		if !strings.Contains(r.stderr, "-h' for usage") {
			t.Errorf("%q: no usage hint in %q", tc.args, r.stderr)
		}
	}
	if !bytes.Equal(before, h.storeBytes()) {
		t.Errorf("a usage error changed the store")
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "KEEP", marker), 0, "")
	before := h.storeBytes()
	cases := []struct {
		stdin string
		args  []string
		says  string
	}{
		{"", []string{"add", "1BAD", "v"}, "starts with a digit"},
		{"", []string{"add", "BAD-NAME", "v"}, `'-' at byte 3`},
		{"", []string{"add", "BAD NAME", "v"}, "only letters"},
		{"", []string{"add", "", "v"}, "the name is empty"},
		{"", []string{"add", strings.Repeat("N", 201), "v"}, "the limit is 200"},
		{"", []string{"add", "EMPTY", ""}, "the value is empty"},
		{"", []string{"add", "EMPTY"}, "standard input was empty"},
		{"\n", []string{"add", "EMPTY"}, "standard input was empty"},
		{"", []string{"add", "NUL", "a\x00" + marker}, "NUL byte"},
		{strings.Repeat("x", 70000), []string{"add", "BIG"}, "the limit is 65536 bytes"},
		{"", []string{"add", "KEEP", "x"}, "pass -y"},
		{"", []string{"delete", "-y", "bad.name"}, "invalid secret name"},
		{"", []string{"list", "--project", "nope"}, `unknown project "nope"`},
		{"", []string{"add", "--project", "../x", "K", "v"}, `unknown project "../x"`},
		{"", []string{"list", "--config", "/nonexistent/secrets.yml"}, "configuration file /nonexistent/secrets.yml (named by --config) does not exist"},
		{"", []string{"list", "--repo", "https://github.com"}, "has no path"},
	}
	for _, tc := range cases {
		h.want(h.run(tc.stdin, tc.args...), 1, tc.says)
	}
	if !bytes.Equal(before, h.storeBytes()) {
		t.Errorf("bad input changed the store")
	}
	if got := strings.Join(h.list(), ","); got != "KEEP" {
		t.Errorf("list after bad input: %q", got)
	}
}

func TestOutsideRepository(t *testing.T) {
	h := newHarness(t)
	outside := t.TempDir()
	h.want(h.runIn(outside, "", "list"), 1, "is not inside a git repository; cd into the repository whose secrets you want, or pass --repo")
	// --repo names the repository explicitly, as a URL or as a directory.
	h.want(h.runIn(outside, "", "--repo", "https://github.com/org/repo.git", "add", "K", "v"), 0, "github.com/org/repo")
	r := h.runIn(outside, "", "list", "--repo", h.repo)
	if r.code != 0 || r.stdout != "K\n" {
		t.Errorf("list --repo DIR: %+v", r)
	}
	h.vars["DSTACK_SECRETS_REPO"] = "git@github.com:org/repo"
	if r := h.runIn(outside, "", "list"); r.stdout != "K\n" {
		t.Errorf("DSTACK_SECRETS_REPO: %+v", r)
	}
}

func TestRepositoriesAndProjectsAreSeparate(t *testing.T) {
	h := newHarness(t)
	other := filepath.Join(t.TempDir(), "other")
	gitInit(t, other, "https://github.com/org/other")
	clone := filepath.Join(t.TempDir(), "clone")
	gitInit(t, clone, "https://user:tok@github.com/org/repo") // same repository over HTTPS
	sub := filepath.Join(clone, "deep", "dir")
	os.MkdirAll(sub, 0o755)

	h.want(h.run("", "add", "K", "v"), 0, "")
	if r := h.runIn(other, "", "list"); r.stdout != "" {
		t.Errorf("another repository sees %q", r.stdout)
	}
	if r := h.runIn(sub, "", "list"); r.stdout != "K\n" {
		t.Errorf("a clone over HTTPS, from a subdirectory, sees %q (stderr %q)", r.stdout, r.stderr)
	}
	cfg := filepath.Join(t.TempDir(), "secrets.yml")
	os.WriteFile(cfg, []byte("default_project: main\nprojects:\n  main:\n    backend: file\n  side:\n    backend: file\n    options:\n      dir: "+filepath.Join(h.home, "side")+"\n"), 0o600)
	h.vars["DSTACK_SECRETS_CONFIG"] = cfg
	if r := h.run("", "list"); r.code != 0 || r.stdout != "" {
		t.Errorf("project main sees %+v", r)
	}
	h.want(h.run("", "add", "--project", "side", "S", "v"), 0, `project "side"`)
	h.vars["DSTACK_SECRETS_PROJECT"] = "side"
	if r := h.run("", "list"); r.stdout != "S\n" {
		t.Errorf("DSTACK_SECRETS_PROJECT: %+v", r)
	}
	if r := h.run("", "list", "--project", "main"); r.stdout != "" {
		t.Errorf("--project beats DSTACK_SECRETS_PROJECT: %+v", r)
	}
	os.WriteFile(cfg, []byte("projects:\n  main:\n    backend: fiel\n"), 0o600)
	h.want(h.run("", "list", "--project", "main"), 1, `unknown backend "fiel"`)
	os.WriteFile(cfg, []byte("projects:\n  main:\n    backend: file\n    options:\n      dri: /x\n"), 0o600)
	h.want(h.run("", "list", "--project", "main"), 1, `unknown option "dri" for backend "file"`)
}

func TestCorruptStore(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "K", marker), 0, "")
	path := filepath.Join(h.home, ".dstack", "secrets", "default.age")
	data := h.storeBytes()
	os.WriteFile(path, data[:len(data)/2], 0o600)
	broken := h.storeBytes()
	for _, args := range [][]string{{"list"}, {"add", "N", "v"}, {"add", "-y", "K", "v"}, {"delete", "-y", "K"}} {
		h.want(h.run("", args...), 1, "default.age is damaged or truncated")
	}
	if !bytes.Equal(broken, h.storeBytes()) {
		t.Errorf("a corrupt store was rewritten")
	}
}

func TestWrongPassphrase(t *testing.T) {
	h := newHarness(t)
	cfg := filepath.Join(h.home, ".dstack", "secrets.yml")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	os.WriteFile(cfg, []byte("projects:\n  default:\n    backend: file\n    options:\n      passphrase: true\n      scrypt_work_factor: 10\n      allow_weak_scrypt: true\n"), 0o600)
	h.want(h.run("", "add", "K", "v"), 1, "set DSTACK_SECRETS_PASSPHRASE or run in a terminal")
	h.vars["DSTACK_SECRETS_PASSPHRASE"] = "right horse"
	h.want(h.run("", "add", "K", marker), 0, "")
	before := h.storeBytes()
	h.vars["DSTACK_SECRETS_PASSPHRASE"] = "wrong horse"
	h.want(h.run("", "list"), 1, "wrong passphrase")
	h.want(h.run("", "add", "-y", "K", "v"), 1, "wrong passphrase")
	if !bytes.Equal(before, h.storeBytes()) {
		t.Errorf("wrong passphrase changed the store")
	}
}

func TestHelp(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		args []string
		has  []string
	}{
		{[]string{"-h"}, []string{"Usage: dstack-secrets", "list", "add", "delete", "--config FILE", "--repo REPO"}},
		{[]string{"--help"}, []string{"Commands:"}},
		{[]string{"add", "-h"}, []string{
			"Usage: dstack-secrets add [-h] [--project PROJECT] [-y] [--from-file PATH] NAME [VALUE]",
			"NAME               The name of the secret",
			"VALUE              The value of the secret. If not specified",
			"masked input",
			"--project PROJECT  The name of the project to execute the command for",
			"-y, --yes          Don't ask for confirmation",
		}},
		{[]string{"add", "NAME", "--help"}, []string{"Usage: dstack-secrets add"}},
		{[]string{"delete", "--help"}, []string{
			"Usage: dstack-secrets delete [-h] [--project PROJECT] [-y] NAME...",
			"NAME               The name of a secret (one or more)",
			"-y, --yes          Don't ask for confirmation",
		}},
		{[]string{"list", "-h"}, []string{"Usage: dstack-secrets list", "--json             Print a JSON array of names"}},
		{[]string{"import", "-h"}, []string{"-y, --yes          Overwrite secrets that already exist\n"}},
		{[]string{"copy", "-h"}, []string{
			"NAME                    The secrets to copy",
			"--to-project PROJECT    The project to copy to (required)",
			"--from-project PROJECT  The project to copy from",
			"-y, --yes               Overwrite secrets that already exist in the\n",
			"--project PROJECT       The name of the project",
		}},
		{[]string{"run", "--help"}, []string{"--no-override        Keep an inherited environment variable"}},
	} {
		r := h.run("", tc.args...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%q: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
		for _, s := range tc.has {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("%q: help lacks %q", tc.args, s)
			}
		}
	}
}

// TestHelpLayout checks what every help page shares: "Usage:" first, the
// global flags described once at the end, -h listed, no line wider than
// 79 columns, and the root listing every command with its summary.
func TestHelpLayout(t *testing.T) {
	h := newHarness(t)
	root := h.run("", "-h")
	for _, c := range (&app{}).commands("") {
		if !strings.Contains(root.stdout, fmt.Sprintf("\n  %-11s %s\n", c.Name, c.ShortHelp)) {
			t.Errorf("dstack-secrets -h does not list %s with its summary", c.Name)
		}
		r := h.run("", c.Name, "-h")
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: "+c.ShortUsage+"\n\n") {
			t.Errorf("%s -h: exit %d, stderr %q, does not start with its usage line", c.Name, r.code, r.stderr)
		}
		for _, page := range []result{root, r} {
			for _, s := range []string{"Global Arguments (accepted before or after the command):\n", "  --config FILE ", "  --repo REPO ", "  --project PROJECT "} {
				if n := strings.Count(page.stdout, s); n != 1 {
					t.Errorf("%s -h shows %q %d times, want once", c.Name, s, n)
				}
			}
			if !strings.Contains(page.stdout, "Use the configuration in FILE (default") {
				t.Errorf("%s -h lacks the description of --config", c.Name)
			}
			for _, line := range strings.Split(page.stdout, "\n") {
				if len(line) > 79 && !strings.HasPrefix(line, "Usage: ") {
					t.Errorf("%s -h has a line of %d columns: %q", c.Name, len(line), line)
				}
			}
		}
		if !strings.Contains(r.stdout, "\nOptional Arguments:\n  -h, --help ") {
			t.Errorf("%s -h does not list -h, --help first", c.Name)
		}
	}
}

// TestCommandTable: each entry of the table builds the command it names,
// and a command line that names its command builds that one only.
func TestCommandTable(t *testing.T) {
	a := &app{}
	for _, c := range a.commandTable() {
		if got := c.make().Name; got != c.name {
			t.Errorf("the table's %q builds the command %q", c.name, got)
		}
	}
	for _, tc := range []struct {
		args []string
		want int // commands built
	}{
		{[]string{"list"}, 1},
		{[]string{"--project", "p", "get", "K"}, 1},
		{[]string{"help", "list"}, len(a.commandTable())},
		{[]string{"LIST"}, len(a.commandTable())}, // ffcli matches it, case-insensitively
		{[]string{"--version"}, len(a.commandTable())},
		{[]string{"nosuch"}, len(a.commandTable())},
		{nil, len(a.commandTable())},
	} {
		if got := len(a.commands(CommandName(tc.args))); got != tc.want {
			t.Errorf("%q builds %d commands, want %d", tc.args, got, tc.want)
		}
	}
}

// TestOneCommandTreeAnswersAsTheWholeTree runs command lines whose
// answer comes from the parsing (help, usage errors, unknown commands)
// and compares them with the answer of the whole command tree.
func TestOneCommandTreeAnswersAsTheWholeTree(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{"list", "-h"}, {"get", "--nosuch"}, {"get"}, {"add", "-h", "--project", "x"}, {"LIST", "-h"},
		{"--project", "p", "export", "--format"}, {"run"}, {"list", "extra"}, {"version", "--json", "x"},
		{"nosuch"}, {"lst"}, {"-h"}, {"help", "get"},
	} {
		got := h.run("", args...)
		saved := onlyCommandTree
		onlyCommandTree = false
		want := h.run("", args...)
		onlyCommandTree = saved
		if got != want {
			t.Errorf("%q: with the command's tree %+v, with the whole tree %+v", args, got, want)
		}
	}
}
