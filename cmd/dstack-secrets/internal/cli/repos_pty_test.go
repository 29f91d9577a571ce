//go:build linux

package cli

import "testing"

// TestMoveConfirmationOnTerminal: at a terminal, move asks before
// overwriting, and "n" moves nothing.
func TestMoveConfirmationOnTerminal(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "-y", "--repo", "github.com/org/old", "A", "old a"), 0, "")
	h.want(h.run("", "add", "-y", "A", "current a"), 0, "")
	question := `1 secret already exists in project "default" (repository github.com/org/repo): A. Overwrite? [y/N] `
	term := newTerminal(t)
	codes, _ := h.runOnTerminal(term, "move", "--from-repo", "github.com/org/old")
	term.waitFor(question)
	term.typeText("n\r")
	if code := <-codes; code != 1 {
		t.Fatalf("declined move exited %d: %q", code, term.text())
	}
	term.waitFor("nothing was moved")
	if r := h.run("", "get", "A"); r.stdout != "current a" {
		t.Fatalf("a declined move changed A")
	}
	term2 := newTerminal(t)
	codes, _ = h.runOnTerminal(term2, "move", "--from-repo", "github.com/org/old")
	term2.waitFor(question)
	term2.typeText("y\r")
	if code := <-codes; code != 0 {
		t.Fatalf("confirmed move exited %d: %q", code, term2.text())
	}
	term2.waitFor(`Moved 1 secret of project "default" from repository github.com/org/old to repository github.com/org/repo: A (1 overwritten: A)`)
	if r := h.run("", "get", "A"); r.stdout != "old a" {
		t.Errorf("the confirmed move did not overwrite A")
	}
}
