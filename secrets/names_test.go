package secrets_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestValidateName(t *testing.T) {
	valid := []string{"A", "a", "_", "API_TOKEN", "_x1", "lower", strings.Repeat("Z", secrets.MaxNameLength)}
	for _, n := range valid {
		if err := secrets.ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", n, err)
		}
	}
	invalid := []struct{ name, says string }{
		{"", "empty"},
		{"1A", "starts with a digit"},
		{"A-B", `'-' at byte 1`},
		{"A B", `' ' at byte 1`},
		{"É", `'É' at the start`},
		{"A\x00", `'\x00' at byte 1`},
		{strings.Repeat("Z", secrets.MaxNameLength+1), "the limit is 200"},
		{"A\xff", "at byte 1"},
		{"MY_TOKEN=abc123secret", `'=' at byte 8 (after "MY_TOKEN") is not allowed`},
	}
	for _, tc := range invalid {
		err := secrets.ValidateName(tc.name)
		if !errors.Is(err, secrets.ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v, want ErrInvalidName", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ValidateName(%q) = %q, want it to say %q", tc.name, err, tc.says)
		}
		if strings.Contains(err.Error(), "abc123secret") || strings.Contains(err.Error(), tc.name) && utf8.RuneCountInString(tc.name) > 1 {
			t.Errorf("ValidateName(%q) = %q: the error repeats the whole name, which may hold a value", tc.name, err)
		}
	}
}

func TestValidateValue(t *testing.T) {
	valid := []string{"x", " spaces ", "a\nb", "=", strings.Repeat("v", secrets.MaxValueSize), "🔑"}
	for _, v := range valid {
		if err := secrets.ValidateValue(v); err != nil {
			t.Errorf("ValidateValue(%d bytes) = %v", len(v), err)
		}
	}
	invalid := []struct{ value, says string }{
		{"", "empty"},
		{strings.Repeat("v", secrets.MaxValueSize+1), "limit is 65536"},
		{"ab\x00cd", "NUL byte at byte 2"},
		{"abc\xffdef", "not valid UTF-8 text (bad byte at byte 3)"},
	}
	for _, tc := range invalid {
		err := secrets.ValidateValue(tc.value)
		if !errors.Is(err, secrets.ErrInvalidValue) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ValidateValue: got %v, want ErrInvalidValue saying %q", err, tc.says)
		}
		if len(tc.value) > 3 && err != nil && strings.Contains(err.Error(), tc.value) {
			t.Errorf("ValidateValue error contains the value")
		}
	}
}

func TestValidateProject(t *testing.T) {
	for _, p := range []string{"default", "a", "team-1", "x.y_z", "0abc"} {
		if err := secrets.ValidateProject(p); err != nil {
			t.Errorf("ValidateProject(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "-a", ".hidden", "a/b", "..", "a b", strings.Repeat("p", 101)} {
		if err := secrets.ValidateProject(p); !errors.Is(err, secrets.ErrInvalidScope) {
			t.Errorf("ValidateProject(%q) = %v, want ErrInvalidScope", p, err)
		}
	}
}

func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"A", "1A", "A-B", "_", "É"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := secrets.ValidateName(name)
		ok := name != "" && len(name) <= secrets.MaxNameLength
		for i, c := range []byte(name) {
			ok = ok && (c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9')
		}
		if ok != (err == nil) {
			t.Fatalf("ValidateName(%q) = %v, but the rule says valid=%v", name, err, ok)
		}
		if err != nil && !errors.Is(err, secrets.ErrInvalidName) {
			t.Fatalf("error does not wrap ErrInvalidName: %v", err)
		}
		if err != nil && !utf8.ValidString(err.Error()) {
			t.Fatalf("error message is not valid UTF-8")
		}
	})
}
