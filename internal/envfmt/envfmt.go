// Package envfmt writes and reads the file formats of "dstack-secrets
// export" and "dstack-secrets import": a registry of named formats, each
// with a writer and, where importing from it makes sense, a reader.
//
// The built-in formats (see Builtin) are
//
//	dotenv  NAME='value' lines (package internal/dotenv); read and written
//	docker  docker run --env-file: NAME=value lines, no quoting; read and written
//	shell   export NAME='value' lines for eval in sh, bash, dash and zsh; read and written
//	json    one JSON object of name -> string; read and written
//	yaml    one YAML mapping of name -> string; read and written
//	k8s     a Kubernetes Secret manifest (data: base64); read and written
//	github  the $GITHUB_ENV file of GitHub Actions (NAME<<DELIMITER heredocs); written only
//
// Every writer writes the variables sorted by name, checks every name and
// value before writing anything, and writes the whole document with one
// Write call, so that a refused variable never leaves a partial document.
// Every reader reads a whole document or fails; it refuses duplicate names,
// names that are not environment variable names and values that are not
// strings. Every writer's output that has a reader reads back to the same
// names and values, byte for byte.
//
// Errors are *Error values. They name the format, the place in the document
// (reading) and the variable, never any part of a value: these documents
// hold secrets.
//
// There is no global registry: Builtin returns a new one each time, and a
// program adds its own formats (dotenv variants, say) with Register.
package envfmt

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
)

// Options are the settings a writer may use; each format documents the
// ones it reads, and ignores the others.
type Options struct {
	// Name is the metadata.name of the k8s format's Secret. "" derives one
	// from Project (see K8sSecretName).
	Name string
	// Namespace is the metadata.namespace of the k8s format's Secret; ""
	// leaves it out (kubectl then uses the current namespace).
	Namespace string
	// Project is the dstack-secrets project the variables belong to; it is
	// used for defaults such as the k8s Secret name.
	Project string
	// Rand is the source of the github format's random heredoc delimiters;
	// nil means crypto/rand.Reader. Tests may pass their own.
	Rand io.Reader
}

// WriteFunc writes vars to w in one format. It checks every name and value
// first and writes nothing when one is refused.
type WriteFunc func(w io.Writer, vars map[string]string, opts Options) error

// ReadFunc reads a whole document in one format into a map from name to
// value, or returns an error and no variables.
type ReadFunc func(data []byte) (map[string]string, error)

// Format is one named file format.
type Format struct {
	// Name is what --format takes, e.g. "json".
	Name string
	// Summary is one line for help texts.
	Summary string
	// Write writes the format; it is required.
	Write WriteFunc
	// Read reads the format; nil when the format cannot be imported.
	Read ReadFunc
}

// Registry maps format names to formats. Its zero value is not usable:
// create one with NewRegistry or Builtin. A Registry is not safe for
// concurrent Register calls; lookups may run concurrently.
type Registry struct {
	formats map[string]Format
}

// NewRegistry returns a registry holding formats (none when called without
// arguments). It panics as Register does.
func NewRegistry(formats ...Format) *Registry {
	r := &Registry{formats: map[string]Format{}}
	for _, f := range formats {
		r.Register(f)
	}
	return r
}

// Builtin returns a new registry holding every built-in format: dotenv
// (and its per-peer variants dotenv-python, dotenv-node and
// dotenv-godotenv), docker, shell, json, yaml, k8s and github.
func Builtin() *Registry {
	return NewRegistry(Dotenv(), DotenvFor(dotenv.FormatPython), DotenvFor(dotenv.FormatNode), DotenvFor(dotenv.FormatGodotenv),
		Docker(), Shell(), JSON(), YAML(), K8s(), GitHub())
}

// Register adds f. Like database/sql's Register it panics when f has no
// name or no writer, or when a format of that name is already registered:
// those are programming errors, not input errors.
func (r *Registry) Register(f Format) {
	if f.Name == "" {
		panic("envfmt: Register of a format without a name")
	}
	if f.Write == nil {
		panic("envfmt: Register of format " + f.Name + " without a writer")
	}
	if _, dup := r.formats[f.Name]; dup {
		panic("envfmt: Register called twice for format " + f.Name)
	}
	r.formats[f.Name] = f
}

