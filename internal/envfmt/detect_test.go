package envfmt

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "dotenv",
		"# only a comment\n":                  "dotenv",
		"A=1\n":                               "dotenv",
		"export A='x'\n":                      "dotenv",
		"A=b: c\nB=d\n":                       "dotenv", // YAML reads "A=b": c, then a scalar: no mapping
		"A=1\nB 2\n":                          "dotenv", // broken dotenv: dotenv's error
		"A: 1\n":                              "yaml",
		"A: x\nB: |\n  y\n":                   "yaml",
		"---\nA: x\n":                         "yaml",
		"\ufeff  {\"A\": \"x\"}":              "json",
		"{\"A\": 1}":                          "json", // valid JSON: json's reader explains
		"{\n}\n":                              "json",
		"apiVersion: v1\nkind: Secret\n":      "k8s",
		`{"apiVersion":"v1","kind":"Secret"}`: "k8s",
		"kind: Secret\napiVersion: v1\ndata:\n  A: eA==\n": "k8s",
	} {
		got, err := Detect([]byte(in))
		if err != nil || got != want {
			t.Errorf("Detect(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"{A: " + marker + "}":   "starts like JSON but is not valid JSON",
		"{\"A\": \"" + marker:   "starts like JSON but is not valid JSON",
		"[\"" + marker + "\"]":  "JSON but not an object",
		"A=b: c\n":              "reads both as a dotenv file and as a YAML mapping",
		"A=" + marker + ": c\n": "pass --format dotenv or --format yaml",
	} {
		got, err := Detect([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Detect(%q) = %q, %v; want an error %q", in, got, err, want)
		}
		checkNoValue(t, err)
	}
}
