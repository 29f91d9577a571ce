// Command dstack-secrets manages the secrets of dstack projects: passwords
// and tokens that workflows need but that must never be hard-coded. Secrets
// belong to a project and to the current git repository, and reach running
// workflows as environment variables.
//
// Usage:
//
//	dstack-secrets [--config FILE] [--repo REPO] [--project PROJECT] <command> [flags] [args]
//
// Run "dstack-secrets -h" for the commands and "dstack-secrets COMMAND -h"
// for each command's flags.
package main

import (
	"context"
	"io"
	"os"

	"github.com/dstackai/dstack-secrets/cmd/dstack-secrets/internal/cli"
	"github.com/dstackai/dstack-secrets/internal/nocore"
)

func main() {
	// Decrypted secrets never end up in a core dump (see package nocore);
	// run's command gets the process's limits back.
	_ = nocore.Disable()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole CLI with its standard streams injected; the process
// environment, home directory and working directory are the real ones.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run(ctx, args, cli.Params{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}
