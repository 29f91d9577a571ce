package document

import (
	"bytes"
	"errors"
	"maps"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/secrets"
)

// FuzzDecode encrypts arbitrary plaintext to a known key and reads it as a
// document: every read and Encrypt must succeed or give a *CorruptError
// whose text quotes nothing, never panic; a document that Encrypt accepts
// must come back with the same secrets, and one in the indexed layout
// byte for byte.
func FuzzDecode(f *testing.F) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	seed := func(build func(d *Document)) {
		d := New()
		build(d)
		var buf bytes.Buffer
		if err := d.Encrypt(&buf, id.Recipient()); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(openPlain(f, buf.Bytes(), id)))
	}
	seed(func(*Document) {})
	seed(func(d *Document) { d.Set("r", "A", "1") })
	seed(func(d *Document) {
		for k, v := range tricky {
			d.Set("github.com/org/repo", k, v)
		}
		d.Set("gitlab.com/x/y", "B", "2")
		d.Set("we\"ird\nrepo", "we ird", "v")
	})
	f.Add([]byte(`{"format":"dstack-secrets/file/v1","repositories":{"r":{"A":"1"}}}`))
	f.Add([]byte(`{"format":"dstack-secrets/file/v1","repositories":{"r":null}}`))
	f.Add([]byte(`{"format":"dstack-secrets/file/v3","repositories":{}}`))
	f.Add([]byte(`{"format":"dstack-secrets/file/v2","toc":[{"repository":"r","secrets":1,"index":[0,1],"entries":[0,1]}],` + "\n"))
	f.Add([]byte(``))

	f.Fuzz(func(t *testing.T, plain []byte) {
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		data := buf.Bytes()
		ok := func(what string, err error) bool {
			t.Helper()
			if err == nil {
				return true
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, secrets.ErrCorrupt) {
				t.Fatalf("%s: want a CorruptError, got %T: %v", what, err, err)
			}
			if strings.ContainsAny(err.Error(), "\"'`") {
				t.Fatalf("%s: the error quotes something: %v", what, err)
			}
			return false
		}
		// Parse, of the same plaintext, agrees with Decrypt throughout.
		p, perr := Parse(bytes.Clone(plain))
		d, err := Decrypt(bytes.NewReader(data), int64(len(data)), id)
		if (perr == nil) != (err == nil) {
			t.Fatalf("Parse and Decrypt disagree: %v / %v", perr, err)
		}
		ok("Parse", perr)
		if !ok("Decrypt", err) {
			return
		}
		repos, err := d.Repositories()
		if !ok("Repositories", err) {
			return
		}
		read := map[string]map[string]string{}
		for _, repo := range repos {
			names, lerr := d.List(repo)
			ok("List", lerr)
			for _, n := range names {
				if _, err := d.Has(repo, n); !ok("Has", err) {
					break
				}
				if _, _, err := d.Get(repo, n); !ok("Get", err) {
					break
				}
			}
			if all, err := d.GetAll(repo); ok("GetAll", err) {
				read[repo] = all
			}
		}
		var out bytes.Buffer
		encoded, eerr := p.Encode()
		if !ok("Encrypt", d.Encrypt(&out, id.Recipient())) {
			if eerr == nil {
				t.Fatal("Encode accepted a document that Encrypt refused")
			}
			return
		}
		if !ok("Encode", eerr) || string(encoded) != openPlain(t, out.Bytes(), id) {
			t.Fatal("Encode and Encrypt write different documents")
		}
		again, err := Decrypt(bytes.NewReader(out.Bytes()), int64(out.Len()), id)
		if err != nil {
			t.Fatalf("the written document does not decrypt: %v", err)
		}
		for _, repo := range repos {
			all, err := again.GetAll(repo)
			if err != nil {
				t.Fatalf("the written document: GetAll: %v", err)
			}
			if want, ok := read[repo]; ok && !maps.Equal(all, want) {
				t.Fatalf("the written document has other secrets in a repository")
			}
		}
		if d.Version() == 2 && strings.HasPrefix(string(plain), v2Prefix) && openPlain(t, out.Bytes(), id) != string(plain) {
			t.Fatalf("a document in the indexed layout was not written back byte for byte")
		}
	})
}
