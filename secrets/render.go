package secrets

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Render returns template with every secret reference replaced by the
// secret's value. A reference is the syntax of dstack run configurations:
//
//	${{ secrets.NAME }}
//
// with optional white space (spaces, tabs, line breaks) inside the braces:
// ${{secrets.NAME}} is the same reference. NAME is a secret name (see
// ValidateName).
//
// lookup returns the value of a secret and whether it exists; it is called
// once per distinct name, in the order of first appearance, and only after
// the whole template has been checked. Values are inserted as they are and
// never scanned again: a value holding "${{" stays as it is.
//
// Nothing else is touched. Unlike environment expansion (os.ExpandEnv, a
// shell, docker compose), $NAME, ${NAME}, $(command) and a lone $ are
// copied unchanged; only the three characters "${{" start something. To
// write "${{" literally, write "$${{": it gives "${{" and starts no
// reference (what follows it is ordinary text). Where
// dstack turns every "$$" into "$", Render turns only "$${{" into "${{";
// "$$" elsewhere (a shell's process ID, a Makefile's escape) is kept.
//
// Errors, with no partial result:
//   - a malformed reference: "${{" without a closing "}}", or content other
//     than secrets.NAME with a valid NAME (${{ secrets.1X }},
//     ${{ env.HOME }}, ${{ secrets.A.B }}): a *TemplateError with the line
//     and column (1-based, counted in characters) of its "${{";
//   - references to secrets that lookup does not find: one
//     *UnknownSecretsError listing every such name, sorted and unique, which
//     wraps ErrNotFound.
//
// No error holds a value returned by lookup.
func Render(template string, lookup func(name string) (string, bool)) (string, error) {
	parts, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	values := map[string]string{}
	var unknown []string
	for _, p := range parts {
		if !p.ref {
			continue
		}
		if _, done := values[p.text]; done || slices.Contains(unknown, p.text) {
			continue
		}
		if v, ok := lookup(p.text); ok {
			values[p.text] = v
		} else {
			unknown = append(unknown, p.text)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return "", &UnknownSecretsError{Names: unknown}
	}
	var b strings.Builder
	for _, p := range parts {
		if p.ref {
			b.WriteString(values[p.text])
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String(), nil
}

// References returns the distinct secret names that template references,
// sorted, or the *TemplateError Render would return for it. A program can
// use it to read only the secrets a template needs.
func References(template string) ([]string, error) {
	parts, err := parseTemplate(template)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range parts {
		if p.ref && !slices.Contains(names, p.text) {
			names = append(names, p.text)
		}
	}
	slices.Sort(names)
	return names, nil
}

// TemplateError is a malformed secret reference in a template given to
// Render or References.
type TemplateError struct {
	// Line and Column are the 1-based place of the reference's "${{";
	// Column counts characters.
	Line, Column int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error implements error.
func (e *TemplateError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// UnknownSecretsError is the error of Render when references name secrets
// that do not exist. It wraps ErrNotFound.
type UnknownSecretsError struct {
	// Names are the unknown names, sorted and unique.
	Names []string
}

// Error implements error.
func (e *UnknownSecretsError) Error() string {
	what := "secret"
	if len(e.Names) > 1 {
		what = "secrets"
	}
	return fmt.Sprintf("%s: the template references %d unknown %s: %s; add them (dstack-secrets add NAME) or fix the references",
		ErrNotFound, len(e.Names), what, strings.Join(e.Names, ", "))
}

// Unwrap returns ErrNotFound.
func (e *UnknownSecretsError) Unwrap() error { return ErrNotFound }

// templatePart is literal text or, with ref set, a reference to the secret
// named text.
type templatePart struct {
	text string
	ref  bool
}

const (
	refOpen   = "${{"
	refClose  = "}}"
	refPrefix = "secrets."
	// maxQuoted is how much of a malformed reference an error quotes.
	maxQuoted = 40
)

// parseTemplate splits template into literal text and references.
func parseTemplate(template string) ([]templatePart, error) {
	var parts []templatePart
	var lit strings.Builder
	rest := template
	for {
		i := strings.Index(rest, refOpen)
		if i < 0 {
			lit.WriteString(rest)
			break
		}
		if i > 0 && rest[i-1] == '$' { // "$${{": a literal "${{"
			lit.WriteString(rest[:i-1])
			lit.WriteString(refOpen)
			rest = rest[i+len(refOpen):]
			continue
		}
		lit.WriteString(rest[:i])
		at := len(template) - len(rest) + i
		body := rest[i+len(refOpen):]
		end := strings.Index(body, refClose)
		if end < 0 {
			return nil, templateError(template, at, "the reference is not closed; end it with }} (write $${{ for a literal ${{)")
		}
		inner := strings.Trim(body[:end], " \t\r\n")
		name, ok := strings.CutPrefix(inner, refPrefix)
		if !ok {
			return nil, templateError(template, at, fmt.Sprintf("%s is not a secret reference; write ${{ secrets.NAME }} (or $${{ for a literal ${{)", quoteRef(inner)))
		}
		if err := ValidateName(name); err != nil {
			return nil, templateError(template, at, fmt.Sprintf("%s: %v", quoteRef(inner), err))
		}
		if lit.Len() > 0 {
			parts = append(parts, templatePart{text: lit.String()})
			lit.Reset()
		}
		parts = append(parts, templatePart{text: name, ref: true})
		rest = body[end+len(refClose):]
	}
	if lit.Len() > 0 {
		parts = append(parts, templatePart{text: lit.String()})
	}
	return parts, nil
}

// quoteRef quotes the content of a malformed reference for an error,
// shortened: it is template text between "${{" and "}}", not a value.
func quoteRef(inner string) string {
	if utf8.RuneCountInString(inner) > maxQuoted {
		r := []rune(inner)
		inner = string(r[:maxQuoted]) + "..."
	}
	return fmt.Sprintf("%q", "${{ "+strings.ToValidUTF8(inner, "\uFFFD")+" }}")
}

func templateError(template string, offset int, msg string) error {
	before := template[:offset]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return &TemplateError{Line: line, Column: col, Msg: msg}
}
