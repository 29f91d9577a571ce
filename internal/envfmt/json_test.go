package envfmt

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestJSONMatchesCLIExport checks that the writer writes what the CLI's
// export --format json has written so far (encoding/json, two-space
// indent, no HTML escaping), so that old exports and new ones are alike.
func TestJSONMatchesCLIExport(t *testing.T) {
	vars := trickyVars()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vars); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := JSON().Write(&got, vars, Options{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatal("the json writer's output differs from encoding/json's")
	}
	got.Reset()
	if err := JSON().Write(&got, nil, Options{}); err != nil || got.String() != "{}\n" {
		t.Fatalf("empty: %q, %v", got.String(), err)
	}
}

func TestJSONRead(t *testing.T) {
	ok := []struct {
		in   string
		want map[string]string
	}{
		{`{}`, map[string]string{}},
		{"\ufeff {\"A\": \"1\", \"b_2\": \"x\\ny\"}\n\n", map[string]string{"A": "1", "b_2": "x\ny"}},
		{`{"A": "\ud83d\udd11 \u00e9 \ufffd"}`, map[string]string{"A": "🔑 é \ufffd"}},
		{`{"A": "\\ud800"}`, map[string]string{"A": `\ud800`}},
		{`{"A": ""}`, map[string]string{"A": ""}},
	}
	for _, tc := range ok {
		got, err := JSON().Read([]byte(tc.in))
		if err != nil {
			t.Fatalf("Read(%q): %v", tc.in, err)
		}
		compareVars(t, "json", got, tc.want)
	}
	m := marker
	bad := []struct{ in, want string }{
		{``, "the document is empty"},
		{`   `, "the document is empty"},
		{`["` + m + `"]`, "line 1, column 1: expected a JSON object"},
		{`"` + m + `"`, "expected a JSON object"},
		{"{\n  \"A\": 1\n}", "line 2, column 8: A: the value is a number, not a string; write it in double quotes"},
		{`{"A": true}`, "A: the value is a boolean"},
		{`{"A": null}`, "A: the value is null"},
		{`{"A": ["` + m + `"]}`, "A: the value is an array"},
		{`{"A": {"B": "` + m + `"}}`, "A: the value is an object"},
		{"{\"A\": \"x\",\n \"A\": \"" + m + "\"}", "line 2, column 2: A: given more than once (also at line 1, column 2); keep one"},
		{`{"A-B": "` + m + `"}`, "line 1, column 2: a key is not a variable name"},
		{`{"": "` + m + `"}`, "a key is not a variable name"},
		{`{"A": "` + m + `"`, "the JSON ends early"},
		{`{"A": "` + m, "the JSON ends early"},
		{`{"A": ` + m + `}`, "line 1, column 7: not valid JSON here"},
		{`{"A": "x" "B": "` + m + `"}`, "not valid JSON here"},
		{`{"A": "x",}`, "not valid JSON here"},
		{`{"A": "` + m + `"} {"B": "x"}`, "unexpected text after the JSON object"},
		{`{"A": "` + m + `"} x`, "line 1, column 31: unexpected text after the JSON object"},
		{`{"A": "\q` + m + `"}`, "not valid JSON here"},
		{`{"A": "` + m + "\xff\"}", "line 1, column 28: not valid UTF-8"},
		{`{"A": "x\ud800y` + m + `"}`, "A: the value has a \\u escape of half a UTF-16 surrogate pair"},
		{`{"A": "\udc00` + m + `"}`, "half a UTF-16 surrogate pair"},
		{`{"A": "\ud800\u0041` + m + `"}`, "half a UTF-16 surrogate pair"},
	}
	for _, tc := range bad {
		_, err := JSON().Read([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read(%q): error %v, want %q", tc.in, err, tc.want)
		}
		checkNoValue(t, err)
	}
}
