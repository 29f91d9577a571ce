package envfmt

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DockerMaxLine is the longest line, in bytes without its line ending,
// that docker's env-file reader accepts (it reads lines with a
// bufio.Scanner, whose token limit is 64 KiB).
const DockerMaxLine = 64*1024 - 1

// Docker is the env-file format of "docker run --env-file" (and docker
// create, docker service create): one NAME=value line per variable. Docker
// takes every byte after the first '=' literally, up to the line end:
// quotes and backslashes stay part of the value, and a line break cannot be
// written. Leading white space of a line is dropped, which never touches a
// value (the name comes first); trailing white space is kept.
//
// The writer refuses, naming the variable:
//   - a value with a line break (LF), which would end the line;
//   - a value that ends with a carriage return, which docker drops as part
//     of a CRLF line ending;
//   - a NUL byte;
//   - a line longer than DockerMaxLine bytes, which docker refuses.
//
// The reader follows docker's rules (UTF-8, byte order mark, leading white
// space and '#' comment lines, LF or CRLF line endings) and is stricter
// where docker would guess: NAME without '=' (docker copies it from its own
// environment), a name given twice (docker keeps the last) and a name that
// is not an environment variable name are errors.
func Docker() Format {
	return Format{
		Name:    "docker",
		Summary: "docker run --env-file: NAME=value lines, no quoting, no multi-line values",
		Write:   writeDocker,
		Read:    readDocker,
	}
}

func writeDocker(w io.Writer, vars map[string]string, _ Options) error {
	names, err := sortedChecked("docker", vars, true)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, name := range names {
		v := vars[name]
		switch {
		case strings.IndexByte(v, '\n') >= 0:
			return &Error{Format: "docker", Name: name, Msg: "its value has a line break, which docker's env-file format cannot hold (one line per variable, no quoting); use another format (dotenv, json, yaml), or pass it with dstack-secrets run"}
		case strings.HasSuffix(v, "\r"):
			return &Error{Format: "docker", Name: name, Msg: "its value ends with a carriage return, which docker's env-file reader drops; use another format (dotenv, json, yaml), or pass it with dstack-secrets run"}
		case len(name)+1+len(v) > DockerMaxLine:
			return &Error{Format: "docker", Name: name, Msg: fmt.Sprintf("its line would be %d bytes long; docker reads env-file lines of at most %d bytes", len(name)+1+len(v), DockerMaxLine)}
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	return writeAll(w, &b)
}

func readDocker(data []byte) (map[string]string, error) {
	errorf := func(line int, name, msg string) error {
		return &Error{Format: "docker", Line: line, Name: name, Msg: msg}
	}
	vars := map[string]string{}
	seen := map[string]int{}
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		n := i + 1
		line = strings.TrimSuffix(line, "\r")
		if !utf8.ValidString(line) {
			return nil, errorf(n, "", "not valid UTF-8 text; save the file as UTF-8")
		}
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if len(line) > DockerMaxLine {
			return nil, errorf(n, "", fmt.Sprintf("the line is %d bytes long; docker reads lines of at most %d bytes", len(line), DockerMaxLine))
		}
		line = strings.TrimLeftFunc(line, unicode.IsSpace)
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ValidName(name) {
			return nil, errorf(n, "", "expected NAME=value with a name of letters, digits and underscores that does not start with a digit")
		}
		if !ok {
			return nil, errorf(n, name, "no '=' and no value; docker would copy the variable from its own environment, which an import cannot: write NAME=value")
		}
		if prev, dup := seen[name]; dup {
			return nil, errorf(n, name, fmt.Sprintf("assigned more than once (also on line %d); keep one of the lines", prev))
		}
		seen[name] = n
		vars[name] = value
	}
	return vars, nil
}
