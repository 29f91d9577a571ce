package secrets

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable returns s with everything a terminal would interpret or hide
// escaped, for messages that echo text read from files, servers or the
// command line (repository identities, paths, project names): control
// characters (C0 including newline and tab, DEL, C1), Unicode format
// characters (bidirectional overrides, zero-width characters), separators
// other than the ASCII space, and bytes that are not UTF-8 are written as
// Go escapes (\x1b, \u202e, \xff). An origin URL holding "\x1b[2J" then
// prints as those characters instead of clearing the screen. Other text,
// including non-ASCII letters, is kept; a string with nothing to escape is
// returned as is.
func Printable(s string) string {
	return printable(s, false)
}

// PrintableText is Printable for multi-line text such as an error message
// whose parts are joined by newlines: it keeps "\n" and escapes the rest.
func PrintableText(s string) string {
	return printable(s, true)
}

func printable(s string, keepNewline bool) string {
	clean := func(r rune, size int) bool {
		return r == ' ' || (keepNewline && r == '\n') || (unicode.IsPrint(r) && !(r == utf8.RuneError && size == 1))
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !clean(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case clean(r, size):
			b.WriteString(s[i : i+size])
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}
