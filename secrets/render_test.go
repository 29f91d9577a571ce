package secrets

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// renderMarker stands for a secret value: no error may hold it.
const renderMarker = "rm-71c2-do-not-print"

func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestRender(t *testing.T) {
	vars := map[string]string{"A": "alpha", "B_2": "x\ny", "EMPTY": "", "REF": "${{ secrets.A }}", "DOLLAR": "$HOME $$"}
	cases := []struct{ in, want string }{
		{"", ""},
		{"no references", "no references"},
		{"${{ secrets.A }}", "alpha"},
		{"${{secrets.A}}", "alpha"},
		{"${{\tsecrets.A  }}", "alpha"},
		{"${{\n  secrets.A\n}}", "alpha"},
		{"pre ${{ secrets.A }} mid ${{ secrets.B_2 }} post", "pre alpha mid x\ny post"},
		{"${{ secrets.A }}${{ secrets.A }}", "alphaalpha"},
		{"[${{ secrets.EMPTY }}]", "[]"},
		{"${{ secrets.REF }}", "${{ secrets.A }}"},                   // values are not scanned again
		{"${{ secrets.DOLLAR }}", "$HOME $$"},                        // nor expanded
		{"$A ${A} $(A) $ $$ $$$ ${ {", "$A ${A} $(A) $ $$ $$$ ${ {"}, // $VAR is never touched
		{"$${{ secrets.A }}", "${{ secrets.A }}"},                    // the escape
		{"$${{ not a reference", "${{ not a reference"},
		{"$${{ x }} ${{ secrets.A }}", "${{ x }} alpha"},
		{"$$${{ secrets.A }}", "$${{ secrets.A }}"},
		{"}} {{ ${ {{ $}}", "}} {{ ${ {{ $}}"},
		{"ünï ${{ secrets.A }} 🔑", "ünï alpha 🔑"},
	}
	for _, tc := range cases {
		got, err := Render(tc.in, lookupIn(vars))
		if err != nil {
			t.Fatalf("Render(%q): %v", tc.in, err)
		}
		if got != tc.want {
			t.Errorf("Render(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRenderLookupOncePerName(t *testing.T) {
	var calls []string
	lookup := func(name string) (string, bool) {
		calls = append(calls, name)
		return "v", true
	}
	if _, err := Render("${{ secrets.B }} ${{ secrets.A }} ${{secrets.B}} ${{ secrets.A }}", lookup); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []string{"B", "A"}) {
		t.Fatalf("lookup calls %v, want [B A]", calls)
	}
	// A malformed template is refused before any lookup.
	calls = nil
	if _, err := Render("${{ secrets.A }} ${{ secrets.1X }}", lookup); err == nil || len(calls) != 0 {
		t.Fatalf("lookup called %d times for a malformed template (err %v)", len(calls), err)
	}
}

func TestRenderUnknown(t *testing.T) {
	vars := map[string]string{"KNOWN": renderMarker}
	got, err := Render("${{ secrets.ZED }} ${{ secrets.KNOWN }} ${{ secrets.ALPHA }} ${{ secrets.ZED }} ${{ secrets.MID }}", lookupIn(vars))
	if got != "" {
		t.Fatal("Render returned a partial result")
	}
	var u *UnknownSecretsError
	if !errors.As(err, &u) || !slices.Equal(u.Names, []string{"ALPHA", "MID", "ZED"}) {
		t.Fatalf("error %v, want UnknownSecretsError [ALPHA MID ZED]", err)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Fatal("the error does not wrap ErrNotFound")
	}
	want := "secret not found: the template references 3 unknown secrets: ALPHA, MID, ZED; add them (dstack-secrets add NAME) or fix the references"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	if strings.Contains(err.Error(), renderMarker) {
		t.Fatal("the error holds a value")
	}
	_, err = Render("${{ secrets.ONE }}", lookupIn(nil))
	if err == nil || !strings.Contains(err.Error(), "1 unknown secret: ONE;") {
		t.Fatalf("one unknown: %v", err)
	}
}

func TestRenderMalformed(t *testing.T) {
	lookup := lookupIn(map[string]string{"A": renderMarker})
	cases := []struct{ in, want string }{
		{"${{ secrets.1X }}", `line 1, column 1: "${{ secrets.1X }}": invalid secret name: the name starts with a digit`},
		{"ok\n  ${{ secrets.A-B }}", `line 2, column 3: "${{ secrets.A-B }}": invalid secret name: '-' at byte 1`},
		{"é ${{ secrets. }}", `line 1, column 3: "${{ secrets. }}": invalid secret name: the name is empty`},
		{"${{ secrets.A", "line 1, column 1: the reference is not closed; end it with }} (write $${{ for a literal ${{)"},
		{"${{ secrets.A }} ${{ secrets.A } }", "line 1, column 18: the reference is not closed"},
		{"a\nb\n${{ env.HOME }}", `line 3, column 1: "${{ env.HOME }}" is not a secret reference; write ${{ secrets.NAME }} (or $${{ for a literal ${{)`},
		{"${{ secret.A }}", `"${{ secret.A }}" is not a secret reference`},
		{"${{ secrets.A.B }}", `"${{ secrets.A.B }}": invalid secret name: '.' at byte 1`},
		{"${{ secrets.A B }}", `invalid secret name: ' ' at byte 1`},
		{"${{ SECRETS.A }}", `is not a secret reference`},
		{"${{}}", `"${{  }}" is not a secret reference`},
		{"${{ secrets.A ${{ secrets.A }}", `line 1, column 1: "${{ secrets.A ${{ secrets.A }}": invalid secret name`},
		{"${{ " + strings.Repeat("x", 100) + " }}", `"${{ ` + strings.Repeat("x", 40) + `... }}" is not`},
	}
	for _, tc := range cases {
		got, err := Render(tc.in, lookup)
		var te *TemplateError
		if got != "" || !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Render(%q) = %q, %v; want a TemplateError %q", tc.in, got, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), renderMarker) {
			t.Fatal("an error holds a value")
		}
		if _, err2 := References(tc.in); err2 == nil || err2.Error() != err.Error() {
			t.Errorf("References(%q) error %v, want Render's", tc.in, err2)
		}
	}
}

func TestReferences(t *testing.T) {
	names, err := References("${{ secrets.B }} $${{ secrets.NOT }} ${{secrets.A}} ${{ secrets.B }} $HOME")
	if err != nil || !slices.Equal(names, []string{"A", "B"}) {
		t.Fatalf("References = %v, %v", names, err)
	}
	if names, err := References("none"); err != nil || names != nil {
		t.Fatalf("References(none) = %v, %v", names, err)
	}
}

// FuzzRender checks that Render never panics, that its errors never hold a
// value and place malformed references inside the template, that it fails
// exactly when References fails or names an unknown secret, and that a
// successful result holds no reference that was not escaped.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"${{ secrets.A }}", "$${{ secrets.A }}", "${{ secrets.1X }}", "${{ secrets.A", "a\n${{ env.X }}",
		"${{secrets.B_2}}${{ secrets.UNKNOWN }}", "$$$${{", "${{ secrets.A }}}}", "é${{ secrets.\xff }}", "",
	} {
		f.Add(s)
	}
	vars := map[string]string{"A": renderMarker + "-a", "B_2": renderMarker + "-b", "C": "${{ secrets.A }}"}
	f.Fuzz(func(t *testing.T, template string) {
		out, err := Render(template, lookupIn(vars))
		names, refErr := References(template)
		if err != nil {
			if out != "" {
				t.Fatal("partial result with an error")
			}
			if strings.Contains(err.Error(), renderMarker) {
				t.Fatal("an error holds a value")
			}
			var te *TemplateError
			var u *UnknownSecretsError
			switch {
			case errors.As(err, &te):
				if refErr == nil || refErr.Error() != err.Error() {
					t.Fatal("Render and References disagree on a malformed template")
				}
				if te.Line < 1 || te.Line > strings.Count(template, "\n")+1 || te.Column < 1 {
					t.Fatalf("error place %d:%d outside the template", te.Line, te.Column)
				}
			case errors.As(err, &u):
				if refErr != nil || len(u.Names) == 0 || !slices.IsSorted(u.Names) {
					t.Fatal("bad UnknownSecretsError")
				}
				for _, n := range u.Names {
					if _, known := vars[n]; known || !slices.Contains(names, n) {
						t.Fatal("UnknownSecretsError lists a known or unreferenced name")
					}
				}
			default:
				t.Fatalf("error of type %T", err)
			}
			return
		}
		if refErr != nil {
			t.Fatal("Render succeeded where References failed")
		}
		for _, n := range names {
			if _, known := vars[n]; !known {
				t.Fatal("Render succeeded with an unknown name")
			}
		}
		// Without escapes and without the value that holds a reference,
		// nothing that looks like a reference is left.
		if !strings.Contains(template, "$"+refOpen) && !slices.Contains(names, "C") && strings.Contains(out, refOpen) {
			t.Fatal("a reference was left in the output")
		}
	})
}
