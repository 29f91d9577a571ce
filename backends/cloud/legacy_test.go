package cloud

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "gocloud.dev/secrets/localsecrets" // base64key://, the KMS key of the fixture

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

const legacyDir = "testdata/legacy-v1"

// legacyFixture uploads the objects of testdata/legacy-v1/<mode> to a fresh
// bucket of srv, and returns the options that read them and the values
// they hold.
func legacyFixture(t *testing.T, srv cloudtest.Server, mode string) (Options, map[string]map[string]string) {
	t.Helper()
	opts := person(t, newBucket(t, srv))
	switch mode {
	case "kms":
		u, err := os.ReadFile(filepath.Join(legacyDir, "kms-url"))
		if err != nil {
			t.Fatal(err)
		}
		opts.KMS = strings.TrimSpace(string(u))
	default:
		id, err := os.ReadFile(filepath.Join(legacyDir, "identity.key"))
		if err != nil {
			t.Fatal(err)
		}
		opts.IdentityFile = filepath.Join(t.TempDir(), "identity.key")
		if err := os.WriteFile(opts.IdentityFile, id, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := projectT(t, opts)
	root := filepath.Join(legacyDir, mode)
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key, _ := filepath.Rel(root, path)
		rawPut(t, p, filepath.ToSlash(key), data, version{})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]map[string]string
	data, err := os.ReadFile(filepath.Join(legacyDir, "values.json"))
	if err == nil {
		err = json.Unmarshal(data, &values)
	}
	if err != nil {
		t.Fatal(err)
	}
	return opts, values
}

// TestLegacyObjects reads objects written by the first plaintext format
// (testdata/legacy-v1, made by the code of commit bd3a17d), in both modes:
// they read as they are, a read does not rewrite them, Repositories counts
// them, and the next write of a repository migrates its object to the
// document format, keeping every secret; the other repository's object
// stays as it was, and readable.
func TestLegacyObjects(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv cloudtest.Server) {
		for _, mode := range []string{"recipients", "kms"} {
			t.Run(mode, func(t *testing.T) {
				opts, want := legacyFixture(t, srv, mode)
				p := projectT(t, opts)
				before := map[string][]byte{}
				for repo, values := range want {
					scope := secrets.Scope{Project: "team", Repository: repo}
					before[repo], _ = rawGet(t, p, repoKey(scope))
					if d, err := parseDoc(before[repo], repo); err != nil || d.body.Document != "" {
						t.Fatalf("the fixture of %s is not of the first format (%v)", repo, err)
					}
					s := openT(t, scope, opts)
					got, err := secrets.GetAll(ctxT(t), s)
					if err != nil {
						t.Fatalf("GetAll(%s): %v", repo, err)
					}
					sameValues(t, "GetAll "+repo, got, values)
					names, err := s.List(ctxT(t))
					if err != nil || !slices.Equal(names, secrets.SortedNames(values)) {
						t.Errorf("List(%s) = %q, %v", repo, names, err)
					}
					for name, v := range values {
						if got, err := s.Get(ctxT(t), name); err != nil || got != v {
							t.Errorf("Get(%s, %s): mismatch (%v)", repo, name, err)
						}
					}
				}
				s := openT(t, testScope, opts)
				counts, err := secrets.Repositories(ctxT(t), s)
				wantCounts := map[string]int{}
				for repo, values := range want {
					wantCounts[repo] = len(values)
				}
				if err != nil || !maps.Equal(counts, wantCounts) {
					t.Errorf("Repositories = %v, %v; want %v", counts, err, wantCounts)
				}
				for repo := range want {
					after, _ := rawGet(t, p, repoKey(secrets.Scope{Project: "team", Repository: repo}))
					if !bytes.Equal(after, before[repo]) {
						t.Errorf("reading %s rewrote its object", repo)
					}
				}

				// The next write migrates the object it writes, only.
				mustSet(t, s, "ADDED", "after the migration")
				data, _ := rawGet(t, p, repoKey(testScope))
				d, err := parseDoc(data, "")
				if err != nil || d.body.Document != document.FormatV2 {
					t.Fatalf("after a write the object is not a document (%v)", err)
				}
				wantRepo := maps.Clone(want[testScope.Repository])
				wantRepo["ADDED"] = "after the migration"
				got, err := secrets.GetAll(ctxT(t), openT(t, testScope, opts))
				if err != nil {
					t.Fatal(err)
				}
				sameValues(t, "GetAll after the migration", got, wantRepo)
				local := secrets.Scope{Project: "team", Repository: "/home/me/src/app"}
				after, _ := rawGet(t, p, repoKey(local))
				if !bytes.Equal(after, before[local.Repository]) {
					t.Errorf("a write of %s rewrote the object of %s", testScope.Repository, local.Repository)
				}
				if got, err := secrets.GetAll(ctxT(t), openT(t, local, opts)); err != nil {
					t.Fatal(err)
				} else {
					sameValues(t, "GetAll of the unmigrated object", got, want[local.Repository])
				}
			})
		}
	})
}

// TestNewerDocumentFormat: an object whose body names a document format
// this program does not know is refused with a message to upgrade, and
// never overwritten.
func TestNewerDocumentFormat(t *testing.T) {
	srv := cloudtest.S3(t)
	vault := cloudtest.VaultServer(t)
	opts := newBucket(t, srv)
	opts.KMS, opts.Env = vault.TransitKey(t)
	mustSet(t, openT(t, testScope, opts), "DB_PASSWORD", secretValue)
	p := projectT(t, opts)
	data, ver := rawGet(t, p, repoKey(testScope))
	d, err := parseDoc(data, "")
	if err != nil {
		t.Fatal(err)
	}
	d.body.Document = "dstack-secrets/file/v3"
	d.env.Body = mustJSON(t, d.body)
	newer := marshalT(t, d)
	rawPut(t, p, repoKey(testScope), newer, ver)
	s := openT(t, testScope, opts)
	_, gerr := s.Get(ctxT(t), "DB_PASSWORD")
	werr := s.Set(ctxT(t), "OTHER", "x")
	for _, err := range []error{gerr, werr} {
		if !errors.Is(err, secrets.ErrCorrupt) || !strings.Contains(err.Error(), "upgrade dstack-secrets") {
			t.Errorf("got %v, want a damaged-document error that says to upgrade", err)
		}
		checkNoValue(t, err, secretValue)
	}
	if after, _ := rawGet(t, p, repoKey(testScope)); !bytes.Equal(after, newer) {
		t.Error("the object of a newer format was overwritten")
	}
}

// sameValues compares values without printing any.
func sameValues(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d secrets (%q), want %d (%q)", what, len(got), secrets.SortedNames(got), len(want), secrets.SortedNames(want))
		return
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s: %s missing or mismatched (%d bytes, want %d)", what, name, len(g), len(v))
		}
	}
}
