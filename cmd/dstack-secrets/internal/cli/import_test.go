package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/internal/dotenv"
	"github.com/dstackai/dstack-secrets/internal/envfmt"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

// all returns every secret of the harness's default store.
func (h *harness) all() map[string]string {
	h.t.Helper()
	m, err := secrets.GetAll(context.Background(), h.open())
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// writeTemp writes a file for import.
func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secrets.env")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func trickyWithMarker() map[string]string {
	m := secretstest.TrickyValues()
	m["TOKEN"] = marker
	m["SINGLE_QUOTE"] = "it's " + marker
	m["CR_ONLY"] = "a\rb"
	m["BACKSLASH_END"] = `C:\dir\`
	m["HASH"] = " # " + marker
	m["ZERO_PADDED"] = "007"
	return m
}

// exportable keeps the values that format can hold: docker has no line
// breaks, and the common dotenv format refuses what its peers read
// differently (both refusals are tested in internal/envfmt and
// internal/dotenv, and TestExportRefusal checks the message).
func exportable(format string, vars map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range vars {
		switch format {
		case "docker":
			if strings.ContainsAny(v, "\n") || strings.HasSuffix(v, "\r") || len(k)+1+len(v) > envfmt.DockerMaxLine {
				continue
			}
		case "dotenv":
			if _, err := dotenv.Quote(v); err != nil {
				continue
			}
		}
		out[k] = v
	}
	return out
}

// TestExportImportRoundTrip exports tricky values in every format that
// import reads, imports them into a fresh home (from a file and from
// stdin, detecting the format where import can) and exports again: values
// and bytes must be identical.
func TestExportImportRoundTrip(t *testing.T) {
	for _, format := range []string{"dotenv", "docker", "shell", "json", "yaml", "k8s"} {
		t.Run(format, func(t *testing.T) {
			src := newHarness(t)
			want := exportable(format, trickyWithMarker())
			src.set(want)
			exp := src.run("", "export", "--format", format)
			src.want(exp, 0, "")
			if exp.stderr != "" {
				t.Errorf("export wrote on stderr: %q", exp.stderr)
			}
			detected := format == "dotenv" || format == "json" || format == "yaml" || format == "k8s"
			for _, how := range []string{"file", "stdin"} {
				dst := newHarness(t)
				args := []string{"import", "--format", format}
				if detected && how == "file" {
					args = args[:1] // the format is detected
				}
				var r result
				if how == "file" {
					r = dst.run("", append(args, writeTemp(t, exp.stdout))...)
				} else {
					r = dst.run(exp.stdout, append(args, "-")...)
				}
				dst.want(r, 0, fmt.Sprintf("Imported %d secrets into project \"default\" (repository github.com/org/repo): ", len(want)))
				if got := dst.all(); !maps.Equal(got, want) {
					for name := range want {
						if got[name] != want[name] {
							t.Errorf("%s: %s differs after export and import", how, name)
						}
					}
				}
				if format == "k8s" {
					continue // the Secret's name comes from the project, the same here
				}
				if again := dst.run("", "export", "--format", format); again.stdout != exp.stdout {
					t.Errorf("%s: exporting the imported secrets gives different bytes", how)
				}
			}
			if format == "dotenv" {
				// CRLF line endings read the same.
				crlf := newHarness(t)
				crlf.want(crlf.run("", "import", writeTemp(t, strings.ReplaceAll(exp.stdout, "\n", "\r\n"))), 0, "Imported")
				if got := crlf.all(); !maps.Equal(got, want) {
					t.Errorf("the CRLF version of the export imports different values")
				}
			}
			if format == "json" && !strings.Contains(exp.stdout, `"SHELL": "$(rm -rf /) `+"`x`"+` ${HOME} ; | & > <"`) {
				t.Errorf("JSON output escapes HTML characters or is not indented")
			}
		})
	}
}

// TestExportRefusal: a value the common dotenv format cannot hold for every
// peer is refused by name, nothing is written, and the format for it works.
func TestExportRefusal(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"OK": "plain", "TEMPLATE": "${HOME}/" + marker})
	r := h.run("", "export")
	h.want(r, 1, "TEMPLATE")
	if r.stdout != "" || !strings.Contains(r.stderr, "dotenv-node") || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("refused export: stdout %d bytes, stderr %q", len(r.stdout), r.stderr)
	}
	h.want(h.run("", "export", "--format", "dotenv-node"), 0, "")
	multi := newHarness(t)
	multi.set(map[string]string{"KEY": "line one\nline two " + marker})
	r = multi.run("", "export", "--format", "docker")
	multi.want(r, 1, "docker: cannot write KEY: its value has a line break")
	if r.stdout != "" {
		t.Errorf("refused docker export wrote %d bytes", len(r.stdout))
	}
}

func TestExportEmptyAndFormats(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		args []string
		out  string
	}{
		{[]string{"export"}, ""},
		{[]string{"export", "--format", "dotenv"}, ""},
		{[]string{"export", "--format=json"}, "{}\n"},
	} {
		r := h.run("", tc.args...)
		if r.code != 0 || r.stdout != tc.out || r.stderr != "" {
			t.Errorf("%q on an empty store: %+v", tc.args, r)
		}
	}
	h.set(map[string]string{"B": "two\nlines", "A": "it's"})
	if r := h.run("", "export"); r.stdout != "A=\"it's\"\nB='two\nlines'\n" {
		t.Errorf("export = %q", r.stdout)
	}
	h.want(h.run("", "export", "--format", "toml"), 2, `export: unknown format "toml" (formats: docker, dotenv, dotenv-godotenv`)
	h.want(h.run("", "export", "extra"), 2, "export: too many arguments")
	h.want(h.run("", "export", "--project", "nope"), 1, `unknown project "nope"`)
}

func TestImportSyntax(t *testing.T) {
	h := newHarness(t)
	doc := "# exported from CI\r\n" +
		"export API_TOKEN=abc123  # inline comment\r\n" +
		"\r\n" +
		"PLAIN = value with spaces \r\n" +
		"SINGLE='$HOME is not expanded \\n'\r\n" +
		"DOUBLE=\"tab\\nthere 'quoted' $ HOME\"\r\n" +
		"MULTI=\"-----BEGIN KEY-----\r\nAAAA\r\n-----END KEY-----\r\n\"\r\n" +
		"   # indented comment\n" +
		"LAST=no trailing newline"
	h.want(h.run("", "import", writeTemp(t, doc)), 0, "Imported 6 secrets into project \"default\" (repository github.com/org/repo): API_TOKEN, PLAIN, SINGLE, DOUBLE, MULTI, LAST\n")
	want := map[string]string{
		"API_TOKEN": "abc123",
		"PLAIN":     "value with spaces",
		"SINGLE":    `$HOME is not expanded \n`,
		"DOUBLE":    "tab\nthere 'quoted' $ HOME",
		"MULTI":     "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n",
		"LAST":      "no trailing newline",
	}
	if got := h.all(); !maps.Equal(got, want) {
		t.Errorf("imported %q, want %q", got, want)
	}
}

// TestImportAllOrNothing feeds bad documents whose values hold the marker:
// each must fail with the line number, write nothing and print no value.
func TestImportAllOrNothing(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"KEEP": marker})
	before := h.storeBytes()
	m := marker
	good := ""
	for i := 0; i < 50; i++ {
		good += fmt.Sprintf("GOOD_%d=%s\n", i, m)
	}
	cases := []struct {
		name, doc, says string
	}{
		{"broken double quote", "A=1\nB=\"" + m + "\nC=3\n", `line 2: B: the double-quoted value is not closed`},
		{"broken single quote", good + "B='" + m, `line 51: B: the single-quoted value is not closed`},
		{"text after quote", "B='" + m + "'" + m, "line 1: B: unexpected text after the closing quote"},
		{"unknown escape", "B=\"" + m + `\q"`, "line 1: B: unknown escape sequence"},
		{"invalid name", good + "BAD-NAME=" + m + "\n", "line 51: expected NAME=VALUE"},
		{"name starting with a digit", "1A=" + m, "line 1: expected NAME=VALUE"},
		{"raw value line", good + m + "\n", "line 51: expected NAME=VALUE"},
		{"words without =", "A=1\nsome " + m + "\n", "line 2: expected '=' after the name"},
		{"name too long", strings.Repeat("N", 201) + "=" + m, "line 1: invalid secret name: the name is 201 bytes long; the limit is 200"},
		{"empty value", good + "EMPTY=\n", "line 51: EMPTY: invalid secret value: the value is empty"},
		{"empty quoted value", "EMPTY=''", "line 1: EMPTY: invalid secret value: the value is empty"},
		{"NUL in a quoted value", "A=\"" + m + "\x00" + m + "\"", "line 1: A: invalid secret value: the value has a NUL byte"},
		{"value too large", "A=" + strings.Repeat("x", secrets.MaxValueSize) + m, "line 1: A: invalid secret value: the value is 65560 bytes long"},
		{"duplicate", "A=" + m + "\nA=" + m, "line 2: A: assigned more than once (also on line 1)"},
		{"control character", "A=" + m + "\x1b", "line 1: A: the unquoted value contains a control character"},
		{"invalid UTF-8", "A=1\nB=" + m + "\xff", "line 2: not valid UTF-8 text"},
		{"several invalid lines", "A=\nB=ok\nC=''\n" + strings.Repeat("N", 201) + "=x\n", "has 3 invalid lines (nothing was imported):\n  line 1: A: invalid secret value: the value is empty; an empty environment variable cannot carry a secret\n  line 3: C: invalid secret value: the value is empty"},
		{"existing name", "NEW=" + m + "\nKEEP=" + m + "\n", `1 secret already exists in project "default" (repository github.com/org/repo): KEEP; pass -y to overwrite (nothing was imported)`},
		{"empty file", "", "holds no NAME=VALUE lines; nothing was imported"},
		{"only comments", "# A=" + m + "\n\n", "holds no NAME=VALUE lines"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, tc.doc)
			r := h.run("", "import", p)
			h.want(r, 1, tc.says)
			if !strings.Contains(r.stderr, "nothing was imported") {
				t.Errorf("the error does not say that nothing was imported: %q", r.stderr)
			}
			h.want(h.run(tc.doc, "import", "-"), 1, tc.says[strings.Index(tc.says, " "):])
			if !bytes.Equal(before, h.storeBytes()) {
				t.Fatalf("a failed import changed the store")
			}
		})
	}
	if got := h.all(); !maps.Equal(got, map[string]string{"KEEP": marker}) {
		t.Errorf("store after failed imports: %d secrets", len(got))
	}
}

