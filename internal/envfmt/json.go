package envfmt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JSON is one JSON object mapping each name to its value as a string,
// indented by two spaces, keys sorted, without HTML escaping (the output of
// "dstack-secrets export --format json").
//
// The writer refuses only what no JSON string can carry exactly: a value
// that is not UTF-8.
//
// The reader takes one object whose keys are names and whose values are
// strings, and refuses (with line and column) anything else: another
// top-level value, a number, boolean, null, array or object as a value
// (quote it), a key that is not a name, a key given twice (encoding/json
// would silently keep the last), invalid UTF-8 (which encoding/json would
// silently replace) and text after the object.
func JSON() Format {
	return Format{
		Name:    "json",
		Summary: `one JSON object {"NAME": "value", ...}`,
		Write:   writeJSON,
		Read:    readJSON,
	}
}

func writeJSON(w io.Writer, vars map[string]string, _ Options) error {
	if _, err := sortedChecked("json", vars, false); err != nil {
		return err
	}
	if vars == nil {
		vars = map[string]string{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vars); err != nil {
		return &Error{Format: "json", Msg: "cannot encode the variables"}
	}
	return writeAll(w, &b)
}

func readJSON(data []byte) (map[string]string, error) {
	fail := func(offset int, name, msg string) error {
		line, col := lineCol(data, offset)
		return &Error{Format: "json", Line: line, Column: col, Name: name, Msg: msg}
	}
	if !utf8.Valid(data) {
		return nil, fail(invalidUTF8Offset(data), "", "not valid UTF-8 text; save the file as UTF-8")
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// syntax turns a decoder error into one without any text of the
	// document (encoding/json quotes the offending character).
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// The decoder's offsets count from the start of the current
			// value; json.Unmarshal's count from the start of data.
			var v any
			if errors.As(json.Unmarshal(data, &v), &se) {
				return fail(int(se.Offset)-1, "", "not valid JSON here; check the quotes, commas and braces around this place")
			}
			return fail(int(dec.InputOffset()), "", "not valid JSON here; check the quotes, commas and braces around this place")
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fail(len(data), "", "the JSON ends early; close every string and the object with }")
		}
		return fail(int(dec.InputOffset()), "", "not valid JSON")
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(len(data), "", `the document is empty; expected a JSON object {"NAME": "value", ...}`)
		}
		return nil, syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail(int(dec.InputOffset())-1, "", `expected a JSON object {"NAME": "value", ...} at the top level`)
	}
	vars := map[string]string{}
	seen := map[string]int{}
	for dec.More() {
		keyStart := keyOffset(data, dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		name, _ := tok.(string)
		if !ValidName(name) {
			return nil, fail(keyStart, "", "a key is not a variable name; "+msgBadName)
		}
		valueStart := keyOffset(data, dec.InputOffset())
		tok, err = dec.Token()
		if err != nil {
			return nil, syntax(err)
		}
		switch tok := tok.(type) {
		case string:
			if strings.ContainsRune(tok, utf8.RuneError) && jsonLoneSurrogate(data[valueStart:dec.InputOffset()]) {
				return nil, fail(valueStart, name, "the value has a \\u escape of half a UTF-16 surrogate pair, which is no character; fix the escape")
			}
			if prev, dup := seen[name]; dup {
				pl, pc := lineCol(data, prev)
				return nil, fail(keyStart, name, fmt.Sprintf("given more than once (also at line %d, column %d); keep one", pl, pc))
			}
			seen[name] = keyStart
			vars[name] = tok
		default:
			kind := "a number"
			switch tok := tok.(type) {
			case bool:
				kind = "a boolean"
			case nil:
				kind = "null"
			case json.Delim:
				kind = "an array"
				if tok == '{' {
					kind = "an object"
				}
			}
			return nil, fail(valueStart, name, "the value is "+kind+", not a string; write it in double quotes")
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(int(dec.InputOffset()), "", "unexpected text after the JSON object; a document holds one object")
	}
	return vars, nil
}

// keyOffset returns the offset of the next token after offset: the
// decoder's InputOffset points after the previous token, before white space,
// ':' and ','.
func keyOffset(data []byte, offset int64) int {
	i := int(offset)
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n', ':', ',':
			i++
		default:
			return i
		}
	}
	return i
}

// jsonLoneSurrogate reports whether the JSON string literal raw has a \u
// escape of a UTF-16 surrogate that is not part of a pair, which
// encoding/json silently replaces with U+FFFD.
func jsonLoneSurrogate(raw []byte) bool {
	escape := func(i int) (rune, bool) { // the \uXXXX at raw[i:]
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
		return rune(n), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' || i+1 >= len(raw) {
			continue
		}
		r, ok := escape(i)
		if !ok {
			i++ // \", \\ and the other two-byte escapes
			continue
		}
		switch {
		case 0xd800 <= r && r < 0xdc00:
			if low, ok := escape(i + 6); ok && 0xdc00 <= low && low < 0xe000 {
				i += 11
				continue
			}
			return true
		case 0xdc00 <= r && r < 0xe000:
			return true
		}
		i += 5
	}
	return false
}
