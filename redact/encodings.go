package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"unicode/utf8"
)

// minEncoded is the length under which an encoded form is not masked even
// when MinLength allows shorter values: the base64 of a 1-byte value has one
// character that depends on it alone, and masking it would mask that letter
// everywhere.
const minEncoded = 4

// pattern is one form of one value: the bytes to find and the index of the
// secret (in Redactor.names) it masks.
type pattern struct {
	b     []byte
	owner int32
}

// patternsOf returns the distinct patterns of values, most important first:
// every value as it is, then the "\r\n" forms, then the encoded forms. A
// pattern found in several places belongs to its first owner. Encoded forms
// shorter than minLen or than minEncoded are left out.
func patternsOf(values [][]byte, minLen int, encodings bool) []pattern {
	seen := make(map[string]bool)
	var out []pattern
	limit := minLen
	add := func(p []byte, owner int) {
		if len(p) < limit || seen[string(p)] {
			return
		}
		seen[string(p)] = true
		out = append(out, pattern{b: p, owner: int32(owner)})
	}
	for i, v := range values {
		add(v, i)
	}
	for i, v := range values {
		if bytes.IndexByte(v, '\n') >= 0 {
			add(bytes.ReplaceAll(v, []byte("\n"), []byte("\r\n")), i)
		}
	}
	if !encodings {
		return out
	}
	limit = max(minLen, minEncoded)
	for i, v := range values {
		for _, p := range encodedForms(v) {
			add(p, i)
		}
	}
	return out
}

// encodedForms returns the encoded forms of v that are masked besides v.
func encodedForms(v []byte) [][]byte {
	var forms [][]byte
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		forms = append(forms, []byte(enc.EncodeToString(v)))
		forms = append(forms, base64Stable(enc.WithPadding(base64.NoPadding), v)...)
	}
	s := string(v)
	forms = append(forms, []byte(url.QueryEscape(s)), []byte(url.PathEscape(s)))
	forms = append(forms, jsonString(s, true), jsonString(s, false))
	if utf8.ValidString(s) {
		forms = append(forms, jsonASCII(s))
	}
	return forms
}

// base64Stable returns, for each of the three alignments of v to base64's
// 3-byte groups, the characters of a base64 text holding v that depend
// only on v's bits, whatever bytes come before and after it. For alignment
// a (v starts a bytes into a group), v's bits are bits [8a, 8a+8n) of the
// group-aligned bit stream, and character c holds bits [6c, 6c+6). The
// unpadded encoding of v at offset 0 (which depends on nothing after v when
// v ends the text) is included too.
func base64Stable(raw *base64.Encoding, v []byte) [][]byte {
	forms := [][]byte{[]byte(raw.EncodeToString(v))}
	n := len(v)
	for a := range 3 {
		blob := make([]byte, a+n)
		copy(blob[a:], v)
		text := raw.EncodeToString(blob)
		first := (8*a + 5) / 6
		last := (8*a + 8*n) / 6
		if last > first {
			forms = append(forms, []byte(text[first:last]))
		}
	}
	return forms
}

// jsonString returns s as json.Marshal writes it inside a string, without
// the quotes; html is json.Marshal's escaping of <, > and &.
func jsonString(s string, html bool) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(html)
	_ = enc.Encode(s) // a string always encodes
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return out[1 : len(out)-1]
}

// jsonASCII returns the valid UTF-8 string s as JSON encoders that escape
// every non-ASCII character write it (Python's json.dumps by default):
// \uXXXX with lower-case hex, surrogate pairs above U+FFFF, and the short
// escapes for quote, backslash and \b \f \n \r \t.
func jsonASCII(s string) []byte {
	var b []byte
	for _, r := range s {
		switch {
		case r == '"':
			b = append(b, `\"`...)
		case r == '\\':
			b = append(b, `\\`...)
		case r == '\b':
			b = append(b, `\b`...)
		case r == '\f':
			b = append(b, `\f`...)
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20 || (r >= 0x7f && r <= 0xffff):
			b = appendU(b, r)
		case r > 0xffff:
			r -= 0x10000
			b = appendU(b, 0xd800+(r>>10))
			b = appendU(b, 0xdc00+(r&0x3ff))
		default:
			b = append(b, byte(r))
		}
	}
	return b
}

// appendU appends \uXXXX for r ≤ 0xffff, lower-case.
func appendU(b []byte, r rune) []byte {
	h := strconv.FormatInt(int64(r), 16)
	b = append(b, `\u`...)
	for range 4 - len(h) {
		b = append(b, '0')
	}
	return append(b, h...)
}
