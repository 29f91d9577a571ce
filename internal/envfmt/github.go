package envfmt

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strings"
)

// GitHub is the file that a GitHub Actions step appends to $GITHUB_ENV to
// set environment variables for the later steps of its job:
//
//	NAME=value
//	OTHER<<DSTACK_SECRETS_EOF_<32 random hex digits>
//	line one
//	line two
//	DSTACK_SECRETS_EOF_<32 random hex digits>
//
// A value without a line feed is written NAME=value (the runner takes the
// rest of the line as it is); a multi-line value is written as a heredoc
// with a delimiter drawn from crypto/rand (Options.Rand) for each variable,
// drawn again while it occurs anywhere in the value, so that no line of the
// value can end it early. The runner rules followed are those of
// actions/runner's SetEnvFileCommand.
//
// The writer refuses, naming the variable: NODE_OPTIONS (in any case; the
// runner refuses to set it from $GITHUB_ENV), a value that ends with a
// carriage return (the Windows runner takes CR LF as the line end and drops
// it) and a NUL byte.
//
// The runner does not mask values set this way in the job's log: mask each
// one first (echo "::add-mask::$VALUE").
//
// There is no reader: the file is consumed by the runner.
func GitHub() Format {
	return Format{
		Name:    "github",
		Summary: "the $GITHUB_ENV file of GitHub Actions (NAME=value, NAME<<DELIMITER for multi-line values)",
		Write:   writeGitHub,
	}
}

// GitHubDelimiterPrefix starts every heredoc delimiter of the github format.
const GitHubDelimiterPrefix = "DSTACK_SECRETS_EOF_"

func writeGitHub(w io.Writer, vars map[string]string, opts Options) error {
	names, err := sortedChecked("github", vars, true)
	if err != nil {
		return err
	}
	random := opts.Rand
	if random == nil {
		random = rand.Reader
	}
	var b bytes.Buffer
	for _, name := range names {
		v := vars[name]
		switch {
		case strings.EqualFold(name, "NODE_OPTIONS"):
			return &Error{Format: "github", Name: name, Msg: "the GitHub Actions runner refuses to set NODE_OPTIONS from $GITHUB_ENV; set it in the workflow's env: instead"}
		case strings.HasSuffix(v, "\r"):
			return &Error{Format: "github", Name: name, Msg: "its value ends with a carriage return, which the GitHub Actions runner on Windows drops; pass it another way (dstack-secrets run)"}
		}
		if !strings.Contains(v, "\n") {
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(v)
			b.WriteByte('\n')
			continue
		}
		delim, err := githubDelimiter(random, v)
		if err != nil {
			return &Error{Format: "github", Name: name, Msg: err.Error()}
		}
		b.WriteString(name)
		b.WriteString("<<")
		b.WriteString(delim)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
		b.WriteString(delim)
		b.WriteByte('\n')
	}
	return writeAll(w, &b)
}

type delimiterError string

func (e delimiterError) Error() string { return string(e) }

// githubDelimiter draws a delimiter that does not occur in v.
func githubDelimiter(random io.Reader, v string) (string, error) {
	var buf [16]byte
	for range 8 {
		if _, err := io.ReadFull(random, buf[:]); err != nil {
			return "", delimiterError("cannot draw a random heredoc delimiter: " + err.Error())
		}
		d := GitHubDelimiterPrefix + hex.EncodeToString(buf[:])
		if !strings.Contains(v, d) {
			return d, nil
		}
	}
	return "", delimiterError("every random heredoc delimiter drawn occurs in the value; the random source is broken")
}