// Names returns the names of the registered formats, sorted.
func (r *Registry) Names() []string {
	return slices.Sorted(maps.Keys(r.formats))
}

// ReadableNames returns the names of the formats that have a reader,
// sorted.
func (r *Registry) ReadableNames() []string {
	var names []string
	for _, name := range r.Names() {
		if r.formats[name].Read != nil {
			names = append(names, name)
		}
	}
	return names
}

// Lookup returns the format called name, or an error listing the
// registered formats.
func (r *Registry) Lookup(name string) (Format, error) {
	f, ok := r.formats[name]
	if !ok {
		return Format{}, fmt.Errorf("unknown format %q (formats: %s)", printable(name), strings.Join(r.Names(), ", "))
	}
	return f, nil
}

// Read reads data in the format called name. With name "" the format is
// found by Detect. It returns the variables and the name of the format
// read; an unknown format, a format without a reader and undetectable input
// are errors.
func (r *Registry) Read(name string, data []byte) (map[string]string, string, error) {
	if name == "" {
		detected, err := Detect(data)
		if err != nil {
			return nil, "", err
		}
		name = detected
	}
	f, err := r.Lookup(name)
	if err != nil {
		return nil, "", err
	}
	if f.Read == nil {
		return nil, "", fmt.Errorf("format %s cannot be imported (formats that can: %s)", name, strings.Join(r.ReadableNames(), ", "))
	}
	vars, err := f.Read(data)
	if err != nil {
		return nil, "", err
	}
	return vars, name, nil
}

// Error is a refused variable (writing) or a problem at one place of a
// document (reading). Its message never holds any part of a value.
type Error struct {
	// Format is the format's name.
	Format string
	// Line and Column are the 1-based place of the problem in a document
	// being read; 0 when unknown or when writing.
	Line, Column int
	// Name is the variable concerned, or "" when none (or when the text
	// that would be the name is not a valid name, and so may be a value).
	Name string
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	b.WriteString(": ")
	switch {
	case e.Line > 0 && e.Column > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Name != "" {
		if e.Line == 0 {
			b.WriteString("cannot write ")
		}
		b.WriteString(e.Name)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidName reports whether name is an environment variable name as
// dstack-secrets accepts it: letters, digits and underscores, not starting
// with a digit.
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

const msgBadName = "a name must be letters, digits and underscores, not starting with a digit"

// sortedChecked returns the names of vars sorted, after checking that every
// name is valid and every value is UTF-8 (and, with noNUL, free of NUL
// bytes, which no environment variable can hold).
func sortedChecked(format string, vars map[string]string, noNUL bool) ([]string, error) {
	names := slices.Sorted(maps.Keys(vars))
	for _, name := range names {
		if !ValidName(name) {
			return nil, &Error{Format: format, Msg: fmt.Sprintf("cannot write variable %q: %s", printable(name), msgBadName)}
		}
		v := vars[name]
		if !utf8.ValidString(v) {
			return nil, &Error{Format: format, Name: name, Msg: "its value is not valid UTF-8"}
		}
		if noNUL && strings.IndexByte(v, 0) >= 0 {
			return nil, &Error{Format: format, Name: name, Msg: "its value has a NUL byte, which an environment variable cannot hold"}
		}
	}
	return names, nil
}

// printable shortens s and makes it valid UTF-8 for an error message. It is
// used only for text that is not a value (format names, names refused by a
// writer, whose caller chose them).
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// writeAll writes b to w in one call.
func writeAll(w io.Writer, b *bytes.Buffer) error {
	_, err := w.Write(b.Bytes())
	return err
}

// lineCol returns the 1-based line and column (in bytes) of offset in data.
func lineCol(data []byte, offset int) (int, int) {
	if offset > len(data) {
		offset = len(data)
	}
	if offset < 0 {
		offset = 0
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := offset - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}
