package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAddFromFile: add --from-file reads the value from a file (one
// trailing newline removed, as from standard input), so it never appears
// on the command line; mistakes are errors naming the file.
func TestAddFromFile(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "key.json")
	content := "{\n  \"private_key\": \"" + marker + "\"\n}\n"
	if err := os.WriteFile(key, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	h.want(h.run("", "add", "--from-file", key, "GCP_KEY"), 0, "Added secret GCP_KEY")
	if r := h.run("", "get", "GCP_KEY"); r.stdout != strings.TrimSuffix(content, "\n") {
		t.Errorf("value read from the file: mismatch (%d bytes, want %d)", len(r.stdout), len(content)-1)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 64*1024+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	h.want(h.run("", "add", "--from-file", filepath.Join(dir, "missing"), "A"), 1, "missing")
	h.want(h.run("", "add", "--from-file", dir, "A"), 1, "is a directory")
	h.want(h.run("", "add", "--from-file", empty, "A"), 1, "is empty")
	h.want(h.run("", "add", "--from-file", big, "A"), 1, "65537")
	h.want(h.run("", "add", "--from-file", key, "A", "value"), 2, "not both")
	if names := h.list(); len(names) != 1 {
		t.Errorf("secrets after the failures: %v", names)
	}
}

// TestAddHelpWarnsAboutArgv: add -h says that a VALUE argument is visible
// to others and in the shell's history, and shows the safe forms.
func TestAddHelpWarnsAboutArgv(t *testing.T) {
	h := newHarness(t)
	r := h.run("", "add", "-h")
	for _, want := range []string{"visible to other users", "history", "--from-file", "masked prompt", "standard input"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("add -h does not say %q", want)
		}
	}
}
