package document

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

// TestParseEncode: Encode gives exactly the plaintext Encrypt encrypts,
// Parse reads it back lazily as Decrypt does, and an edit of a parsed
// document encodes like an edit of a decrypted one.
func TestParseEncode(t *testing.T) {
	id := newKey(t)
	d := New()
	for k, v := range tricky {
		d.Set("github.com/org/repo", k, v)
	}
	d.Set("/home/me/app", "LOCAL", "l")
	plain, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if d.Changed() || d.Fingerprint() != "" {
		t.Error("after Encode the document has edits or a fingerprint")
	}
	if sealed := openPlain(t, encrypt(t, d, id), id); sealed != string(plain) {
		t.Fatal("Encode and Encrypt lay the document out differently")
	}
	p, err := Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version() != 2 {
		t.Errorf("Version %d", p.Version())
	}
	if repos, err := p.Repositories(); err != nil || !slices.Equal(repos, []string{"/home/me/app", "github.com/org/repo"}) {
		t.Fatalf("Repositories: %q, %v", repos, err)
	}
	all, err := p.GetAll("github.com/org/repo")
	if err != nil {
		t.Fatal(err)
	}
	sameSecrets(t, "parsed", all, tricky)
	if v, ok, err := p.Get("github.com/org/repo", "QUOTED"); err != nil || !ok || v != tricky["QUOTED"] {
		t.Errorf("Get: mismatch, %v, %v", ok, err)
	}

	// The same edit through both paths gives the same plaintext.
	viaDecrypt := decrypt(t, encrypt(t, d, id), id)
	for _, doc := range []*Document{p, viaDecrypt} {
		doc.Set("github.com/org/repo", "NEW", "n")
		if _, err := doc.Delete("/home/me/app", "LOCAL"); err != nil {
			t.Fatal(err)
		}
	}
	a, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := viaDecrypt.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("an edit of a parsed document encodes differently from the same edit of a decrypted one")
	}
	if again, err := Parse(a); err != nil {
		t.Fatal(err)
	} else if repos, _ := again.Repositories(); !slices.Equal(repos, []string{"github.com/org/repo"}) {
		t.Errorf("after the edit, Repositories = %q", repos)
	}
}

// TestParseFormats: a version 1 plaintext parses and migrates on Encode;
// damaged, foreign and newer plaintexts are CorruptErrors that quote
// nothing, and a damaged version 2 plaintext is never re-encoded.
func TestParseFormats(t *testing.T) {
	v1 := `{"format":"dstack-secrets/file/v1","repositories":{"r":{"B":"2","A":"1\n\u003c"}}}`
	d, err := Parse([]byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	if d.Version() != 1 {
		t.Errorf("Version %d", d.Version())
	}
	out, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), v2Prefix) {
		t.Error("a version 1 document was not encoded as version 2")
	}

	good := New()
	good.Set("r", "SECRET", "s3cr3t-value")
	plain, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	damaged := []byte(strings.Replace(string(plain), `"SECRET":"s3cr3t-value"`, `"SECRET":"s3cr3t-valuX"`, 1))
	damaged = []byte(strings.Replace(string(damaged), `"sizes":[23]`, `"sizes":[24]`, 1))
	for name, text := range map[string]string{
		"empty":    "",
		"not JSON": "s3cr3t-value",
		"foreign":  `{"version":1,"secrets":{"A":"s3cr3t-value"}}`,
		"newer":    `{"format":"dstack-secrets/file/v9","repositories":{}}`,
	} {
		_, err := Parse([]byte(text))
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, secrets.ErrCorrupt) {
			t.Errorf("%s: got %v, want a *CorruptError", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error quotes the document", name)
		}
		if name == "newer" && (err == nil || !strings.Contains(err.Error(), "upgrade")) {
			t.Errorf("newer: %v does not say to upgrade", err)
		}
	}
	p, err := Parse(damaged)
	if err != nil {
		t.Fatalf("Parse reads the first line only, but failed: %v", err)
	}
	p.Set("r", "OTHER", "o")
	if _, err := p.Encode(); !errors.Is(err, secrets.ErrCorrupt) {
		t.Errorf("Encode of a damaged document: got %v, want a *CorruptError", err)
	}
	if !p.Changed() {
		t.Error("a failed Encode dropped the edits")
	}
}

// TestParseTOCShapes: the first line is accepted only in the form the
// encoder writes; any other JSON of another shape is corrupt, never a
// zero entry.
func TestParseTOCShapes(t *testing.T) {
	const size = 1 << 20
	good := `{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":1,"index":[200,10],"entries":[210,10]}],` + "\n"
	toc, err := parseTOC(good, size)
	if err != nil || len(toc) != 1 || toc[0] != (tocEntry{Repository: "a", Secrets: 1, Index: [2]int64{200, 10}, Entries: [2]int64{210, 10}}) {
		t.Fatalf("the written form: %+v, %v", toc, err)
	}
	for _, line := range []string{
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":1,"secrets":1,"index":[200,10],"entries":[210,10]}],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":"1","index":[200,10],"entries":[210,10]}],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":1.5,"index":[200,10],"entries":[210,10]}],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":1,"index":[200],"entries":[210,10]}],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":1,"index":[200,10,1],"entries":[210,10]}],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":1,"index":[200,10]}],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":1,"index":[200,10],"entries":[210,10],"x":1}],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"secrets":1,"repository":"a","index":[200,10],"entries":[210,10]}],`,
		`{"format":"dstack-secrets/file/v2","toc":{"repository":"a"}],`,
		`{"format":"dstack-secrets/file/v2","toc":[null],`,
		`{"format":"dstack-secrets/file/v2","toc":[{"repository":"a","secrets":99999999999999999999,"index":[200,10],"entries":[210,10]}],`,
	} {
		if toc, err := parseTOC(line+"\n", size); err == nil || !errors.Is(err, secrets.ErrCorrupt) {
			t.Errorf("%s: got %+v, %v; want corrupt", line, toc, err)
		}
	}
}
