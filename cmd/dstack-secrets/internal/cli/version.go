package cli

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"
)

func (a *app) versionCommand() *ffcli.Command {
	fs := a.newFlagSet("version")
	return &ffcli.Command{
		Name:       "version",
		ShortUsage: "dstack-secrets version [-h]",
		ShortHelp:  "Print the version of dstack-secrets (same as --version)",
		LongHelp: `Prints the module version of dstack-secrets, the version control revision it
was built from (when the build recorded one) and the Go version. A binary
built from a source checkout rather than installed from a release says
"(devel)" or shows a pseudo-version (v0.0.0-DATE-REVISION).`,
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if _, err := a.positional(fs, args, 0, 0, "no arguments"); err != nil {
				return err
			}
			_, err := fmt.Fprintln(a.Stdout, a.versionText())
			return err
		},
	}
}

// versionText describes the running binary from its build information.
func (a *app) versionText() string {
	read := a.BuildInfo
	if read == nil {
		read = debug.ReadBuildInfo
	}
	return describeBuild(read())
}

// describeBuild describes a build in one line:
//
//	dstack-secrets version v1.2.0 (go1.26.8)
//	dstack-secrets version v0.0.0-20260501100000-0123456789ab+dirty (revision 0123456789ab with local changes, 2026-05-01T10:00:00Z, go1.26.8)
//	dstack-secrets version (devel) (a development build, not a release; revision 0123456789ab, 2026-05-01T10:00:00Z, go1.26.8)
//
// The version is the main module's (set by go install MODULE@VERSION, or a
// pseudo-version from the VCS by go build in a checkout); the revision,
// its time and whether the tree had local changes come from the vcs.*
// build settings when the build recorded them.
func describeBuild(bi *debug.BuildInfo, ok bool) string {
	if !ok || bi == nil {
		return "dstack-secrets version unknown (the binary carries no build information)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var details []string
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		d := "revision " + rev
		if settings["vcs.modified"] == "true" {
			d += " with local changes"
		}
		details = append(details, d)
		if t := settings["vcs.time"]; t != "" {
			details = append(details, t)
		}
	}
	if bi.GoVersion != "" {
		details = append(details, bi.GoVersion)
	}
	version := bi.Main.Version
	if version == "" || version == "(devel)" {
		dev := "a development build, not a release"
		if _, ok := settings["vcs.revision"]; !ok {
			dev += ", built without version control information"
		}
		if len(details) > 0 {
			dev += "; " + strings.Join(details, ", ")
		}
		return fmt.Sprintf("dstack-secrets version (devel) (%s)", dev)
	}
	if len(details) == 0 {
		return "dstack-secrets version " + version
	}
	return fmt.Sprintf("dstack-secrets version %s (%s)", version, strings.Join(details, ", "))
}