func TestImportExisting(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"A": "old a", "B": "old b", "KEEP": "keep"})
	before := h.storeBytes()
	doc := writeTemp(t, "A="+marker+"\nNEW=new\nB=new b\n")
	h.want(h.run("", "import", doc), 1, `2 secrets already exist in project "default" (repository github.com/org/repo): A, B; pass -y to overwrite`)
	if !bytes.Equal(before, h.storeBytes()) {
		t.Fatalf("a refused import changed the store")
	}
	h.want(h.run("", "import", "-y", doc), 0, `Imported 3 secrets into project "default" (repository github.com/org/repo): A, NEW, B (2 overwritten: A, B)`)
	want := map[string]string{"A": marker, "B": "new b", "NEW": "new", "KEEP": "keep"}
	if got := h.all(); !maps.Equal(got, want) {
		t.Errorf("after import -y: %d secrets, want %d", len(got), len(want))
	}
	h.want(h.run("", "import", doc, "--yes"), 0, "3 overwritten")
}

func TestImportFileErrors(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	unreadable := filepath.Join(dir, "unreadable.env")
	os.WriteFile(unreadable, []byte("A=1"), 0o000)
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"import", filepath.Join(dir, "missing.env")}, 1, "cannot read " + filepath.Join(dir, "missing.env") + ": no such file or directory"},
		{[]string{"import", dir}, 1, dir + " is a directory; name a file"},
		{[]string{"import"}, 2, "import: missing FILE"},
		{[]string{"import", "a", "b"}, 2, "import: too many arguments"},
		{[]string{"import", "-y=" + marker, "a"}, 2, "yes/no flag"},
	} {
		h.want(h.run("", tc.args...), tc.code, tc.says)
	}
	if os.Geteuid() != 0 { // root reads any file
		h.want(h.run("", "import", unreadable), 1, "permission denied")
	}
	if names := h.list(); len(names) != 0 {
		t.Errorf("failed imports stored %q", names)
	}
}

