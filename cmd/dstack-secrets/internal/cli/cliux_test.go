package cli

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"list", "list", 0},
		{"lsit", "list", 1}, // a swap of neighbours is one edit
		{"versoin", "version", 1},
		{"ad", "add", 1},
		{"delte", "delete", 1},
		{"expotr", "export", 1},
		{"abc", "", 3},
		{"ca", "abc", 3}, // optimal string alignment: no edit of a swapped pair
		{"kitten", "sitting", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := editDistance(tc.b, tc.a); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	commands := commandList((&app{}).commands(""))
	for typed, want := range map[string]string{
		"lsit": "list", "lits": "list", "ad": "add", "dlete": "delete", "gte": "get", "improt": "import",
		"exprot": "export", "rnu": "run", "cpy": "copy", "rendr": "render", "redcat": "redact", "hlep": "help",
		"verison": "version", "completoin": "completion", "ls": "list", "rm": "delete", "set": "add",
		"bogus": "", "x": "", "frobnicate": "", "": "", "listing": "",
	} {
		if got := suggest(typed, commands, commandSynonyms); got != want {
			t.Errorf("suggest(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestUnknownCommandsAndFlags(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "K", marker), 0, "")
	before := h.storeBytes()
	for _, tc := range []struct {
		args []string
		says string
		not  []string // must not be in the message
	}{
		{[]string{"lsit"}, `unknown command "lsit" (did you mean list?) (run 'dstack-secrets -h' for usage)`, nil},
		{[]string{"ls"}, `unknown command "ls" (did you mean list?)`, nil},
		{[]string{"frobnicate"}, `unknown command "frobnicate" (commands: list, add, delete, get, import, export, run, copy, repos, move, render, redact, history, rollback, key, identity, share, help, version, completion)`, nil},
		{[]string{"ls\x1b[2J"}, `unknown command "ls\x1b[2J"`, []string{"\x1b"}},
		{[]string{"help", "lsit"}, `unknown command "lsit" (did you mean list?)`, nil},
		{[]string{"--versoin"}, "dstack-secrets: unknown flag --versoin (did you mean --version?) (run 'dstack-secrets -h' for usage)", []string{"'--'"}},
		{[]string{"--versoin=1", "list"}, "unknown flag --versoin (did you mean --version?)", []string{"=1"}},
		{[]string{"list", "--jsno"}, "list: unknown flag --jsno (did you mean --json?) (run 'dstack-secrets list -h' for usage)", []string{"'--'"}},
		{[]string{"list", "--porject", "x"}, "list: unknown flag --porject (did you mean --project?)", nil},
		{[]string{"run", "--no-overide", "true"}, "run: unknown flag --no-overide (did you mean --no-override?)", nil},
		{[]string{"add", "--force", "A", "v"}, "add: unknown flag --force (run", []string{"did you mean", "'--'"}},
		{[]string{"delete", "--yse", "K"}, "delete: unknown flag --yse (did you mean --yes?)", nil},
		{[]string{"list", "--version"}, "list: unknown flag --version (it goes before the command: dstack-secrets --version)", nil},
		// Anything that does not look like a long flag may be a value:
		// not named, and '--' is the way to pass it.
		{[]string{"add", "K", "-" + marker}, "add: unknown flag (to pass an argument that starts with '-', such as a value, put it after '--')", nil},
		{[]string{"add", "K", "--" + marker}, "add: unknown flag (to pass", nil},
		{[]string{"add", "K", "--" + strings.ToLower(marker[:6]) + "=" + marker}, "add: unknown flag --marker (run", nil},
		{[]string{"add", "K", "-x"}, "add: unknown flag (to pass", []string{"-x"}},
		{[]string{"add", "K", "--Yes"}, "add: unknown flag (to pass", []string{"--Yes"}},
		{[]string{"add", "K", "--a_b"}, "add: unknown flag (to pass", []string{"a_b"}},
		{[]string{"add", "K", "--" + strings.Repeat("a", 50)}, "add: unknown flag (to pass", []string{"aaaa"}},
		{[]string{"add", "K", "---" + strings.ToLower(marker)}, "add: an argument starts with '-' but is not a flag (to pass", nil},
		{[]string{"add", "K", "-=" + marker}, "add: an argument starts with '-' but is not a flag", nil},
		{[]string{"list", "--project"}, "list: flag --project needs a value (run 'dstack-secrets list -h' for usage)", []string{" -project"}},
		{[]string{"list", "-project"}, "list: flag --project needs a value", nil},
		{[]string{"--config"}, "global flags: flag --config needs a value", nil},
		{[]string{"render", "-o"}, "render: flag -o needs a value", nil},
		{[]string{"run", "--file", "A=b=c", "true"}, `run: invalid value "A=b=c" for flag --file:`, nil},
	} {
		r := h.run("", tc.args...)
		h.want(r, 2, tc.says)
		for _, s := range tc.not {
			if strings.Contains(r.stderr, s) {
				t.Errorf("%q: message %q contains %q", tc.args, r.stderr, s)
			}
		}
		if strings.Contains(r.stderr, marker) || strings.Contains(r.stderr, strings.ToLower(marker)) {
			t.Errorf("%q: the message echoes the value", tc.args)
		}
	}
	if !bytes.Equal(before, h.storeBytes()) {
		t.Errorf("a usage error changed the store")
	}
}

func TestDescribeBuild(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	rev := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}, true,
			"dstack-secrets version v1.2.0 (go1.26.8)"},
		{"checkout build", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20260501100000-0123456789ab+dirty"},
			Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.time", "2026-05-01T10:00:00Z", "vcs.modified", "true")}, true,
			"dstack-secrets version v0.0.0-20260501100000-0123456789ab+dirty (revision 0123456789ab with local changes, 2026-05-01T10:00:00Z, go1.26.8)"},
		{"devel with vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", rev, "vcs.time", "2026-05-01T10:00:00Z", "vcs.modified", "false")}, true,
			"dstack-secrets version (devel) (a development build, not a release; revision 0123456789ab, 2026-05-01T10:00:00Z, go1.26.8)"},
		{"devel without vcs", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, true,
			"dstack-secrets version (devel) (a development build, not a release, built without version control information; go1.26.8)"},
		{"no build info", nil, false, "dstack-secrets version unknown (the binary carries no build information)"},
	} {
		if got := describeBuild(tc.bi, tc.ok); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// runWithBuild runs the CLI with the given build information.
func (h *harness) runWithBuild(bi *debug.BuildInfo, args ...string) result {
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, Params{
		Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return h.vars[k] }, HomeDir: h.home, Dir: h.repo,
		BuildInfo: func() (*debug.BuildInfo, bool) { return bi, bi != nil },
	})
	return result{out.String(), errb.String(), code}
}

