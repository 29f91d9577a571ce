package dotenv

import (
	"strings"
	"unicode"
)

// The rules below are what the three peer parsers that dotenv files of
// dstack-secrets are meant for do with a value, found in their sources and
// checked against the real programs by interop_test.go:
//
//   - python-dotenv 0.21 (Debian's python3-dotenv; 1.x parses the same way):
//     dotenv_values(path) reads the file in text mode, so CR and CRLF become
//     LF everywhere; it replaces ${NAME} and ${NAME:-default} in every value,
//     single-quoted ones too; it decodes \\ and \' in single quotes and
//     \\ \' \" \a \b \f \n \r \t \v in double quotes; an unquoted value loses
//     a "<white space>#..." comment and Unicode white space at both ends.
//   - Node's dotenv 17 (npm dotenv, lib/main.js): CR and CRLF become LF; a
//     value may be quoted with ', " or `; nothing is an escape except \n and
//     \r in double quotes; an unquoted value ends at the first '#' and loses
//     JavaScript white space at both ends; nothing is expanded.
//   - godotenv 1.5.1 (github.com/joho/godotenv, parser.go): only CRLF becomes
//     LF, and a lone CR ends an unquoted value but not a comment; a quoted
//     value ends at the first quote not preceded by a backslash; in double
//     quotes \n and \r are decoded, any other \x becomes x except \$, and
//     then \$ becomes $ and $NAME, ${NAME} and $(NAME are replaced (NAME of
//     A-Z, 0-9 and _), also in unquoted values; an unquoted value's comment
//     starts at the last '#' preceded by white space.

// hasBraceReference reports whether s holds "${" followed later by "}",
// which python-dotenv replaces with another variable's value in every kind
// of value (quoted or not). The check is broader than python-dotenv 0.21's
// own pattern, so that later versions with more expansion forms are
// covered too.
func hasBraceReference(s string) bool {
	i := strings.Index(s, "${")
	return i >= 0 && strings.IndexByte(s[i+2:], '}') >= 0
}

// hasGodotenvReference reports whether godotenv would replace part of s,
// an unquoted or double-quoted value, with another variable's value: a '$'
// followed by an optional '(', an optional '{' and then A-Z, 0-9 or '_'.
func hasGodotenvReference(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			continue
		}
		j := i + 1
		if j < len(s) && s[j] == '(' {
			j++
		}
		if j < len(s) && s[j] == '{' {
			j++
		}
		if j < len(s) && isGodotenvNameByte(s[j]) {
			return true
		}
	}
	return false
}

func isGodotenvNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// isTrimSpace reports whether a peer removes r at either end of an
// unquoted value: Unicode white space (Go, Python and JavaScript agree on
// it apart from U+0085, which only Python and godotenv trim, and U+FEFF,
// which only JavaScript trims).
func isTrimSpace(r rune) bool {
	return unicode.IsSpace(r) || r == '\ufeff'
}

// isGodotenvSpace is godotenv's isSpace: the characters it trims around
// values and accepts before a '#' that starts a comment.
func isGodotenvSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

// isPythonSpace is Python's str.isspace for one character: Unicode white
// space plus the separators U+001C..U+001F.
func isPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || 0x1c <= r && r <= 0x1f
}

// isControl reports whether r is a C0 or C1 control character or DEL.
func isControl(r rune) bool {
	return r < 0x20 || 0x7f <= r && r <= 0x9f
}

// isLineSeparator reports whether r is U+2028 or U+2029, which JavaScript
// regular expressions (and so Node's dotenv) treat as line ends.
func isLineSeparator(r rune) bool {
	return r == '\u2028' || r == '\u2029'
}

// endsInSpace reports whether s starts or ends with a rune for which
// space(r) is true.
func endsInSpace(s string, space func(rune) bool) bool {
	return strings.IndexFunc(s, space) == 0 || s != "" && strings.TrimRightFunc(s, space) != s
}

// hashAfterSpace reports whether s holds a '#' right after a rune for which
// space(r) is true.
func hashAfterSpace(s string, space func(rune) bool) bool {
	prev := rune(-1)
	for _, r := range s {
		if r == '#' && prev >= 0 && space(prev) {
			return true
		}
		prev = r
	}
	return false
}