// flakyStore wraps a real store and fails the one Set that follows the
// first allowed ones.
type flakyStore struct {
	secrets.Store
	mu      sync.Mutex
	allowed int
}

var errInjected = errors.New("injected backend failure")

func (f *flakyStore) Set(ctx context.Context, name, value string) error {
	f.mu.Lock()
	f.allowed--
	fail := f.allowed == -1
	f.mu.Unlock()
	if fail {
		return fmt.Errorf("%w: %w", secrets.ErrUnavailable, errInjected)
	}
	return f.Store.Set(ctx, name, value)
}

// runFlaky runs the CLI with a "flaky" backend: the file store under the
// harness's home whose Set fails after allowed successful calls.
func (h *harness) runFlaky(allowed int, stdin string, args ...string) result {
	h.t.Helper()
	reg := secrets.NewRegistry(file.Backend(), secrets.Backend{
		Name: "flaky",
		Open: func(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
			s, err := file.Open(ctx, req.Scope, file.Options{Dir: filepath.Join(h.home, ".dstack", "secrets")})
			if err != nil {
				return nil, err
			}
			return &flakyStore{Store: s, allowed: allowed}, nil
		},
	})
	cfg := filepath.Join(h.home, "flaky.yml")
	os.WriteFile(cfg, []byte("projects:\n  default:\n    backend: flaky\n"), 0o600)
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"--config", cfg}, args...), Params{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return h.vars[k] }, HomeDir: h.home, Dir: h.repo, Registry: reg,
	})
	if strings.Contains(errb.String(), marker) {
		h.t.Errorf("stderr contains a secret value")
	}
	return result{out.String(), errb.String(), code}
}

