package envfmt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// YAML is one YAML mapping of name to value, written so that every YAML
// 1.2 and YAML 1.1 reader (go.yaml.in/yaml/v3, gopkg.in/yaml.v2, PyYAML,
// kubectl, docker compose) reads every value back as the same string:
//
//   - a value with a line break whose characters are all printable (tabs
//     allowed) is a literal block scalar with an explicit indentation
//     indicator and chomping indicator ("|2-", "|2", "|2+"), so that it
//     reads as written, PEM keys included;
//   - every other value is double-quoted, with \" \\ \t \n \r \xXX and \uXXXX
//     escapes for quotes, backslashes and every character that is not
//     printable in both YAML versions (C0 and C1 controls, DEL, U+2028,
//     U+2029, U+FEFF, U+FFFE, U+FFFF), so that no value can turn into a
//     number, boolean, null or date (NO, 0x1, 1e3, ~, 2001-12-14);
//   - names are plain, except those that a YAML 1.1 reader takes for a
//     boolean or null (y, n, yes, NO, on, Off, true, null, ...), which are
//     double-quoted.
//
// The writer refuses only what YAML cannot carry: a value that is not UTF-8.
//
// The reader takes one document holding one mapping (an empty document is
// no variables) and refuses, with line and column: a key that is not a name
// or is given twice, a value that is not a string (a number, boolean, null,
// date, sequence, mapping or custom tag: quote it), a plain (unquoted) value
// that a YAML 1.1 reader would take for something else than the string that
// YAML 1.2 gives (yes, on, 0777, 1_000, 1:20, ...: quote it), aliases and
// merge keys, and more than one document.
func YAML() Format {
	return Format{
		Name:    "yaml",
		Summary: `one YAML mapping NAME: "value" (multi-line values as literal blocks)`,
		Write:   writeYAML,
		Read:    readYAML,
	}
}

func writeYAML(w io.Writer, vars map[string]string, _ Options) error {
	names, err := sortedChecked("yaml", vars, false)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if len(names) == 0 {
		b.WriteString("{}\n")
	}
	for _, name := range names {
		b.WriteString(yamlKey(name))
		b.WriteByte(':')
		writeYAMLValue(&b, vars[name], "  ")
	}
	return writeAll(w, &b)
}

// yaml11Special matches the names that YAML 1.1 (and for null, 1.2)
// readers resolve to a boolean or null when plain.
var yaml11Special = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL)$`)
})

// yamlKey returns name as a YAML mapping key that every reader reads as the
// string name.
func yamlKey(name string) string {
	if yaml11Special().MatchString(name) {
		return `"` + name + `"`
	}
	return name
}

// writeYAMLValue writes " value\n" after a key: a literal block (indented
// by indent, relative to the key's column 0) or a double-quoted scalar.
func writeYAMLValue(b *bytes.Buffer, v string, indent string) {
	if strings.Contains(v, "\n") && strings.Trim(v, "\n") != "" && yamlBlockSafe(v) {
		chomp := "-"
		switch {
		case strings.HasSuffix(v, "\n\n"):
			chomp = "+"
		case strings.HasSuffix(v, "\n"):
			chomp = ""
		}
		fmt.Fprintf(b, " |%d%s\n", len(indent), chomp)
		body := v
		if chomp != "-" {
			body = strings.TrimSuffix(v, "\n")
		}
		for _, line := range strings.Split(body, "\n") {
			if line != "" {
				b.WriteString(indent)
				b.WriteString(line)
			}
			b.WriteByte('\n')
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(YAMLQuote(v))
	b.WriteByte('\n')
}

// yamlPrintable reports whether r may appear unescaped in any YAML 1.1 or
// 1.2 scalar and means the same in both (tab and line feed are decided by
// the callers).
func yamlPrintable(r rune) bool {
	switch {
	case 0x20 <= r && r <= 0x7e:
		return true
	case r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return false
	case 0xa0 <= r && r <= 0xd7ff, 0xe000 <= r && r <= 0xfffd, 0x10000 <= r && r <= 0x10ffff:
		return true
	}
	return false
}

// yamlBlockSafe reports whether v can be a literal block scalar: only
// printable characters, tabs and line feeds. (A value of only line feeds
// cannot: "clip" chomping would drop them all; it is double-quoted.)
func yamlBlockSafe(v string) bool {
	for _, r := range v {
		if r != '\n' && r != '\t' && !yamlPrintable(r) {
			return false
		}
	}
	return true
}

// YAMLQuote returns v as a double-quoted YAML scalar that YAML 1.1 and 1.2
// readers read as the string v.
func YAMLQuote(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case yamlPrintable(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func readYAML(data []byte) (map[string]string, error) {
	root, err := parseYAML("yaml", data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return map[string]string{}, nil
	}
	return yamlStringMap("yaml", root, "")
}

// parseYAML parses data as one YAML document and returns its root node,
// nil for an empty document.
func parseYAML(format string, data []byte) (root *yaml.Node, err error) {
	if !utf8.Valid(data) {
		line, _ := lineCol(data, invalidUTF8Offset(data))
		return nil, &Error{Format: format, Line: line, Msg: "not valid UTF-8 text; save the file as UTF-8"}
	}
	defer func() {
		if p := recover(); p != nil {
			root, err = nil, &Error{Format: format, Msg: "not valid YAML (the YAML parser failed)"}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, yamlSyntaxError(format, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		line := next.Line
		if err != nil {
			return nil, yamlSyntaxError(format, err)
		}
		return nil, &Error{Format: format, Line: line, Msg: "a second YAML document; the file must hold one document (remove the extra ---)"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Format: format, Msg: "not a YAML document"}
	}
	root = doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" && root.Value == "" {
		return nil, nil
	}
	return root, nil
}

var yamlErrLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: line (\d+): (.*)$`) })

