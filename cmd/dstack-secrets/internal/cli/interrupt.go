package cli

// CommandName returns the command that args (without the program name)
// select, or "" when they select none: the first argument after the
// global flags. The program uses it before Run to decide how to handle
// signals (see HandlesInterrupts).
func CommandName(args []string) string {
	fs := (&app{}).newFlagSet("dstack-secrets")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return ""
	}
	return fs.Arg(0)
}

// readOnlyCommands only read: interrupted, they have nothing to undo. ""
// is a command line that names no command (help, --version, a usage
// error).
var readOnlyCommands = map[string]bool{
	"": true, "list": true, "get": true, "export": true, "repos": true, "history": true,
	"version": true, "help": true, "completion": true, completeCommand: true,
}

// HandlesInterrupts reports whether the program must turn SIGINT and
// SIGTERM into the cancellation of the context of the command name
// (CommandName): the commands that write (import, copy, add, delete, ...)
// then stop, roll back what they wrote and say so, with exit code 128 +
// the signal's number. The commands that only read keep the signals'
// default action, which ends the process at once (the shell sees the same
// 130 or 143): there is nothing to roll back, a backend's program ends
// when its input closes, and a masked prompt still restores the terminal
// (it catches the signals itself). Catching signals costs every command a
// few threads and wake-ups, a sixth of a "list" on an empty store. run
// forwards the signals to its child itself.
func HandlesInterrupts(name string) bool {
	return name != "run" && !readOnlyCommands[name]
}
