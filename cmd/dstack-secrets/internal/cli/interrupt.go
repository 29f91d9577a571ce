package cli

// CommandName returns the command that args (without the program name)
// select, or "" when they select none: the first argument after the
// global flags. The program uses it before Run to decide how to handle
// signals (run forwards them to its child; other commands stop).
func CommandName(args []string) string {
	fs := (&app{}).newFlagSet("dstack-secrets")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		return ""
	}
	return fs.Arg(0)
}
