package document

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/secrets"
)

// tricky values: everything appendQuoted escapes, and what it keeps.
var tricky = map[string]string{
	"A":          "1",
	"MULTI_LINE": "line one\nline two\r\n\ttabbed",
	"QUOTED":     `she said "hi" \ back`,
	"UNICODE":    "héllo wörld ✓ 日本 \u2028 \u2029 \ufffd",
	"CONTROL":    "\x01\x1f\b\f\x7f",
	"HTML":       "<a href='x'>&amp;</a>",
	"_":          " ",
}

func newKey(t testing.TB) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func encrypt(t testing.TB, d *Document, id *age.X25519Identity) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := d.Encrypt(&buf, id.Recipient()); err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return buf.Bytes()
}

func decrypt(t testing.TB, data []byte, id *age.X25519Identity) *Document {
	t.Helper()
	d, err := Decrypt(bytes.NewReader(data), int64(len(data)), id)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	return d
}

// sealPlain encrypts a plaintext as it is.
func sealPlain(t testing.TB, plain string, id *age.X25519Identity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openPlain(t testing.TB, data []byte, id *age.X25519Identity) string {
	t.Helper()
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameSecrets compares without printing values.
func sameSecrets(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d secrets, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s missing", what, k)
		} else if g != v {
			t.Errorf("%s: %s: value mismatch (%d bytes, want %d)", what, k, len(g), len(v))
		}
	}
}

func TestRoundTrip(t *testing.T) {
	id := newKey(t)
	d := New()
	want := map[string]map[string]string{"github.com/org/repo": tricky, "gitlab.com/x/y": {"B": "2", "C": "3"}}
	for repo, m := range want {
		for k, v := range m {
			d.Set(repo, k, v)
		}
	}
	data := encrypt(t, d, id)
	plain := openPlain(t, data, id)
	if !strings.HasPrefix(plain, v2Prefix) {
		t.Fatalf("the plaintext does not start with the v2 first line")
	}
	// jq's view: the secrets under "repositories", as in version 1.
	var doc struct {
		Format       string                       `json:"format"`
		Repositories map[string]map[string]string `json:"repositories"`
	}
	if err := json.Unmarshal([]byte(plain), &doc); err != nil {
		t.Fatalf("the plaintext is not JSON: %v", Unquoted(err))
	}
	if doc.Format != FormatV2 {
		t.Errorf("format %s", doc.Format)
	}
	for repo, m := range want {
		sameSecrets(t, "plain JSON "+repo, doc.Repositories[repo], m)
	}

	for _, r := range []*Document{d, decrypt(t, data, id)} {
		repos, err := r.Repositories()
		if err != nil || !slices.Equal(repos, []string{"github.com/org/repo", "gitlab.com/x/y"}) {
			t.Fatalf("Repositories: %v, %v", repos, err)
		}
		for repo, m := range want {
			names, err := r.List(repo)
			if err != nil || !slices.Equal(names, slices.Sorted(maps.Keys(m))) {
				t.Fatalf("List %s: %v, %v", repo, names, err)
			}
			for k, v := range m {
				got, ok, err := r.Get(repo, k)
				if err != nil || !ok || got != v {
					t.Errorf("Get %s %s: ok %v, err %v, match %v", repo, k, ok, err, got == v)
				}
			}
			all, err := r.GetAll(repo)
			if err != nil {
				t.Fatal(err)
			}
			sameSecrets(t, "GetAll "+repo, all, m)
		}
		if _, ok, err := r.Get("github.com/org/repo", "MISSING"); ok || err != nil {
			t.Errorf("Get of a missing name: ok %v, err %v", ok, err)
		}
		if names, err := r.List("nowhere"); len(names) != 0 || err != nil {
			t.Errorf("List of a missing repository: %v, %v", names, err)
		}
	}
}

// TestCanonical: decrypting and encrypting again without edits gives the
// same plaintext, and so does a document built in another order.
func TestCanonical(t *testing.T) {
	id := newKey(t)
	d := New()
	for k, v := range tricky {
		d.Set("r", k, v)
	}
	plain := openPlain(t, encrypt(t, d, id), id)
	again := openPlain(t, encrypt(t, decrypt(t, sealPlain(t, plain, id), id), id), id)
	if again != plain {
		t.Fatalf("re-encrypting changed the plaintext")
	}
	other := New()
	for _, k := range slices.Backward(slices.Sorted(maps.Keys(tricky))) {
		other.Set("r", k, tricky[k])
	}
	if openPlain(t, encrypt(t, other, id), id) != plain {
		t.Fatalf("another order of Sets gave another plaintext")
	}
}

