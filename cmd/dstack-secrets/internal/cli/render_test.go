package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"DB_PASSWORD": marker, "TOKEN": "t$HOME"})
	tmpl := "type: task\nenv:\n  - DB=${{ secrets.DB_PASSWORD }}\n  - TOKEN=${{secrets.TOKEN}}\n  - HOME=$HOME ${HOME} $$ $${{ literal }}\n"
	want := "type: task\nenv:\n  - DB=" + marker + "\n  - TOKEN=t$HOME\n  - HOME=$HOME ${HOME} $$ ${{ literal }}\n"

	r := h.run(tmpl, "render", "-")
	h.want(r, 0, "")
	if r.stdout != want {
		t.Errorf("render to stdout gives a different text (%d bytes, want %d)", len(r.stdout), len(want))
	}

	out := filepath.Join(t.TempDir(), "run.yml")
	h.want(h.run("", "render", writeTemp(t, tmpl), "-o", out), 0, "")
	got, err := os.ReadFile(out)
	if err != nil || string(got) != want {
		t.Fatalf("render -o: %d bytes, %v", len(got), err)
	}
	if fi, _ := os.Stat(out); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("render -o created mode %o, want 600", fi.Mode().Perm())
	}
}

func TestRenderRefusesWithoutWriting(t *testing.T) {
	h := newHarness(t)
	h.set(map[string]string{"KNOWN": marker})
	out := filepath.Join(t.TempDir(), "out.yml")
	if err := os.WriteFile(out, []byte("previous"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ tmpl, msg string }{
		{"a ${{ secrets.ZED }} ${{ secrets.KNOWN }} ${{ secrets.ALPHA }} ${{ secrets.ZED }}", "2 unknown secrets: ALPHA, ZED"},
		{"line one\n  ${{ secrets.1X }}", "line 2, column 3"},
		{"${{ secrets.KNOWN", "the reference is not closed"},
		{"${{ env.HOME }}", "is not a secret reference"},
	} {
		r := h.run(tc.tmpl, "render", "-", "-o", out)
		h.want(r, 1, tc.msg)
		if !strings.Contains(r.stderr, "nothing was written") || strings.Contains(r.stderr, marker) {
			t.Errorf("render %q: stderr %q", tc.tmpl, r.stderr)
		}
		if got, _ := os.ReadFile(out); string(got) != "previous" {
			t.Errorf("render %q changed the output file", tc.tmpl)
		}
		if r.stdout != "" {
			t.Errorf("render %q wrote %d bytes to stdout", tc.tmpl, len(r.stdout))
		}
	}
	// A template without references needs no store at all.
	h.want(h.run("plain $HOME text", "render", "--project", "nope", "-"), 0, "")
	h.want(h.run("", "render"), 2, "render: missing FILE")
}

func TestImportLiteralAndFormats(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("B=${A}\n", "import", "-"), 1, "--literal")
	h.want(h.run("B=${A}\n", "import", "--literal", "-"), 0, "Imported 1 secret")
	if got := h.all()["B"]; got != "${A}" {
		t.Errorf("--literal stored %d bytes, want the 4 bytes ${A}", len(got))
	}
	h.want(h.run(`{"J": "from json", "N": "x"}`, "import", "-y", "-"), 0, "Imported 2 secrets")
	h.want(h.run("Y: \"from yaml\"\n", "import", "-y", "--format", "yaml", "-"), 0, "Imported 1 secret")
	h.want(h.run(`{"J": 1}`, "import", "-y", "-"), 1, "the value is a number, not a string")
	h.want(h.run("A=1\n", "import", "--format", "github", "-"), 1, "format github cannot be imported")
	h.want(h.run(`{"J": "x"}`, "import", "--literal", "-"), 2, "--literal applies to dotenv files only")
	all := h.all()
	if all["J"] != "from json" || all["Y"] != "from yaml" || all["B"] != "${A}" {
		t.Errorf("imported values differ")
	}
}
