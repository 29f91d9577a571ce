package file_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// fixtureV1 is what testdata/v1/proj.age holds: a store of the first
// format, written by the backend as it was before the indexed format.
var fixtureV1 = map[string]map[string]string{
	"github.com/org/repo": {
		"API_TOKEN":   "tok_0123456789abcdef",
		"MULTI_LINE":  "line one\nline two\n",
		"QUOTED":      `she said "hi" \ back`,
		"UNICODE":     "héllo wörld ✓ 日本",
		"_UNDERSCORE": "x",
	},
	"gitlab.com/team/other-repo": {
		"DB_PASSWORD": "p@ss w0rd",
		"EMPTYISH":    " ",
	},
}

// copyFixture copies testdata/<name> into a new store directory (the key
// with mode 0600, which git does not keep).
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"proj.age", "proj.key"} {
		data, err := os.ReadFile(filepath.Join("testdata", name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sameValues compares secrets without printing values.
func sameValues(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d secrets, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s is missing", what, k)
		} else if g != v {
			t.Errorf("%s: %s: value mismatch (%d bytes, want %d)", what, k, len(g), len(v))
		}
	}
}

// plaintext decrypts a store file with the age library.
func plaintext(t *testing.T, dir string) []byte {
	t.Helper()
	keyData, err := os.ReadFile(filepath.Join(dir, "proj.key"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(keyData))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "proj.age"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := age.Decrypt(f, ids...)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// storeJSON is the part of a decrypted store that a human or jq reads.
type storeJSON struct {
	Format       string                       `json:"format"`
	Repositories map[string]map[string]string `json:"repositories"`
}

// TestMigrationFromV1 reads a store of the first format: reads give its
// secrets and leave the file as it is; the next write rewrites it in the
// indexed format with every secret of every repository.
func TestMigrationFromV1(t *testing.T) {
	ctx := context.Background()
	dir := copyFixture(t, "v1")
	path := filepath.Join(dir, "proj.age")
	before, _ := os.ReadFile(path)
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	stores := map[string]secrets.Store{}
	for repo, want := range fixtureV1 {
		s, err := file.Open(ctx, secrets.Scope{Project: "proj", Repository: repo}, file.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		stores[repo] = s
		names, err := s.List(ctx)
		if err != nil || len(names) != len(want) {
			t.Fatalf("List %s: %v, %v", repo, names, err)
		}
		for name, v := range want {
			if got, err := s.Get(ctx, name); err != nil || got != v {
				t.Errorf("Get %s %s: %v (match %v)", repo, name, err, got == v)
			}
		}
		all, err := secrets.GetAll(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		sameValues(t, "v1 "+repo, all, want)
	}
	after, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if !bytes.Equal(before, after) || !fi.ModTime().Equal(old) {
		t.Fatal("reading a v1 store rewrote it")
	}
	if !strings.Contains(string(plaintext(t, dir)), `"format":"dstack-secrets/file/v1"`) {
		t.Fatal("the fixture is not a v1 store")
	}

	// The next write migrates the whole file.
	if err := stores["github.com/org/repo"].Set(ctx, "ADDED", "after migration"); err != nil {
		t.Fatal(err)
	}
	plain := plaintext(t, dir)
	if !bytes.HasPrefix(plain, []byte(`{"format":"dstack-secrets/file/v2","toc":[`)) {
		t.Fatalf("the write did not migrate the store to v2")
	}
	var doc storeJSON
	if err := json.Unmarshal(plain, &doc); err != nil {
		t.Fatalf("the migrated store is not JSON: %v", err)
	}
	want := map[string]map[string]string{}
	for repo, m := range fixtureV1 {
		want[repo] = map[string]string{}
		for k, v := range m {
			want[repo][k] = v
		}
	}
	want["github.com/org/repo"]["ADDED"] = "after migration"
	if len(doc.Repositories) != len(want) {
		t.Errorf("migrated store has %d repositories, want %d", len(doc.Repositories), len(want))
	}
	for repo, m := range want {
		sameValues(t, "migrated JSON "+repo, doc.Repositories[repo], m)
		// A fresh Store reads the migrated file.
		s, _ := file.Open(ctx, secrets.Scope{Project: "proj", Repository: repo}, file.Options{Dir: dir})
		all, err := secrets.GetAll(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		sameValues(t, "migrated "+repo, all, m)
	}
	checkAgeCLI(t, dir, want)
}

// TestAgeCLIRecovers writes a store with values that need escaping and
// reads it back with the standard age and jq programs, as
// docs/file-format.md tells a user to.
func TestAgeCLIRecovers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	want := map[string]map[string]string{
		"github.com/org/repo": {
			"MULTI_LINE": "line one\nline two\r\n\ttab",
			"QUOTED":     `she said "hi" \ back`,
			"UNICODE":    "héllo ✓ 日本 \u2028",
			"HTML":       "<b>&amp;</b>",
			"CONTROL":    "a\x01b\x1fc",
			"TOKEN":      "tok_0123456789",
		},
		"gitlab.com/x/y": {"OTHER": "v"},
	}
	for repo, m := range want {
		s, err := file.Open(ctx, secrets.Scope{Project: "proj", Repository: repo}, file.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if err := secrets.SetMany(ctx, s, m, false); err != nil {
			t.Fatal(err)
		}
	}
	checkAgeCLI(t, dir, want)
}

// checkAgeCLI decrypts dir's proj.age with the age program and checks what
// a user reads: the JSON document, and jq's view of one repository.
func checkAgeCLI(t *testing.T, dir string, want map[string]map[string]string) {
	t.Helper()
	ageBin := program(t, "age")
	out, err := exec.Command(ageBin, "-d", "-i", filepath.Join(dir, "proj.key"), filepath.Join(dir, "proj.age")).Output()
	if err != nil {
		t.Fatalf("age -d: %v", err)
	}
	var doc storeJSON
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("age -d gave no JSON: %v", err)
	}
	if doc.Format != "dstack-secrets/file/v2" {
		t.Errorf("age -d: format %s", doc.Format)
	}
	for repo, m := range want {
		sameValues(t, "age -d "+repo, doc.Repositories[repo], m)
	}
	// The recipe of docs/file-format.md: one repository as a JSON object.
	jq := program(t, "jq")
	for repo, m := range want {
		cmd := exec.Command(jq, "--arg", "r", repo, ".repositories[$r]")
		cmd.Stdin = bytes.NewReader(out)
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("jq: %v", err)
		}
		var obj map[string]string
		if err := json.Unmarshal(got, &obj); err != nil {
			t.Fatalf("jq gave no JSON object: %v", err)
		}
		sameValues(t, "jq "+repo, obj, m)

		// The names, one per line.
		names := jqRaw(t, jq, out, "--arg", "r", repo, ".repositories[$r] | keys[]")
		if want := strings.Join(slices.Sorted(maps.Keys(m)), "\n") + "\n"; names != want {
			t.Errorf("jq names of %s: %q, want %q", repo, names, want)
		}
		for name, v := range m {
			// One value, raw (jq -r adds a newline).
			if got := jqRaw(t, jq, out, "--arg", "r", repo, "--arg", "n", name, ".repositories[$r][$n]"); got != v+"\n" {
				t.Errorf("jq -r value of %s %s: mismatch (%d bytes, want %d)", repo, name, len(got), len(v)+1)
			}
		}
		// Shell exports, evaluated by sh.
		exports := jqRaw(t, jq, out, "--arg", "r", repo, `.repositories[$r] | to_entries[] | "export \(.key)=\(.value | @sh)"`)
		script := exports
		order := slices.Sorted(maps.Keys(m))
		for _, name := range order {
			script += `printf '%s\0' "$` + name + `"` + "\n"
		}
		printed, err := exec.Command("/bin/sh", "-c", script).Output()
		if err != nil {
			t.Fatalf("sh with the exports of %s: %v", repo, err)
		}
		vals := strings.Split(strings.TrimSuffix(string(printed), "\x00"), "\x00")
		if len(vals) != len(order) {
			t.Fatalf("sh printed %d values, want %d", len(vals), len(order))
		}
		for i, name := range order {
			if vals[i] != m[name] {
				t.Errorf("exported %s: mismatch (%d bytes, want %d)", name, len(vals[i]), len(m[name]))
			}
		}
	}
}

func jqRaw(t *testing.T, jq string, input []byte, args ...string) string {
	t.Helper()
	cmd := exec.Command(jq, append([]string{"-r"}, args...)...)
	cmd.Stdin = bytes.NewReader(input)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq -r %s: %v", args[len(args)-1], err)
	}
	return string(out)
}

// program returns the path of an external program, failing when the test
// environment requires it (DSTACK_SECRETS_TEST_REQUIRE_SERVICES) and
// skipping otherwise.
func program(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatalf("%s is not installed (scripts/services/agecli.sh installs it)", name)
	}
	t.Skipf("%s is not installed; install it with: apt-get install age jq (or run scripts/test)", name)
	return ""
}
