//go:build linux

package cli

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestIssue12Frictions replays, as a new user would, each friction of the
// CLI that issue 12 lists (the command-line ones: the repository identity
// and the key are other tests), and shows what the CLI does now. Prompts
// run on a real pseudo-terminal.
func TestIssue12Frictions(t *testing.T) {
	h := newHarness(t)

	t.Run("no --version", func(t *testing.T) {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
		want := "dstack-secrets version (devel) (a development build, not a release; revision 0123456789ab with local changes, go1.26.8)\n"
		for _, args := range [][]string{{"--version"}, {"version"}} {
			if r := h.runWithBuild(bi, args...); r.code != 0 || r.stdout != want {
				t.Errorf("%q: %+v", args, r)
			}
		}
	})

	t.Run("no help or help add", func(t *testing.T) {
		if r := h.run("", "help", "add"); r.code != 0 || r.stdout != h.run("", "add", "-h").stdout {
			t.Errorf("help add: %+v", r)
		}
		if r := h.run("", "help"); r.code != 0 || !strings.Contains(r.stdout, "\nCommands:\n") {
			t.Errorf("help: %+v", r)
		}
	})

	t.Run("no shell completion", func(t *testing.T) {
		for _, shell := range []string{"bash", "zsh", "fish"} {
			if r := h.run("", "completion", shell); r.code != 0 || !strings.Contains(r.stdout, "dstack-secrets") {
				t.Errorf("completion %s: %+v", shell, r)
			}
		}
		// (The scripts are loaded into real shells by the tests of package
		// main.)
	})

	t.Run("no did-you-mean for lsit", func(t *testing.T) {
		h.want(h.run("", "lsit"), 2, `unknown command "lsit" (did you mean list?)`)
	})

	t.Run("an unknown flag is not named and -- is suggested", func(t *testing.T) {
		r := h.run("", "--versoin")
		h.want(r, 2, "dstack-secrets: unknown flag --versoin (did you mean --version?) (run 'dstack-secrets -h' for usage)\n")
		if strings.Contains(r.stderr, "'--'") {
			t.Errorf("suggests '--' for a flag: %q", r.stderr)
		}
	})

	t.Run("add -y on a new name says Set, a prompted add says Added", func(t *testing.T) {
		h.want(h.run("", "add", "-y", "FIRST", "v"), 0, "Added secret FIRST")
		term := newTerminal(t)
		codes, _ := h.runOnTerminal(term, "add", "PROMPTED")
		term.waitFor("Value of PROMPTED: ")
		term.waitEcho(false)
		term.typeText(typedSecret + "\r")
		if code := <-codes; code != 0 {
			t.Fatalf("prompted add exited %d: %q", code, term.text())
		}
		term.waitFor("Added secret PROMPTED")
		// An overwrite is "Updated" both ways.
		h.want(h.run("", "add", "-y", "FIRST", "w"), 0, "Updated secret FIRST")
		term2 := newTerminal(t)
		codes, _ = h.runOnTerminal(term2, "add", "PROMPTED")
		term2.waitFor("Overwrite it? [y/N] ")
		term2.typeText("y\r")
		term2.waitFor("Value of PROMPTED: ")
		term2.waitEcho(false)
		term2.typeText(typedSecret + "\r")
		if code := <-codes; code != 0 {
			t.Fatalf("confirmed overwrite exited %d: %q", code, term2.text())
		}
		term2.waitFor("Updated secret PROMPTED")
		if strings.Contains(term.text()+term2.text(), typedSecret) {
			t.Errorf("the typed value was echoed")
		}
	})

	t.Run("a missing value for --project is reported as -project", func(t *testing.T) {
		r := h.run("", "list", "--project")
		h.want(r, 2, "list: flag --project needs a value")
		if strings.Contains(r.stderr, " -project") {
			t.Errorf("%q", r.stderr)
		}
	})

	t.Run("delete takes one name only", func(t *testing.T) {
		h.want(h.run("", "add", "SECOND", "v"), 0, "")
		before := h.storeBytes()
		h.want(h.run("", "delete", "-y", "FIRST", "NOPE"), 1, "(nothing deleted)")
		if string(before) != string(h.storeBytes()) {
			t.Fatalf("a refused delete changed the store")
		}
		term := newTerminal(t)
		codes, _ := h.runOnTerminal(term, "delete", "FIRST", "SECOND")
		term.waitFor(`Delete 2 secrets (FIRST, SECOND) from project "default" (repository github.com/org/repo)? [y/N] `)
		term.typeText("y\r")
		if code := <-codes; code != 0 {
			t.Fatalf("delete exited %d: %q", code, term.text())
		}
		term.waitFor(`Deleted 2 secrets (FIRST, SECOND) from project "default"`)
		if got := strings.Join(h.list(), ","); got != "PROMPTED" {
			t.Errorf("left %q", got)
		}
	})

	t.Run("the root help does not list the DSTACK_SECRETS_ variables", func(t *testing.T) {
		r := h.run("", "-h")
		for _, v := range []string{"DSTACK_SECRETS_CONFIG", "DSTACK_SECRETS_PROJECT", "DSTACK_SECRETS_REPO", "DSTACK_SECRETS_PASSPHRASE"} {
			if !strings.Contains(r.stdout, "\n  "+v+" ") {
				t.Errorf("the root help lacks %s", v)
			}
		}
	})

	t.Run("run nosuchcmd does not name the command", func(t *testing.T) {
		h.want(h.run("", "run", "nosuchcmd"), ExitNotFound, `run: command "nosuchcmd" not found (check its spelling and PATH)`)
		r := h.run("", "run", "nosuch\x1b]0;title\x07cmd")
		h.want(r, ExitNotFound, `run: command "nosuch\x1b]0;title\acmd" not found`)
		if strings.ContainsAny(r.stderr, "\x1b\x07") {
			t.Errorf("a control character of the command name reached the terminal: %q", r.stderr)
		}
	})
}