func TestVersion(t *testing.T) {
	h := newHarness(t)
	release := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}}
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}, {"--version", "list"}, {"--project", "x", "--version"}} {
		r := h.runWithBuild(release, args...)
		if r.code != 0 || r.stdout != "dstack-secrets version v1.2.0 (go1.26.8)\n" || r.stderr != "" {
			t.Errorf("%q: %+v", args, r)
		}
	}
	h.want(h.runWithBuild(release, "version", "extra"), 2, "version: too many arguments")
	// The real build information of the test binary: a development build.
	if r := h.run("", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "dstack-secrets version ") {
		t.Errorf("version of the test binary: %+v", r)
	}
}

func TestHelpCommand(t *testing.T) {
	h := newHarness(t)
	root := h.run("", "-h")
	for _, args := range [][]string{{"help"}, {"--help"}} {
		if r := h.run("", args...); r.code != 0 || r.stdout != root.stdout {
			t.Errorf("%q differs from -h", args)
		}
	}
	for _, c := range (&app{}).commands("") {
		want := h.run("", c.Name, "-h")
		got := h.run("", "help", c.Name)
		if got.code != 0 || got.stderr != "" || got.stdout != want.stdout {
			t.Errorf("help %s differs from %s -h (exit %d, stderr %q)", c.Name, c.Name, got.code, got.stderr)
		}
	}
	h.want(h.run("", "help", "add", "list"), 2, "help: too many arguments")
}

