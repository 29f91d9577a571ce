package document

import (
	"encoding/json"
	"unicode/utf8"
)

// JSON strings as the document writes and reads them. The writer's
// encoding is canonical (one spelling per string), so that a reader can
// find a name by comparing bytes and a full read can check that a document
// is exactly what the writer produces.

const hexDigits = "0123456789abcdef"

// appendQuoted appends s as a JSON string: '"' and '\\' escaped, control
// characters as \n, \t, \r, \b, \f or \u00XX, U+2028 and U+2029 as \u2028
// and \u2029, invalid UTF-8 as \ufffd; everything else (also <, > and &)
// as itself, so that a human reads the decrypted document as written.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// quotedLen returns len(appendQuoted(nil, s)) without building it.
func quotedLen(s string) int {
	if plainString(s) {
		return len(s) + 2
	}
	return len(appendQuoted(nil, s))
}

// plainString reports whether s is written between quotes as it is: it has
// only printable ASCII other than '"' and '\\'.
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !plainByte[s[i]] {
			return false
		}
	}
	return true
}

// scanString reads the JSON string starting at s[i] (which must be '"') in
// the writer's canonical spelling. It returns the index just past the
// closing quote and whether the string has escapes; ok is false when s[i:]
// does not start with such a string.
func scanString(s string, i int) (end int, escaped, ok bool) {
	if i >= len(s) || s[i] != '"' {
		return 0, false, false
	}
	j := i + 1
	for j < len(s) && plainByte[s[j]] {
		j++
	}
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			if j+1 >= len(s) {
				return 0, false, false
			}
			switch s[j+1] {
			case '"', '\\', 'n', 'r', 't', 'b', 'f':
				j += 2
			case 'u':
				if j+6 > len(s) || !canonicalUnicodeEscape(s[j+2:j+6]) {
					return 0, false, false
				}
				j += 6
			default:
				return 0, false, false
			}
		case c < 0x20:
			return 0, false, false
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
				return 0, false, false
			}
			j += size
		}
	}
	return 0, false, false
}

// plainByte tells the bytes a JSON string holds as they are: printable
// ASCII other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// canonicalUnicodeEscape reports whether the four hex digits h are a \u
// escape the writer produces: a control character other than those with a
// short escape, U+2028, U+2029 or U+FFFD.
func canonicalUnicodeEscape(h string) bool {
	switch h {
	case "2028", "2029", "fffd":
		return true
	}
	if h[0] != '0' || h[1] != '0' || (h[2] != '0' && h[2] != '1') {
		return false
	}
	c := hexValue(h[3])
	if c < 0 {
		return false
	}
	c += 16 * int(h[2]-'0')
	switch c {
	case '\n', '\r', '\t', '\b', '\f':
		return false
	}
	return true
}

func hexValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// unquote returns the value of the JSON string lit, which scanString
// accepted. Without escapes it is a substring of lit (no copy).
func unquote(lit string, escaped bool) (string, bool) {
	if !escaped {
		return lit[1 : len(lit)-1], true
	}
	var v string
	if err := json.Unmarshal([]byte(lit), &v); err != nil {
		return "", false
	}
	return v, true
}
