package secrets_test

import (
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/org/repo":        "github.com/org/repo",
		"/home/jürgen/projekt x":     "/home/jürgen/projekt x",
		"github.com/org/re\x1b[2Jpo": `github.com/org/re\x1b[2Jpo`,
		"a\tb\nc\rd\x7fe":            `a\x09b\x0ac\x0dd\x7fe`,
		"\u202egnp.exe":              `\u202egnp.exe`,
		"zero\u200bwidth\u00a0space": `zero\u200bwidth\u00a0space`,
		"c1\u009bcsi":                `c1\u009bcsi`,
		"bad\xffutf8":                `bad\xffutf8`,
		"line\u2028separator":        `line\u2028separator`,
		"\U000e0041 tag":             `\U000e0041 tag`,
	} {
		if got := secrets.Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	if got := secrets.PrintableText("one\x1b]0;title\x07\ntwo"); got != `one\x1b]0;title\x07`+"\ntwo" {
		t.Errorf("PrintableText: %q", got)
	}
}

// TestScopeStringEscapes: an identity from an origin URL with terminal
// escapes is printed escaped in every message naming the scope.
func TestScopeStringEscapes(t *testing.T) {
	id, err := secrets.NormalizeRepository("git@github.com:org/re\x1b[31mpo\u202e")
	if err != nil {
		t.Fatal(err)
	}
	s := secrets.Scope{Project: "p", Repository: id}.String()
	if strings.ContainsAny(s, "\x1b\u202e") {
		t.Errorf("Scope.String keeps control characters: %q", s)
	}
}
