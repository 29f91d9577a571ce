package plugin

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Main is the whole main function of a program that only serves a
// backend to dstack-secrets, such as dstack-secrets-vault: started with
// the single argument ServeArg it serves registry() on its standard input
// and output (Serve) and exits, with status 0 once dstack-secrets closed
// the store or its input; with -h or --help it says what it is; with
// anything else it says so on standard error and exits with status 2.
// opts are those of Serve (ServeEnv).
func Main(backend string, registry func() *secrets.Registry, opts ...ServeOption) {
	os.Exit(runMain(backend, os.Args[1:], registry, os.Stdin, os.Stdout, os.Stderr, opts...))
}

// ServeProcess serves reg on the process's standard input and output and
// exits: the ServeArg branch of the main of a program that also has
// commands of its own (dstack-secrets-cloud). dstack-secrets decides when
// the program ends, by closing its standard input; the program is in a
// process group of its own, out of reach of the terminal's signals.
func ServeProcess(backend string, reg *secrets.Registry, opts ...ServeOption) {
	os.Exit(serveProcess(backend, reg, os.Stdin, os.Stdout, os.Stderr, opts...))
}

func serveProcess(backend string, reg *secrets.Registry, in io.Reader, out, stderr io.Writer, opts ...ServeOption) int {
	if err := Serve(context.Background(), reg, in, out, opts...); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", Program(backend), err)
		return 1
	}
	return 0
}

// mainUsage is the help of a program that Main runs.
const mainUsage = `Usage: %[1]s %[2]s

%[1]s serves the %[3]s backend of dstack-secrets in a program of its own,
so that its libraries cost only the commands that open a project on the
%[3]s backend. dstack-secrets starts it; it is not meant to be run by hand.
Install it beside dstack-secrets, from the same checkout:

  go install ./cmd/...
`

func runMain(backend string, args []string, registry func() *secrets.Registry, in io.Reader, out, stderr io.Writer, opts ...ServeOption) int {
	program := Program(backend)
	switch {
	case len(args) == 1 && args[0] == ServeArg:
		return serveProcess(backend, registry(), in, out, stderr, opts...)
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		fmt.Fprintf(out, mainUsage, program, ServeArg, backend)
		return 0
	}
	fmt.Fprintf(stderr, "%s: this program is started by dstack-secrets, with the single argument %s (run '%s -h')\n", program, ServeArg, program)
	return 2
}
