package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// checkMasked fails when out still contains want-masked text; it reports
// only the label, never the value.
func checkMasked(t *testing.T, label, out string, forbidden ...string) {
	t.Helper()
	for i, f := range forbidden {
		if strings.Contains(out, f) {
			t.Errorf("%s: output still holds forbidden text #%d (len %d)", label, i, len(f))
		}
	}
}

// checkEqual compares got and want without printing them when they hold
// secrets (holdsSecret).
func checkEqual(t *testing.T, label, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s: output mismatch (len %d, want len %d)", label, len(got), len(want))
	}
}

const token = "tok_9f8e7d6c5b4a"

func TestMasksValueInText(t *testing.T) {
	r := New(map[string]string{"API_TOKEN": token}, Options{})
	checkEqual(t, "stars", r.String("auth: "+token+"\nnext "+token), "auth: ***\nnext ***")
	rn := New(map[string]string{"API_TOKEN": token}, Options{Format: FormatName})
	checkEqual(t, "name", rn.String("auth: "+token+"!"), "auth: <API_TOKEN>!")
	checkEqual(t, "plain text untouched", r.String("nothing to see"), "nothing to see")
	checkEqual(t, "prefix only", r.String(token[:10]), token[:10])
}

// stableBase64 is the test's own reckoning of the base64 characters that
// depend only on v when v sits a bytes into a 3-byte group: character c
// holds bits [6c, 6c+6).
func stableBase64(enc *base64.Encoding, v []byte, a int) string {
	blob := append(make([]byte, a), v...)
	s := enc.EncodeToString(blob)
	first := (8*a + 5) / 6
	last := (8 * (a + len(v))) / 6
	return s[first:last]
}

func TestMasksEncodings(t *testing.T) {
	values := map[string]string{
		"PLAIN":   "Zq3xV9pL2mK8",
		"SYMBOLS": "p@ss w/rd+&<x>?=%\"\\é",
		"BINARY":  "\xfb\xff\xfe\x00\x01/+?",
	}
	r := New(values, Options{})
	for name, v := range values {
		vb := []byte(v)
		type enc struct {
			label string
			text  string // the encoded form as a program would print it
			form  string // what must not be left in the output
		}
		var encs []enc
		// A value inside a longer base64 blob, at each alignment, in both
		// alphabets, with random bytes around it.
		rnd := rand.New(rand.NewPCG(1, uint64(len(v))))
		for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			encs = append(encs, enc{"base64 alone", e.EncodeToString(vb), e.EncodeToString(vb)})
			for a := range 3 {
				for _, after := range []int{0, 1, 2, 5} {
					blob := make([]byte, 3*rnd.IntN(4)+a)
					for i := range blob {
						blob[i] = byte(rnd.Uint32())
					}
					blob = append(blob, vb...)
					for range after {
						blob = append(blob, byte(rnd.Uint32()))
					}
					encs = append(encs, enc{"base64 in blob", e.EncodeToString(blob), stableBase64(e.WithPadding(base64.NoPadding), vb, a)})
				}
			}
		}
		q, p := url.QueryEscape(v), url.PathEscape(v)
		encs = append(encs, enc{"query escape", "https://h.invalid/?t=" + q + "&x=1", q}, enc{"path escape", "https://h.invalid/" + p + "/x", p})
		js, _ := json.Marshal(map[string]string{"token": v})
		jsv, _ := json.Marshal(v)
		encs = append(encs, enc{"json", string(js), string(jsv[1 : len(jsv)-1])})
		if name == "SYMBOLS" {
			// As Python's json.dumps writes it (ensure_ascii).
			py := `p@ss w/rd+&<x>?=%\"\\\u00e9`
			encs = append(encs, enc{"json ascii", `{"t": "` + py + `"}`, py})
		}
		for _, e := range encs {
			out := r.String("[" + e.text + "]")
			checkMasked(t, name+" "+e.label, out, e.form, v)
			if !strings.Contains(out, "***") {
				t.Errorf("%s %s: nothing masked", name, e.label)
			}
		}
	}
}

func TestNoEncodings(t *testing.T) {
	r := New(map[string]string{"T": token}, Options{NoEncodings: true})
	b64 := base64.StdEncoding.EncodeToString([]byte(token))
	checkEqual(t, "base64 kept", r.String(b64), b64)
	checkEqual(t, "raw masked", r.String(token), "***")
}

func TestMinLength(t *testing.T) {
	r := New(map[string]string{"SHORT": "admin", "EMPTY": "", "OK": "admin1"}, Options{})
	if got := r.Skipped(); !slices.Equal(got, []string{"EMPTY", "SHORT"}) {
		t.Errorf("Skipped() = %v, want [EMPTY SHORT]", got)
	}
	if got := r.Names(); !slices.Equal(got, []string{"OK"}) {
		t.Errorf("Names() = %v, want [OK]", got)
	}
	checkEqual(t, "short kept", r.String("user admin, pass admin1"), "user admin, pass ***")

	r4 := New(map[string]string{"PIN": "4711"}, Options{MinLength: 4})
	checkEqual(t, "MinLength 4", r4.String("pin 4711"), "pin ***")
	if len(r4.Skipped()) != 0 {
		t.Errorf("Skipped() = %v with MinLength 4", r4.Skipped())
	}
	// An encoded form shorter than MinLength is not masked: the base64 of
	// a 1-byte value would otherwise mask single letters everywhere.
	r1 := New(map[string]string{"X": "\xff"}, Options{MinLength: 1})
	checkEqual(t, "MinLength 1", r1.String("a/b\xffc"), "a/b***c")
}