// TestImportRollback makes the backend fail midway: the secrets written
// before the failure are restored or deleted. secrets.SetMany writes in
// name order: A, NEW_1, NEW_2, NEW_3.
func TestImportRollback(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"A": "old a", "KEEP": "keep"})
	want := h.all()
	doc := "NEW_1=" + marker + "\nA=" + marker + "\nNEW_2=" + marker + "\nNEW_3=" + marker + "\n"
	for allowed := 0; allowed < 4; allowed++ {
		r := h.runFlaky(allowed, doc, "import", "-y", "-")
		says := "the " + fmt.Sprint(allowed) + " secrets written before it were rolled back, nothing changed"
		if allowed == 0 {
			says = "storing A failed, nothing was written: backend unavailable: injected backend failure"
		}
		h.want(r, 1, says)
		if got := h.all(); !maps.Equal(got, want) {
			t.Errorf("failure after %d writes left %d secrets (A restored: %v)", allowed, len(got), got["A"] == "old a")
		}
	}
	h.want(h.runFlaky(4, doc, "import", "-y", "-"), 0, "Imported 4 secrets")
}

// hidingStore wraps a real store and lists no secrets, as if every secret
// had been created by someone else after the CLI listed them.
type hidingStore struct{ secrets.Store }

func (hidingStore) List(context.Context) ([]string, error) { return nil, nil }

// TestImportCreatedMeanwhile imports a name that the store did not list but
// that exists when it is written: nothing changes, and the error says that
// someone else created it.
func TestImportCreatedMeanwhile(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"A": "old a"})
	before := h.storeBytes()
	reg := secrets.NewRegistry(secrets.Backend{
		Name: "hiding",
		Open: func(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
			s, err := file.Open(ctx, req.Scope, file.Options{Dir: filepath.Join(h.home, ".dstack", "secrets")})
			return hidingStore{s}, err
		},
	})
	cfg := filepath.Join(h.home, "hiding.yml")
	os.WriteFile(cfg, []byte("projects:\n  default:\n    backend: hiding\n"), 0o600)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--config", cfg, "import", "-"}, Params{
		Stdin: strings.NewReader("A=" + marker + "\nNEW=" + marker + "\n"), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return h.vars[k] }, HomeDir: h.home, Dir: h.repo, Registry: reg,
	})
	r := result{out.String(), errb.String(), code}
	h.want(r, 1, `secrets were created by someone else meanwhile (pass -y to overwrite them): storing A failed, nothing was written: secret already exists: "A" in project "default"`)
	if strings.Contains(r.stderr, marker) {
		t.Errorf("stderr holds a value")
	}
	if !bytes.Equal(before, h.storeBytes()) {
		t.Errorf("the import changed the store")
	}
}
