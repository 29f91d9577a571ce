package reliability

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestTerminalEscapes: a repository whose origin URL holds terminal escape
// sequences (clear the screen, set the title, a bidirectional override)
// gives messages with those characters escaped, on every path that names
// the repository: success reports, not-found errors, and a missing
// repository directory.
func TestTerminalEscapes(t *testing.T) {
	s := newSandbox(t)
	evil := "git@github.com:org/re\x1b[2J\x1b]0;pwned\x07po\u202e.git"
	writeFile(t, filepath.Join(s.repo, ".git", "config"), "[remote \"origin\"]\n\turl = "+evil+"\n", 0o644)
	bad := func(out string) bool { return strings.ContainsAny(out, "\x1b\x07\u202e") }
	for _, args := range [][]string{
		{"add", "A", "v"},
		{"add", "A", "v"},
		{"get", "MISSING"},
		{"delete", "-y", "MISSING"},
		{"list"},
		{"--repo", "/nonexistent/\x1b[2J", "list"},
		{"--repo", "git@github.com:org/\x1b[2J", "list", "--project", "x\x1by"},
	} {
		r := s.run("", args...)
		if bad(r.stderr) || bad(r.stdout) {
			t.Errorf("%q: a terminal control character reaches the terminal: stderr %q, stdout %q", args, r.stderr, r.stdout)
		}
		if !strings.Contains(r.stderr+r.stdout, `\x1b`) && args[0] != "list" {
			t.Errorf("%q: the escaped identity is not shown: %q", args, r.stderr)
		}
	}
}