// yamlSyntaxError turns a parser error into an *Error without any text of
// the document: parts of the message in quotes are dropped.
func yamlSyntaxError(format string, err error) error {
	msg := err.Error()
	line := 0
	if m := yamlErrLine().FindStringSubmatch(msg); m != nil {
		fmt.Sscan(m[1], &line)
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	if strings.ContainsAny(msg, "'\"`") {
		if i := strings.IndexAny(msg, "'\"`"); i > 0 {
			msg = strings.TrimRight(msg[:i], " :")
		} else {
			msg = "syntax error"
		}
	}
	return &Error{Format: format, Line: line, Msg: "not valid YAML: " + msg}
}

// yamlStringMap reads a mapping node of name -> string. where names the
// mapping in messages ("" for the top level, else e.g. "data").
func yamlStringMap(format string, node *yaml.Node, where string) (map[string]string, error) {
	in := ""
	if where != "" {
		in = " in " + where
	}
	fail := func(n *yaml.Node, name, msg string) error {
		return &Error{Format: format, Line: n.Line, Column: n.Column, Name: name, Msg: msg}
	}
	if node.Kind == yaml.AliasNode {
		return nil, fail(node, "", "aliases (*name) are not supported; write the mapping out")
	}
	if node.Kind != yaml.MappingNode {
		return nil, fail(node, "", fmt.Sprintf("expected a mapping of NAME: value%s, found %s", in, yamlKind(node)))
	}
	vars := map[string]string{}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		k, v := node.Content[i], node.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
			return nil, fail(k, "", "aliases, merge keys (<<) and complex keys are not supported; write each NAME: value out")
		}
		if k.ShortTag() != "!!str" || !ValidName(k.Value) {
			return nil, fail(k, "", "a key is not a variable name"+in+"; "+msgBadName)
		}
		name := k.Value
		if prev, dup := seen[name]; dup {
			return nil, fail(k, name, fmt.Sprintf("given more than once%s (also at line %d); keep one", in, prev.Line))
		}
		seen[name] = k
		value, err := yamlString(format, v, name)
		if err != nil {
			return nil, err
		}
		vars[name] = value
	}
	return vars, nil
}

// yamlString returns the string value of a scalar node.
func yamlString(format string, v *yaml.Node, name string) (string, error) {
	fail := func(msg string) error {
		return &Error{Format: format, Line: v.Line, Column: v.Column, Name: name, Msg: msg}
	}
	if v.Kind == yaml.AliasNode {
		return "", fail("aliases (*name) are not supported; write the value out")
	}
	if v.Kind != yaml.ScalarNode {
		return "", fail(fmt.Sprintf("the value is %s, not a string; quote it", yamlKind(v)))
	}
	if tag := v.ShortTag(); tag != "!!str" {
		return "", fail(fmt.Sprintf("the value is %s, not a string; quote it", yamlKind(v)))
	}
	if v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0 && yaml11NonString(v.Value) {
		return "", fail("the unquoted value is read as a boolean, number, null or date by YAML 1.1 readers (PyYAML, kubectl) but as a string by YAML 1.2; quote it")
	}
	return v.Value, nil
}

func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "a date"
	case "!!binary":
		return "binary data"
	case "!!str":
		return "a string"
	}
	return "a value with a custom tag"
}

// yaml11Resolve matches the plain scalars that YAML 1.1 readers resolve to
// something other than a string: the implicit types of YAML 1.1 (bool,
// null, int, float, timestamp, merge and value), as PyYAML's resolver
// writes them, plus y/n and the float forms of gopkg.in/yaml.v2.
var yaml11Resolve = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:` +
		`y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF` +
		`|~|null|Null|NULL|` +
		`|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+` +
		`|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)` +
		`|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?` +
		`|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?` +
		`|<<|=` +
		`)$`)
})

// yaml11NonString reports whether a YAML 1.1 reader resolves the plain
// scalar s to something other than the string s.
func yaml11NonString(s string) bool {
	return yaml11Resolve().MatchString(s)
}