func TestEdits(t *testing.T) {
	id := newKey(t)
	d := New()
	for i := range 50 {
		d.Set("r", fmt.Sprintf("N%02d", i), fmt.Sprint(i))
	}
	d.Set("gone", "X", "x")
	data := encrypt(t, d, id)

	e := decrypt(t, data, id)
	e.Set("r", "N10", "ten")
	e.Set("r", "A_FIRST", "first")
	e.Set("r", "Z_LAST", "last")
	if ok, err := e.Delete("r", "N20"); !ok || err != nil {
		t.Fatalf("Delete N20: %v, %v", ok, err)
	}
	if ok, err := e.Delete("r", "NOPE"); ok || err != nil {
		t.Fatalf("Delete of a missing name: %v, %v", ok, err)
	}
	if ok, err := e.Delete("gone", "X"); !ok || err != nil {
		t.Fatalf("Delete X: %v, %v", ok, err)
	}
	e.Set("new", "Y", "y")
	if !e.Changed() {
		t.Fatal("Changed is false after edits")
	}
	want := map[string]string{"A_FIRST": "first", "Z_LAST": "last"}
	for i := range 50 {
		want[fmt.Sprintf("N%02d", i)] = fmt.Sprint(i)
	}
	want["N10"] = "ten"
	delete(want, "N20")
	check := func(what string, r *Document) {
		t.Helper()
		names, err := r.List("r")
		if err != nil || !slices.Equal(names, slices.Sorted(maps.Keys(want))) {
			t.Fatalf("%s: List: %v, %v", what, names, err)
		}
		all, err := r.GetAll("r")
		if err != nil {
			t.Fatal(err)
		}
		sameSecrets(t, what, all, want)
		if repos, err := r.Repositories(); err != nil || !slices.Equal(repos, []string{"new", "r"}) {
			t.Fatalf("%s: Repositories: %v, %v", what, repos, err)
		}
		if v, ok, _ := r.Get("r", "N20"); ok {
			t.Errorf("%s: deleted N20 is there (%d bytes)", what, len(v))
		}
	}
	check("before Encrypt", e)
	out := encrypt(t, e, id)
	if e.Changed() || e.Fingerprint() == "" || e.Fingerprint() == decrypt(t, data, id).Fingerprint() {
		t.Fatalf("after Encrypt: changed %v, fingerprint %q", e.Changed(), e.Fingerprint())
	}
	check("after Encrypt", e)
	check("decrypted", decrypt(t, out, id))
	// The original bytes are untouched and still read as before.
	if v, ok, err := decrypt(t, data, id).Get("r", "N10"); err != nil || !ok || v != "10" {
		t.Fatalf("the old encryption changed")
	}
}

