package envfmt

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dstackai/dstack-secrets/internal/dotenv"
)

// marker stands for a secret value: it must never appear in an error. It
// has a '-', so it can never be (part of) a name.
const marker = "mk-5e1f-do-not-print"

// requireProgram returns the path of an external program the test needs.
// When it is missing the test fails under DSTACK_SECRETS_TEST_REQUIRE_SERVICES
// (CI) and is skipped otherwise, saying how to install it.
func requireProgram(t *testing.T, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
			t.Fatalf("%s is not installed (DSTACK_SECRETS_TEST_REQUIRE_SERVICES is set): %s", name, install)
		}
		t.Skipf("%s is not installed; %s (scripts/test does)", name, install)
	}
	return path
}

// checkNoValue fails when the message of err holds any of values (those of
// at least 3 bytes, so that a value "a" does not match every message).
func checkNoValue(t *testing.T, err error, values ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, v := range values {
		if len(v) >= 3 && strings.Contains(msg, v) {
			t.Fatalf("an error message holds a secret value (message of %d bytes)", len(msg))
		}
	}
	if strings.Contains(msg, marker) {
		t.Fatalf("an error message holds the marker value")
	}
}

// compareVars fails, naming only variables and lengths, when got differs
// from want.
func compareVars(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if maps.Equal(got, want) {
		return
	}
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[name]
		switch {
		case !ok:
			problems = append(problems, name+": missing")
		case g != want[name]:
			problems = append(problems, fmt.Sprintf("%s: mismatch (got %d bytes, want %d)", name, len(g), len(want[name])))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[name]; !ok {
			problems = append(problems, name+": unexpected")
		}
	}
	if len(problems) > 10 {
		problems = append(problems[:10], fmt.Sprintf("and %d more", len(problems)-10))
	}
	t.Fatalf("%s: %d variables, want %d: %s", what, len(got), len(want), strings.Join(problems, "; "))
}

// pieces are the building blocks of random values: every character class
// that some format quotes, escapes, refuses or mangles.
var pieces = []string{
	"a", "Z", "0", "9", " ", "  ", "\t", "\n", "\r", "\r\n", "'", `"`, `\`, `\\`, "$", "${HOME}", "$(id)", "`",
	"!", "#", "# ", " #", "=", "==", ":", ": ", "- ", "-", "?", "&a", "*a", "|", ">", "%", "@", "{", "}", "[", "]",
	",", "~", "<<", "EOF", "é", "ß", "秘密", "🔑", "\u00a0", "\u0085", "\u2028", "\u2029", "\ufeff", "\ufffd",
	"\x01", "\x1b[31m", "\x7f", "\u009f", "NO", "yes", "on", "null", "0x1F", "0o17", "017", "1e3", "1_000",
	"1:20", ".5", ".inf", "2001-12-14", "true", "---", "...", "%YAML", "\\n", "\\u0041", "'\\''", "export ",
	"DSTACK_SECRETS_EOF_", "\U0010ffff", "\uffff",
}

// randomValue returns a random non-empty UTF-8 value without NUL bytes.
func randomValue(r *rand.Rand) string {
	var b strings.Builder
	n := 1 + r.IntN(12)
	if r.IntN(10) == 0 {
		n = 50 + r.IntN(200)
	}
	for range n {
		if r.IntN(4) == 0 {
			b.WriteRune(rune(0x20 + r.IntN(0x5f)))
			continue
		}
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// randomVars returns n seeded random variables named V_000, V_001, ...
func randomVars(seed uint64, n int) map[string]string {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	vars := make(map[string]string, n)
	for i := range n {
		vars[fmt.Sprintf("V_%03d", i)] = randomValue(r)
	}
	return vars
}

// filterVars returns the variables of vars that keep reports true for.
// carried keeps the variables that the format called name can hold: the
// docker format refuses line breaks, the dotenv formats values their peers
// disagree on (each refusal is tested in internal/dotenv).
func carried(name string, vars map[string]string) map[string]string {
	switch {
	case name == "docker":
		return filterVars(vars, dockerCarries)
	case strings.HasPrefix(name, "dotenv"):
		f := dotenv.Format(name)
		return filterVars(vars, func(v string) bool {
			_, err := dotenv.QuoteFormat(v, f)
			return err == nil
		})
	}
	return vars
}

func filterVars(vars map[string]string, keep func(string) bool) map[string]string {
	out := map[string]string{}
	for k, v := range vars {
		if keep(v) {
			out[k] = v
		}
	}
	return out
}

// trickyVars are fixed values every readable format must carry.
func trickyVars() map[string]string {
	return map[string]string{
		"MULTI_LINE":  "line one\nline two\r\nline three\n",
		"PEM":         "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\n-----END PRIVATE KEY-----\n",
		"UNICODE":     "pässwörd-秘密-🔑",
		"EQUALS":      "a=b=c==",
		"QUOTES":      `it's "quoted" \ and \n not a newline`,
		"SPACES":      "  leading and trailing  ",
		"SHELL":       "$(rm -rf /) `x` ${HOME} ; | & > <",
		"JSONISH":     `{"key": ["v", 1, null]}`,
		"YAML_NO":     "NO",
		"YAML_HEX":    "0x1",
		"YAML_EXP":    "1e3",
		"YAML_TILDE":  "~",
		"YAML_DATE":   "2001-12-14",
		"YAML_DASH":   "- item",
		"YAML_COLON":  "key: value",
		"YAML_HASH":   "#comment",
		"ONLY_NL":     "\n",
		"TWO_NL":      "a\n\n",
		"LEADING_NL":  "\n\n  indented",
		"INDENTED":    "  first\n    second\n",
		"TAB_CTRL":    "\t\x01\x1b[31m",
		"LINE_SEPS":   "a\u2028b\u2029c\u0085d\ufeffe",
		"CR_INSIDE":   "a\rb",
		"LONG":        strings.Repeat("0123456789abcdef", 4000),
		"DELIM_LIKE":  "x\nEOF\nDSTACK_SECRETS_EOF_00\n",
		"DOC_MARKERS": "---\n...\n%YAML 1.1\n",
		"NO":          "name that YAML 1.1 reads as false",
		"on":          "y",
	}
}

func TestHelpersCanFail(t *testing.T) {
	// checkNoValue and compareVars are what make the other tests fail.
	ft := &testing.T{}
	done := make(chan bool)
	go func() {
		defer func() { done <- ft.Failed() }()
		checkNoValue(ft, errors.New("holds "+marker))
	}()
	if !<-done {
		t.Fatal("checkNoValue did not fail on a message holding the marker")
	}
	go func() {
		defer func() { done <- ft.Failed() }()
		compareVars(ft, "x", map[string]string{"A": "1"}, map[string]string{"A": "2"})
	}()
	if !<-done {
		t.Fatal("compareVars did not fail on a mismatch")
	}
	if v := randomValue(rand.New(rand.NewPCG(1, 2))); v == "" || !utf8.ValidString(v) || bytes.IndexByte([]byte(v), 0) >= 0 {
		t.Fatal("randomValue returned an empty, invalid or NUL-holding value")
	}
}