// TestRootHelpListsEnvironment finds every DSTACK_SECRETS_* variable that
// the CLI or a backend reads (a string literal in a non-test source file)
// and checks that the root help lists it.
func TestRootHelpListsEnvironment(t *testing.T) {
	h := newHarness(t)
	help := h.run("", "-h").stdout
	if !strings.Contains(help, "\nEnvironment (a flag wins over its variable, which wins over the\nconfiguration file):\n") {
		t.Fatalf("the root help has no Environment section:\n%s", help)
	}
	literal := regexp.MustCompile(`"(DSTACK_SECRETS_[A-Z0-9_]+)"`)
	found := map[string]bool{}
	for _, dir := range []string{"../../../../secrets", "../../../../backends", "."} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range literal.FindAllStringSubmatch(string(data), -1) {
				if !strings.HasPrefix(m[1], "DSTACK_SECRETS_TEST_") { // the test services' variables
					found[m[1]] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(found) < 5 {
		t.Fatalf("found only %d variables in the sources: %v", len(found), found)
	}
	for v := range found {
		if !regexp.MustCompile(`\n  ` + v + ` +\S`).MatchString(help) {
			t.Errorf("the root help does not describe %s", v)
		}
	}
}

func TestAddVerbs(t *testing.T) {
	h := newHarness(t)
	where := ` in project "default" (repository github.com/org/repo)`
	h.want(h.run("", "add", "A", "v1"), 0, "Added secret A"+where)
	h.want(h.run("", "add", "-y", "B", "v1"), 0, "Added secret B"+where)
	h.want(h.run("", "add", "-y", "B", "v2"), 0, "Updated secret B"+where)
	h.want(h.run("piped", "add", "--yes", "C"), 0, "Added secret C")
	h.want(h.run("piped again", "add", "--yes", "C"), 0, "Updated secret C")
	if got := h.all(); !maps.Equal(got, map[string]string{"A": "v1", "B": "v2", "C": "piped again"}) {
		t.Errorf("store holds %d secrets, not what was added", len(got))
	}
}

// deleteFailing wraps a real store whose Delete fails for one name, and
// whose writes fail after the first failed Delete when writesFail is set.
type deleteFailing struct {
	secrets.Store
	name       string
	writesFail bool
	mu         sync.Mutex
	failed     bool
}

func (d *deleteFailing) Delete(ctx context.Context, name string) error {
	if name == d.name {
		d.mu.Lock()
		d.failed = true
		d.mu.Unlock()
		return fmt.Errorf("%w: %w", secrets.ErrUnavailable, errInjected)
	}
	return d.Store.Delete(ctx, name)
}

func (d *deleteFailing) Set(ctx context.Context, name, value string) error {
	d.mu.Lock()
	fail := d.failed && d.writesFail
	d.mu.Unlock()
	if fail {
		return fmt.Errorf("%w: %w", secrets.ErrUnavailable, errInjected)
	}
	return d.Store.Set(ctx, name, value)
}

// runDeleteFailing runs the CLI on the harness's file store behind
// deleteFailing.
func (h *harness) runDeleteFailing(name string, writesFail bool, args ...string) result {
	h.t.Helper()
	reg := secrets.NewRegistry(secrets.Backend{
		Name: "failing",
		Open: func(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
			s, err := file.Open(ctx, req.Scope, file.Options{Dir: filepath.Join(h.home, ".dstack", "secrets")})
			if err != nil {
				return nil, err
			}
			// Unwrap: the registry wraps the store again, and the file
			// store's own atomic batch would bypass the injected failure.
			return &deleteFailing{Store: secrets.Unwrap(s), name: name, writesFail: writesFail}, nil
		},
	})
	cfg := filepath.Join(h.home, "failing.yml")
	os.WriteFile(cfg, []byte("projects:\n  default:\n    backend: failing\n"), 0o600)
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"--config", cfg}, args...), Params{
		Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return h.vars[k] }, HomeDir: h.home, Dir: h.repo, Registry: reg,
	})
	if strings.Contains(errb.String(), marker) {
		h.t.Errorf("stderr contains a secret value")
	}
	return result{out.String(), errb.String(), code}
}