func TestOverlapAndSubstrings(t *testing.T) {
	secrets := map[string]string{
		"LONG":  "xx-secretvalue-yy",
		"INNER": "secretvalue",
		"LEFT":  "abcdef12",
		"RIGHT": "ef12gh34",
	}
	r := New(secrets, Options{Format: FormatName})
	cases := []struct{ in, want string }{
		{"a xx-secretvalue-yy b", "a <LONG> b"},       // a value inside another: the longest
		{"a secretvalue b", "a <INNER> b"},            // the inner one alone
		{"a xx-secretvalue b", "a xx-<INNER> b"},      // the longer one is not all there
		{"a abcdef12gh34 b", "a <LEFT> b"},            // overlapping values: one mask
		{"a abcdef12ef12gh34 b", "a <LEFT><RIGHT> b"}, // touching: two
		{"zabcdef12gh3", "z<LEFT>gh3"},
	}
	for _, c := range cases {
		checkEqual(t, c.in, r.String(c.in), c.want)
	}
	// The union covers every byte of both values.
	checkEqual(t, "stars", New(secrets, Options{}).String("abcdef12gh34"), "***")
}

func TestSameValueTwoNames(t *testing.T) {
	r := New(map[string]string{"B_TOKEN": token, "A_TOKEN": token}, Options{Format: FormatName})
	checkEqual(t, "first name", r.String(token), "<A_TOKEN>")
}

func TestNewlinesUTF8Binary(t *testing.T) {
	multi := "line one\nline two\n"
	utf := "pässwörd-✓-密码"
	bin := string([]byte{0, 1, 2, 0xff, 0xfe, '\n', 0x80, 0x7f, 0})
	r := New(map[string]string{"MULTI": multi, "UTF": utf, "BIN": bin}, Options{Format: FormatName})
	checkEqual(t, "multi-line", r.String("<<"+multi+">>"), "<<<MULTI>>>")
	crlf := strings.ReplaceAll(multi, "\n", "\r\n")
	checkEqual(t, "as a terminal shows it", r.String("a "+crlf+"b"), "a <MULTI>b")
	checkEqual(t, "utf-8", r.String("é "+utf+" é"), "é <UTF> é")
	checkEqual(t, "binary", r.String("\x00\x00"+bin+"\xff"), "\x00\x00<BIN>\xff")
	// A value cut inside a multi-byte character is not a match.
	checkEqual(t, "utf-8 prefix", r.String(utf[:len(utf)-1]), utf[:len(utf)-1])
	js, _ := json.Marshal(multi)
	out := r.String(string(js))
	checkMasked(t, "json multi-line", out, string(js[1:len(js)-1]))
}

func TestNilAndEmptyRedactor(t *testing.T) {
	var nilR *Redactor
	if nilR.String("x") != "x" || string(nilR.Bytes([]byte("x"))) != "x" || nilR.Skipped() != nil {
		t.Error("a nil Redactor must pass text through")
	}
	var b bytes.Buffer
	if err := nilR.Copy(&b, strings.NewReader("abc")); err != nil || b.String() != "abc" {
		t.Errorf("nil Copy: %v", err)
	}
	empty := New(nil, Options{})
	w := empty.NewWriter(&b)
	if _, err := w.Write([]byte("def")); err != nil || w.Close() != nil || b.String() != "abcdef" {
		t.Error("an empty Redactor must pass bytes through")
	}
}

func TestBytes(t *testing.T) {
	r := New(map[string]string{"T": token}, Options{})
	in := []byte("x" + token)
	out := r.Bytes(in)
	checkEqual(t, "bytes", string(out), "x***")
	if string(in) != "x"+token {
		t.Error("Bytes changed its input")
	}
}

// TestPatternsOf checks the forms built for a value against the package's
// claims, with the test's own reckoning of them.
func TestPatternsOf(t *testing.T) {
	v := []byte("a\nb<c>d&e f/g+h?é\x01")
	ps := patternsOf([][]byte{v}, 6, true)
	has := map[string]bool{}
	for _, p := range ps {
		if has[string(p.b)] {
			t.Errorf("pattern of len %d listed twice", len(p.b))
		}
		has[string(p.b)] = true
		if p.owner != 0 {
			t.Errorf("owner %d", p.owner)
		}
	}
	jsHTML, _ := json.Marshal(string(v))
	var noHTML bytes.Buffer
	e := json.NewEncoder(&noHTML)
	e.SetEscapeHTML(false)
	_ = e.Encode(string(v))
	want := []string{
		string(v),
		strings.ReplaceAll(string(v), "\n", "\r\n"),
		base64.StdEncoding.EncodeToString(v),
		base64.URLEncoding.EncodeToString(v),
		base64.RawStdEncoding.EncodeToString(v),
		base64.RawURLEncoding.EncodeToString(v),
		url.QueryEscape(string(v)),
		url.PathEscape(string(v)),
		string(jsHTML[1 : len(jsHTML)-1]),
		strings.TrimSuffix(noHTML.String(), "\"\n")[1:],
		`a\nb<c>d&e f/g+h?\u00e9\u0001`,
	}
	for a := range 3 {
		want = append(want, stableBase64(base64.RawStdEncoding, v, a), stableBase64(base64.RawURLEncoding, v, a))
	}
	for i, w := range want {
		if !has[w] {
			t.Errorf("form #%d (len %d) missing", i, len(w))
		}
	}
}
