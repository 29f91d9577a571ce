package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// reference masks in with a naive search of every pattern at every
// position, the union of overlapping occurrences shown as the mask of the
// one that starts first (longest, then most important): the behaviour the
// package documents, without the streaming machinery.
func reference(r *Redactor, in []byte) []byte {
	m := r.matcher()
	if m == nil {
		return slices.Clone(in)
	}
	var ms []region
	for pid, p := range m.pats {
		for i := 0; i+len(p) <= len(in); i++ {
			if bytes.Equal(in[i:i+len(p)], p) {
				ms = append(ms, region{start: int64(i), end: int64(i + len(p)), patLen: int64(len(p)), pat: int32(pid)})
			}
		}
	}
	slices.SortFunc(ms, func(a, b region) int {
		if before(a, b) {
			return -1
		}
		if before(b, a) {
			return 1
		}
		return 0
	})
	var out []byte
	at := int64(0)
	for i := 0; i < len(ms); {
		g := ms[i]
		j := i + 1
		for j < len(ms) && ms[j].start < g.end {
			g.end = max(g.end, ms[j].end)
			j++
		}
		out = append(out, in[at:g.start]...)
		out = append(out, r.masks[m.owner[g.pat]]...)
		at = g.end
		i = j
	}
	return append(out, in[at:]...)
}

// fuzzValue keeps the characters of the masks out of a fuzzed value: a
// value made of mask text can be formed by a mask and its neighbours,
// which shows nothing of the input.
func fuzzValue(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '*' || r == '<' || r == '>' {
			return 'x'
		}
		return r
	}, s)
}

// FuzzRedact checks, for random values, random text holding them in their
// encoded forms, and random split into writes, that the output of the
// writer equals the unsplit output, equals the naive reference, and holds
// no value nor any masked form of one.
func FuzzRedact(f *testing.F) {
	f.Add("hunter22", "tok_abcdef", []byte("log line with stuff\n"), []byte{0, 40, 90, 130, 170, 210, 250, 7}, false)
	f.Add("aaaa", "aaaaa", []byte("aaaaaaaaaaaa"), []byte{1, 2, 3}, true)
	f.Add("ab\ncd", "p@ss w/rd+é", []byte("x"), []byte{33, 66, 99, 132, 165, 198, 231}, false)
	f.Add("abcdef12", "ef12gh34", []byte("abcdef12gh34"), []byte{255, 254}, true)
	f.Fuzz(func(t *testing.T, v1, v2 string, data, ops []byte, names bool) {
		v1, v2 = fuzzValue(v1), fuzzValue(v2)
		format := FormatStars
		if names {
			format = FormatName
		}
		r := New(map[string]string{"A": v1, "B": v2}, Options{Format: format, MinLength: 4, IdleFlush: -1})
		in := slices.Clone(data)
		for i, op := range ops[:min(len(ops), 8)] {
			v := []byte(v1)
			if i%2 == 1 {
				v = []byte(v2)
			}
			var ins []byte
			switch op >> 5 {
			case 0, 1:
				ins = v
			case 2:
				ins = []byte(base64.StdEncoding.EncodeToString(append(bytes.Repeat([]byte{op}, int(op)%4), v...)))
			case 3:
				ins = []byte(base64.URLEncoding.EncodeToString(append(append([]byte{op}, v...), op)))
			case 4:
				ins = []byte(url.QueryEscape(string(v)))
			case 5:
				ins = []byte(url.PathEscape(string(v)))
			case 6:
				ins, _ = json.Marshal(string(v))
			case 7:
				ins = bytes.ReplaceAll(v, []byte("\n"), []byte("\r\n"))
			}
			at := int(op) % (len(in) + 1)
			in = slices.Insert(in, at, ins...)
		}

		want := r.Bytes(in)
		if ref := reference(r, in); !bytes.Equal(want, ref) {
			t.Fatalf("output differs from the reference (len %d, reference len %d)", len(want), len(ref))
		}
		var got bytes.Buffer
		w := r.NewWriter(&got)
		for i, rest := 0, in; len(rest) > 0; i++ {
			n := 1
			if len(ops) > 0 {
				n += int(ops[i%len(ops)]) % 17
			}
			n = min(n, len(rest))
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("split writes gave another output (len %d, want len %d)", got.Len(), len(want))
		}
		m := r.matcher()
		if m == nil {
			return
		}
		for pid, p := range m.pats {
			if bytes.Contains(want, p) {
				t.Fatalf("pattern #%d (len %d) left in the output", pid, len(p))
			}
		}
		// The test's own reckoning of the forms, for what the redactor
		// claims to mask.
		for _, name := range r.Names() {
			v := []byte(map[string]string{"A": v1, "B": v2}[name])
			forms := [][]byte{v, []byte(base64.StdEncoding.EncodeToString(v)), []byte(url.QueryEscape(string(v)))}
			for a := range 3 {
				forms = append(forms, []byte(stableBase64(base64.RawStdEncoding, v, a)), []byte(stableBase64(base64.RawURLEncoding, v, a)))
			}
			for i, form := range forms {
				if len(form) >= 4 && bytes.Contains(want, form) {
					t.Fatalf("form #%d (len %d) of %s left in the output", i, len(form), name)
				}
			}
		}
	})
}