func TestDeleteSeveral(t *testing.T) {
	h := newHarness(t)
	all := map[string]string{"A": marker + "a", "B": marker + "b", "C": marker + "c", "D": marker + "d"}
	h.set(all)
	before := h.storeBytes()
	where := `project "default" (repository github.com/org/repo)`
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"delete", "-y", "A", "MISSING"}, 1, `secret not found: "MISSING" in project "default", repository github.com/org/repo (backend file, file `},
		{[]string{"delete", "-y", "A", "MISSING"}, 1, `default.age) (nothing deleted)`},
		{[]string{"delete", "-y", "A", "MISSING", "B", "GONE"}, 1, "secret not found: 2 of the 4 names: MISSING, GONE in " + where + " (nothing deleted)"},
		{[]string{"delete", "-y", "A", "bad-name"}, 1, "invalid secret name"},
		{[]string{"delete", "A", "B"}, 1, "deleting 2 secrets (A, B) from " + where + " needs confirmation; pass -y"},
		{[]string{"delete"}, 2, "delete: missing NAME"},
	} {
		h.want(h.run("", tc.args...), tc.code, tc.says)
	}
	if !bytes.Equal(before, h.storeBytes()) {
		t.Fatalf("a refused delete changed the store")
	}
	h.want(h.run("", "delete", "-y", "A", "C", "A"), 0, "Deleted 2 secrets (A, C) from "+where)
	if got := h.all(); !maps.Equal(got, map[string]string{"B": all["B"], "D": all["D"]}) {
		t.Errorf("after deleting A and C: %v", slices.Sorted(maps.Keys(got)))
	}
	h.want(h.run("", "delete", "-y", "D"), 0, "Deleted secret D from "+where)

	// A failure midway: B and C were deleted before D failed; both come
	// back with their values.
	h.set(all)
	want := h.all()
	r := h.runDeleteFailing("D", false, "delete", "-y", "B", "C", "D", "A")
	h.want(r, 1, "deleting D failed: backend unavailable: injected backend failure; the secrets deleted before it were restored (B, C)")
	if got := h.all(); !maps.Equal(got, want) {
		t.Errorf("after the restore: %v", slices.Sorted(maps.Keys(got)))
	}
	// The first delete fails: nothing to restore.
	h.want(h.runDeleteFailing("B", false, "delete", "-y", "B", "C"), 1, "deleting B failed, nothing was deleted: backend unavailable")
	// The restore fails too: the message says what stays deleted.
	r = h.runDeleteFailing("D", true, "delete", "-y", "B", "C", "D")
	h.want(r, 1, "deleting D failed: backend unavailable: injected backend failure; restoring the secrets deleted before it failed too (")
	h.want(r, 1, "): B, C stay deleted")
	if got := h.all(); got["B"] != "" || got["C"] != "" || got["D"] != all["D"] || got["A"] != all["A"] {
		t.Errorf("the message does not match the store: %v", slices.Sorted(maps.Keys(got)))
	}
}

func TestNotice(t *testing.T) {
	var errb bytes.Buffer
	a := &app{Params: Params{Stderr: &errb}}
	a.notice("created the key /k: back it up")
	a.notice("created the key /k: back it up")
	a.notice("other")
	if got := errb.String(); got != "dstack-secrets: created the key /k: back it up\ndstack-secrets: other\n" {
		t.Errorf("notices: %q", got)
	}
}

