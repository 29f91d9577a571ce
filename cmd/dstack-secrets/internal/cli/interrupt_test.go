package cli

import "testing"

func TestHandlesInterrupts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"import", "f.env"}, true},
		{[]string{"--project", "p", "copy", "--to-project", "q"}, true},
		{[]string{"add", "K", "v"}, true},
		{[]string{"delete", "-y", "K"}, true},
		{[]string{"move", "--from-repo", "x"}, true},
		{[]string{"rollback", "--to", "1", "K"}, true},
		{[]string{"IMPORT", "f.env"}, true}, // ffcli runs import: the safe side
		{[]string{"run", "--", "env"}, false},
		{[]string{"list"}, false},
		{[]string{"--repo", "github.com/o/r", "get", "K"}, false},
		{[]string{"export", "--format", "json"}, false},
		{[]string{"--version"}, false},
		{nil, false},
	} {
		if got := HandlesInterrupts(CommandName(tc.args)); got != tc.want {
			t.Errorf("%q: HandlesInterrupts = %v, want %v", tc.args, got, tc.want)
		}
	}
	// Every command that is not read-only is handled, and every read-only
	// name is a command.
	names := map[string]bool{"": true, completeCommand: true}
	for _, c := range (&app{}).commandTable() {
		names[c.name] = true
	}
	for name := range readOnlyCommands {
		if !names[name] {
			t.Errorf("read-only command %q does not exist", name)
		}
	}
}
