package file_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// FuzzDecodeStore feeds arbitrary bytes to the backend as a store file next
// to a valid key file. Reading must give the secrets (only for a valid
// store), secrets.ErrCorrupt or secrets.ErrAuth, never a panic; and a store
// that cannot be read must never be overwritten by a write.
func FuzzDecodeStore(f *testing.F) {
	ctx := context.Background()
	seedDir := f.TempDir()
	s, err := file.Open(ctx, scope, file.Options{Dir: seedDir})
	if err != nil {
		f.Fatal(err)
	}
	for _, kv := range [][2]string{{"A", "1"}, {"B", "two\nlines"}} {
		if err := s.Set(ctx, kv[0], kv[1]); err != nil {
			f.Fatal(err)
		}
	}
	key, err := os.ReadFile(filepath.Join(seedDir, "proj.key"))
	if err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(storePath(s))
	if err != nil {
		f.Fatal(err)
	}
	// A store encrypted to another key.
	otherDir := f.TempDir()
	other, _ := file.Open(ctx, scope, file.Options{Dir: otherDir})
	if err := other.Set(ctx, "A", "1"); err != nil {
		f.Fatal(err)
	}
	foreign, _ := os.ReadFile(storePath(other))

	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(valid[:len(valid)-1])
	f.Add(foreign)
	f.Add([]byte{})
	f.Add([]byte("age-encryption.org/v1\n"))
	f.Add([]byte("age-encryption.org/v1\n-> scrypt AAAA 18\nAAAA\n--- AAAA\n"))
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\nAAAA\n--- AAAA\n\x00\x01"))
	f.Add([]byte(`{"format":"dstack-secrets/file/v1","repositories":{}}`))
	if i := bytes.Index(valid, []byte("\n--- ")); i > 0 {
		flipped := bytes.Clone(valid)
		flipped[len(flipped)-3] ^= 0xff
		f.Add(flipped)
		f.Add(valid[:i+1])
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "proj.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "proj.age")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := file.Open(ctx, scope, file.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		_, listErr := s.List(ctx)
		_, getErr := s.Get(ctx, "A")
		setErr := s.Set(ctx, "FUZZ_NEW", "value")
		if listErr == nil {
			// Only a genuine store decodes; a write to it must work.
			if getErr != nil && !errors.Is(getErr, secrets.ErrNotFound) {
				t.Fatalf("List worked but Get failed: %v", getErr)
			}
			if setErr != nil {
				t.Fatalf("List worked but Set failed: %v", setErr)
			}
			return
		}
		if !errors.Is(listErr, secrets.ErrCorrupt) && !errors.Is(listErr, secrets.ErrAuth) {
			t.Fatalf("List of a bad store: want ErrCorrupt or ErrAuth, got %v", listErr)
		}
		if getErr == nil || setErr == nil {
			t.Fatalf("List failed (%v) but Get (%v) or Set (%v) worked", listErr, getErr, setErr)
		}
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, data) {
			t.Fatalf("a store that could not be read was overwritten by Set (%v)", setErr)
		}
	})
}

// FuzzDecodePlaintext encrypts arbitrary bytes to the store's own key, so
// that the fuzzer reaches the decoding of the plaintext document. Reading
// must succeed or give secrets.ErrCorrupt, never panic, and a store that
// cannot be read, or is damaged in a part a read did not decode, must never
// be overwritten. (internal/document's FuzzDecode fuzzes the decoder alone.)
func FuzzDecodePlaintext(f *testing.F) {
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	key := []byte(id.String() + "\n")
	f.Add([]byte(`{"format":"dstack-secrets/file/v1","repositories":{"github.com/org/repo":{"A":"1"}}}`))
	f.Add([]byte(`{"format":"dstack-secrets/file/v2","toc":[{"repository":"github.com/org/repo","secrets":1,"index":[160,27],"entries":[232,7]}],` + "\n" +
		`"index":{` + "\n" + `"github.com/org/repo":{"names":["A"],"sizes":[7]}` + "\n" + `},` + "\n" +
		`"repositories":{` + "\n" + `"github.com/org/repo":{` + "\n" + `"A":"1"` + "\n" + `}` + "\n" + `}}` + "\n"))
	f.Add([]byte(`{"format":"dstack-secrets/file/v1","repositories":{"github.com/org/repo":null}}`))
	f.Add([]byte(`{"format":"dstack-secrets/file/v1","repositories":null}`))
	f.Add([]byte(`{"format":"dstack-secrets/file/v2","repositories":{}}`))
	f.Add([]byte(`{"format":"dstack-secrets/file/v1","repositories":{"github.com/org/repo":{"A":1}}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, plain []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "proj.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := age.Encrypt(&buf, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		data := buf.Bytes()
		path := filepath.Join(dir, "proj.age")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := file.Open(ctx, scope, file.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		_, listErr := s.List(ctx)
		setErr := s.Set(ctx, "FUZZ_NEW", "value")
		if listErr == nil && setErr == nil {
			if v, err := s.Get(ctx, "FUZZ_NEW"); err != nil || v != "value" {
				t.Fatalf("Get after Set: %v", err)
			}
			return
		}
		if listErr == nil {
			// List decodes the repository's index only; a write checks
			// the whole document and refuses a damaged one.
			if !errors.Is(setErr, secrets.ErrCorrupt) {
				t.Fatalf("List worked but Set failed with other than ErrCorrupt: %v", setErr)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
				t.Fatalf("a store that could not be written was overwritten by Set (%v)", setErr)
			}
			return
		}
		if !errors.Is(listErr, secrets.ErrCorrupt) {
			t.Fatalf("List of an undecodable document: want ErrCorrupt, got %v", listErr)
		}
		if setErr == nil {
			t.Fatalf("List failed (%v) but Set worked", listErr)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Fatalf("a store that could not be read was overwritten by Set (%v)", setErr)
		}
	})
}