// complete runs "__complete words..." and returns the mode and candidates.
func (h *harness) complete(words ...string) (string, []string) {
	h.t.Helper()
	r := h.run("", append([]string{completeCommand}, words...)...)
	if r.code != 0 || r.stderr != "" {
		h.t.Fatalf("__complete %q: exit %d, stderr %q", words, r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	return lines[0], lines[1:]
}

func TestCompletions(t *testing.T) {
	h := newHarness(t)
	h.useConfig("default_project: laptop\nprojects:\n  laptop:\n    backend: file\n  team:\n    backend: file\n    options:\n      dir: " +
		filepath.Join(h.home, "team") + "\n  locked:\n    backend: file\n    options:\n      passphrase: true\n      dir: " + filepath.Join(h.home, "locked") + "\n")
	h.want(h.run("", "add", "TOKEN", marker), 0, "")
	h.want(h.run("", "add", "DB_PASSWORD", marker), 0, "")
	h.want(h.run("", "add", "--project", "team", "TEAM_KEY", marker), 0, "")
	h.vars["DSTACK_SECRETS_PASSPHRASE"] = "pass"
	h.want(h.run("", "add", "--project", "locked", "LOCKED", marker), 0, "")
	delete(h.vars, "DSTACK_SECRETS_PASSPHRASE")
	solo := filepath.Join(h.home, "solo.yml")
	os.WriteFile(solo, []byte("projects:\n  solo:\n    backend: file\n    options:\n      dir: "+filepath.Join(h.home, "solo")+"\n"), 0o600)
	h.want(h.run("", "--config", solo, "add", "SOLO_KEY", marker), 0, "")
	snapshot := func() map[string]string {
		files := map[string]string{}
		filepath.WalkDir(h.home, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := os.ReadFile(path)
				files[path] = string(data)
			}
			return nil
		})
		return files
	}
	before := snapshot()
	all := []string{"list", "add", "delete", "get", "import", "export", "run", "copy", "repos", "move", "render", "redact", "history", "rollback", "key", "identity", "share", "help", "version", "completion"}
	for _, tc := range []struct {
		words []string
		mode  string
		want  []string
	}{
		{nil, "words", all},
		{[]string{""}, "words", all},
		{[]string{"l"}, "words", []string{"list"}},
		{[]string{"co"}, "words", []string{"copy", "completion"}},
		{[]string{"nosuch", ""}, "words", nil},
		{[]string{"--"}, "words", []string{"--help", "--config", "--project", "--repo", "--timeout", "--version"}},
		{[]string{"-"}, "words", []string{"-h", "--help", "--config", "--project", "--repo", "--timeout", "--version"}},
		{[]string{"list", "--j"}, "words", []string{"--json"}},
		{[]string{"delete", "-"}, "words", []string{"-h", "--help", "--config", "--project", "--repo", "--timeout", "-y", "--yes"}},
		{[]string{"get", ""}, "words", []string{"DB_PASSWORD", "TOKEN"}},
		{[]string{"get", "T"}, "words", []string{"TOKEN"}},
		{[]string{"get", "TOKEN", ""}, "words", nil},
		{[]string{"delete", "TOKEN", ""}, "words", []string{"DB_PASSWORD"}},
		{[]string{"delete", "-y", "TOKEN", "--project", "laptop", ""}, "words", []string{"DB_PASSWORD"}},
		{[]string{"--project", "team", "get", ""}, "words", []string{"TEAM_KEY"}},
		{[]string{"get", "--project=team", ""}, "words", []string{"TEAM_KEY"}},
		{[]string{"copy", "--to-project", "laptop", "--from-project", "team", ""}, "words", []string{"TEAM_KEY"}},
		{[]string{"key", ""}, "words", []string{"export", "import"}},
		{[]string{"key", "import", ""}, "files", nil},
		{[]string{"move", "--from-repo", "github.com/"}, "words", []string{"github.com/org/repo"}},
		{[]string{"--project", "locked", "get", ""}, "words", nil}, // needs a passphrase: nothing asked, nothing listed
		{[]string{"--project", ""}, "words", []string{"laptop", "locked", "team"}},
		{[]string{"list", "--project", "t"}, "words", []string{"team"}},
		{[]string{"list", "--project=l"}, "words", []string{"--project=laptop", "--project=locked"}},
		{[]string{"--config", "~/solo.yml", "--project", ""}, "words", []string{"solo"}},
		{[]string{"--config=~/solo.yml", "get", ""}, "words", []string{"SOLO_KEY"}},
		{[]string{"copy", "--to-project", ""}, "words", []string{"laptop", "locked", "team"}},
		{[]string{"--config", ""}, "files", nil},
		{[]string{"--config=~/x"}, "files", nil},
		{[]string{"--repo", ""}, "dirs", nil},
		{[]string{"export", "--format", "d"}, "words", []string{"docker", "dotenv", "dotenv-godotenv", "dotenv-node", "dotenv-python"}},
		{[]string{"import", "--format", "d"}, "words", []string{"docker", "dotenv"}},
		{[]string{"import", ""}, "files", nil},
		{[]string{"render", "-o", ""}, "files", nil},
		{[]string{"redact", ""}, "files", nil},
		{[]string{"redact", "--mask-format", ""}, "words", []string{"stars", "name"}},
		{[]string{"run", "--mask-format=n"}, "words", []string{"--mask-format=name"}},
		{[]string{"run", ""}, "commands", nil},
		{[]string{"run", "--no-override", "--", ""}, "commands", nil},
		{[]string{"run", "env", ""}, "files", nil},
		{[]string{"run", "env", "-"}, "files", nil},
		{[]string{"help", "v"}, "words", []string{"version"}},
		{[]string{"help", "get", ""}, "words", nil},
		{[]string{"completion", ""}, "words", []string{"bash", "zsh", "fish"}},
		{[]string{"share", ""}, "words", []string{"list", "add", "remove"}},
		{[]string{"share", "add", ""}, "words", nil},
		{[]string{"add", "-y", ""}, "words", nil},
		{[]string{"add", "--", "-"}, "words", nil},
		{[]string{"list", "--json=", ""}, "words", nil},
	} {
		mode, got := h.complete(tc.words...)
		if mode != tc.mode || !slices.Equal(got, tc.want) {
			t.Errorf("__complete %q = %s %q, want %s %q", tc.words, mode, got, tc.mode, tc.want)
		}
	}
	// Completion never shows a value, and never writes: every file under
	// the home directory is as it was.
	if r := h.run("", completeCommand, "--project", "team", "get", ""); strings.Contains(r.stdout, marker) {
		t.Errorf("completion printed a value")
	}
	if !maps.Equal(before, snapshot()) {
		t.Errorf("completion changed files under the home directory")
	}
}

func TestCompletionScripts(t *testing.T) {
	h := newHarness(t)
	for shell, has := range map[string]string{
		"bash": "complete -F _dstack_secrets dstack-secrets\n",
		"zsh":  "#compdef dstack-secrets\n",
		"fish": "complete -c dstack-secrets -f -a '(__dstack_secrets_complete)'\n",
	} {
		r := h.run("", "completion", shell)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, has) || !strings.Contains(r.stdout, "__complete") {
			t.Errorf("completion %s: exit %d, stderr %q", shell, r.code, r.stderr)
		}
	}
	h.want(h.run("", "completion", "tcsh"), 2, `completion: unknown shell "tcsh" (shells: bash, zsh, fish)`)
	h.want(h.run("", "completion"), 2, "completion: missing SHELL")
	if r := h.run("", "-h"); strings.Contains(r.stdout, completeCommand) {
		t.Errorf("the root help shows the hidden %s command", completeCommand)
	}
}