// countingReaderAt counts the bytes read from the encrypted source.
type countingReaderAt struct {
	r io.ReaderAt
	n atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// TestLazy checks that List reads the index only and Get one entry more,
// on a document of 20,000 secrets in two repositories.
func TestLazy(t *testing.T) {
	id := newKey(t)
	d := New()
	for i := range 10000 {
		d.Set("a", fmt.Sprintf("SECRET_%06d", i), fmt.Sprintf("tok_%036d", i))
		d.Set("b", fmt.Sprintf("SECRET_%06d", i), fmt.Sprintf("tok_%036d", i))
	}
	data := encrypt(t, d, id)
	src := &countingReaderAt{r: bytes.NewReader(data)}
	r, err := Decrypt(src, int64(len(data)), id)
	if err != nil {
		t.Fatal(err)
	}
	opened := src.n.Load()
	if opened > 3*chunkSize {
		t.Errorf("Decrypt read %d bytes of %d", opened, len(data))
	}
	names, err := r.List("b")
	if err != nil || len(names) != 10000 {
		t.Fatalf("List: %d names, %v", len(names), err)
	}
	listed := src.n.Load() - opened
	if listed > int64(len(data))/3 {
		t.Errorf("List of one repository read %d bytes of %d", listed, len(data))
	}
	before := src.n.Load()
	if v, ok, err := r.Get("b", "SECRET_005000"); err != nil || !ok || v != fmt.Sprintf("tok_%036d", 5000) {
		t.Fatalf("Get: ok %v, err %v", ok, err)
	}
	if got := src.n.Load() - before; got > 2*(chunkSize+16) {
		t.Errorf("Get read %d bytes", got)
	}
	// A reopened document shares the decoded index and value.
	before = src.n.Load()
	re := r.Reopen(src, int64(len(data)))
	if _, _, err := re.Get("b", "SECRET_005000"); err != nil {
		t.Fatal(err)
	}
	if _, err := re.List("b"); err != nil {
		t.Fatal(err)
	}
	if got := src.n.Load() - before; got != 0 {
		t.Errorf("a reopened document read %d bytes for what was decoded", got)
	}
}

func TestFingerprint(t *testing.T) {
	id := newKey(t)
	d := New()
	d.Set("r", "A", "1")
	data := encrypt(t, d, id)
	key, ok := Fingerprint(data, int64(len(data)))
	if !ok || key != d.Fingerprint() || key != decrypt(t, data, id).Fingerprint() {
		t.Fatalf("fingerprints differ: %v", ok)
	}
	if _, ok := Fingerprint(data[:20], int64(len(data))); ok {
		t.Fatal("a fingerprint of a partial header")
	}
	if key2, _ := Fingerprint(encrypt(t, d, id), int64(len(data))); key2 == key {
		t.Fatal("two encryptions have the same fingerprint")
	}
}

func TestPlainJSON(t *testing.T) {
	id := newKey(t)
	v1 := `{"format":"dstack-secrets/file/v1","repositories":{"r":{"B":"2","A":"1\n\u003c"},"empty":{}}}`
	pretty := "{\n  \"format\": \"dstack-secrets/file/v2\",\n  \"repositories\": {\"r\": {\"A\": \"1\\n<\", \"B\": \"2\"}}\n}\n"
	for name, plain := range map[string]string{"v1": v1, "v2 edited by hand": pretty} {
		t.Run(name, func(t *testing.T) {
			d := decrypt(t, sealPlain(t, plain, id), id)
			if d.Version() != 1 {
				t.Errorf("Version %d", d.Version())
			}
			if repos, err := d.Repositories(); err != nil || !slices.Equal(repos, []string{"r"}) {
				t.Fatalf("Repositories: %v, %v", repos, err)
			}
			if names, err := d.List("r"); err != nil || !slices.Equal(names, []string{"A", "B"}) {
				t.Fatalf("List: %v, %v", names, err)
			}
			d.Set("r", "C", "3")
			out := encrypt(t, d, id)
			m := decrypt(t, out, id)
			if m.Version() != 2 {
				t.Fatalf("migrated version %d", m.Version())
			}
			all, err := m.GetAll("r")
			if err != nil {
				t.Fatal(err)
			}
			sameSecrets(t, "migrated", all, map[string]string{"A": "1\n<", "B": "2", "C": "3"})
		})
	}
}

func TestWrongKey(t *testing.T) {
	d := New()
	d.Set("r", "A", "1")
	data := encrypt(t, d, newKey(t))
	_, err := Decrypt(bytes.NewReader(data), int64(len(data)), newKey(t))
	var noMatch *age.NoIdentityMatchError
	if !errors.As(err, &noMatch) {
		t.Fatalf("want NoIdentityMatchError, got %v", err)
	}
}

// failingReaderAt fails every read after the first n bytes.
type failingReaderAt struct {
	r io.ReaderAt
	n int64
}

var errDisk = errors.New("disk on fire")

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.n {
		return 0, errDisk
	}
	return f.r.ReadAt(p, off)
}

func TestReadFailureIsNotCorruption(t *testing.T) {
	id := newKey(t)
	d := New()
	for i := range 5000 {
		d.Set("r", fmt.Sprintf("N%05d", i), strings.Repeat("v", 40))
	}
	data := encrypt(t, d, id)
	r, err := Decrypt(failingReaderAt{bytes.NewReader(data), 4 * chunkSize}, int64(len(data)), id)
	if err == nil {
		_, err = r.GetAll("r")
	}
	if !errors.Is(err, errDisk) || errors.Is(err, secrets.ErrCorrupt) {
		t.Fatalf("want the read error, got %v", err)
	}
}

// TestDocExample checks that the examples of docs/file-format.md and
// docs/cloud.md are what the writer produces for their secrets.
func TestDocExample(t *testing.T) {
	for _, doc := range []struct{ file, section string }{
		{"../../docs/file-format.md", "## Version 2"},
		{"../../docs/cloud.md", "## Layout"},
	} {
		checkDocExample(t, doc.file, doc.section)
	}
}

