package secrets

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLength is the longest secret name accepted, in bytes.
const MaxNameLength = 200

// MaxValueSize is the largest secret value accepted, in bytes.
const MaxValueSize = 64 * 1024

// MaxProjectLength is the longest project name accepted, in bytes.
const MaxProjectLength = 100

// ValidateName reports whether name can be a secret name. Secrets reach
// workflows as environment variables, so a name must be a portable
// environment variable name: it matches ^[A-Za-z_][A-Za-z0-9_]*$ and is at
// most MaxNameLength bytes long. The error wraps ErrInvalidName and says
// which rule failed.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: the name is empty; use letters, digits and underscores, e.g. API_TOKEN", ErrInvalidName)
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w: the name is %d bytes long; the limit is %d", ErrInvalidName, len(name), MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9':
			if i == 0 {
				return fmt.Errorf("%w: the name starts with a digit; a name must start with a letter or an underscore", ErrInvalidName)
			}
		default:
			// Only the part before the bad character is quoted: what follows
			// may be a value typed by mistake ("TOKEN=value").
			r, _ := utf8.DecodeRuneInString(name[i:])
			hint := ""
			if c == '=' {
				hint = "; to give a value, pass it as a separate argument: NAME VALUE"
			}
			where := "at the start"
			if i > 0 {
				where = fmt.Sprintf("at byte %d (after %q)", i, printableName(name[:i]))
			}
			return fmt.Errorf("%w: %q %s is not allowed; only letters A-Z and a-z, digits and underscores are (an environment variable name)%s", ErrInvalidName, r, where, hint)
		}
	}
	return nil
}

// printableName shortens a name for an error message.
func printableName(name string) string {
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	return strings.ToValidUTF8(name, "\uFFFD")
}

// ValidateValue reports whether value can be stored as a secret value: UTF-8
// text of 1 to MaxValueSize bytes without NUL bytes. Values are otherwise
// kept byte for byte (newlines, '=', quotes, leading and trailing spaces).
// The error wraps ErrInvalidValue and never quotes the value.
func ValidateValue(value string) error {
	if value == "" {
		return fmt.Errorf("%w: the value is empty; an empty environment variable cannot carry a secret", ErrInvalidValue)
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: the value is %d bytes long; the limit is %d bytes (64 KiB)", ErrInvalidValue, len(value), MaxValueSize)
	}
	if i := strings.IndexByte(value, 0); i >= 0 {
		return fmt.Errorf("%w: the value has a NUL byte at byte %d; environment variables cannot hold NUL", ErrInvalidValue, i)
	}
	if !utf8.ValidString(value) {
		for i, r := range value {
			if r == utf8.RuneError {
				if _, size := utf8.DecodeRuneInString(value[i:]); size == 1 {
					return fmt.Errorf("%w: the value is not valid UTF-8 text (bad byte at byte %d); store binary data base64-encoded", ErrInvalidValue, i)
				}
			}
		}
	}
	return nil
}

// ValidateProject reports whether project can be a project name: 1 to
// MaxProjectLength bytes of letters, digits, '.', '_' and '-', starting with
// a letter or a digit. Project names become file names and path segments in
// backends. The error wraps ErrInvalidScope.
func ValidateProject(project string) error {
	if project == "" {
		return fmt.Errorf("%w: the project name is empty", ErrInvalidScope)
	}
	if len(project) > MaxProjectLength {
		return fmt.Errorf("%w: the project name is %d bytes long; the limit is %d", ErrInvalidScope, len(project), MaxProjectLength)
	}
	for i := 0; i < len(project); i++ {
		c := project[i]
		alnum := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if alnum || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return fmt.Errorf("%w: project name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", ErrInvalidScope, printableName(project))
	}
	return nil
}