func checkDocExample(t *testing.T, file, section string) {
	t.Helper()
	md, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(md), section)
	if !ok {
		t.Fatalf("%s has no %s section", file, section)
	}
	_, rest, _ = strings.Cut(rest, "```json\n")
	example, _, ok := strings.Cut(rest, "```\n")
	if !ok {
		t.Fatalf("no JSON example in the %s section of %s", section, file)
	}
	var doc struct {
		Repositories map[string]map[string]string `json:"repositories"`
	}
	if err := json.Unmarshal([]byte(example), &doc); err != nil {
		t.Fatalf("the example of %s is not JSON: %v", file, err)
	}
	d := New()
	for repo, m := range doc.Repositories {
		for k, v := range m {
			d.Set(repo, k, v)
		}
	}
	id := newKey(t)
	if got := openPlain(t, encrypt(t, d, id), id); got != example {
		t.Errorf("%s: the writer produces\n%s\nthe documentation shows\n%s", file, got, example)
	}
}

// TestRewriteAfterGetAll: a rewrite after GetAll of a store of one
// repository (what add does after its capacity check) decrypts the
// document once, not once for GetAll and again for the rewrite, and writes
// what it should.
func TestRewriteAfterGetAll(t *testing.T) {
	id := newKey(t)
	d := New()
	want := map[string]string{}
	for i := range 10000 {
		name, value := fmt.Sprintf("SECRET_%06d", i), fmt.Sprintf("tok_%036d", i)
		d.Set("r", name, value)
		want[name] = value
	}
	data := encrypt(t, d, id)
	src := &countingReaderAt{r: bytes.NewReader(data)}
	r, err := Decrypt(src, int64(len(data)), id)
	if err != nil {
		t.Fatal(err)
	}
	all, err := r.GetAll("r")
	if err != nil {
		t.Fatal(err)
	}
	sameSecrets(t, "GetAll", all, want)
	r.Set("r", "SECRET_005000", "new-value")
	want["SECRET_005000"] = "new-value"
	out := encrypt(t, r, id)
	// The index is read before the entries, and again with them.
	if got := src.n.Load(); got > int64(len(data))*3/2 {
		t.Errorf("GetAll and the rewrite read %d bytes of a %d-byte document", got, len(data))
	}
	// The written document, in memory (a replacement keeps the names as
	// they were) and decrypted again.
	for what, e := range map[string]*Document{"after Encrypt": r, "decrypted": decrypt(t, out, id)} {
		all, err = e.GetAll("r")
		if err != nil {
			t.Fatal(err)
		}
		sameSecrets(t, what, all, want)
		if names, err := e.List("r"); err != nil || !slices.Equal(names, slices.Sorted(maps.Keys(want))) {
			t.Fatalf("%s: List gives %d names, %v", what, len(names), err)
		}
	}
}

// TestSizeBound: SizeBound bounds the bytes of names and values from
// above (escapes only add to it), closely for plain values (the quotes,
// colon and separator of each entry), in the indexed layout, for a plain
// JSON document and with edits.
func TestSizeBound(t *testing.T) {
	id := newKey(t)
	exact := func(m map[string]string) int64 {
		var n int64
		for k, v := range m {
			n += int64(len(k) + len(v))
		}
		return n
	}
	plain := map[string]string{}
	for i := range 100 {
		plain[fmt.Sprintf("S%03d", i)] = strings.Repeat("v", i)
	}
	d := New()
	for k, v := range tricky {
		d.Set("tricky", k, v)
	}
	for k, v := range plain {
		d.Set("plain", k, v)
	}
	e := decrypt(t, encrypt(t, d, id), id)
	if got, want := e.SizeBound("tricky"), exact(tricky); got < want {
		t.Errorf("escaped values: SizeBound %d, below the size %d", got, want)
	}
	// 2 quotes, a colon and 2 quotes per entry; ",\n" between entries.
	if got, want := e.SizeBound("plain"), exact(plain)+7*100-2; got != want {
		t.Errorf("plain values: SizeBound %d, want %d", got, want)
	}
	if got := e.SizeBound("none"); got != 0 {
		t.Errorf("a missing repository: SizeBound %d", got)
	}
	e.Set("plain", "NEW", "value")
	if got, want := e.SizeBound("plain"), exact(plain)+7*100-2+8; got != want {
		t.Errorf("with an edit: SizeBound %d, want %d", got, want)
	}
	v1 := `{"format":"dstack-secrets/file/v1","repositories":{"r":{"B":"2","A":"1\n\u003c"}}}`
	if got := decrypt(t, sealPlain(t, v1, id), id).SizeBound("r"); got != 6 {
		t.Errorf("plain JSON: SizeBound %d, want 6", got)
	}
}
