package file_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// notices collects what the backend tells the user through Env.Notice.
type notices struct {
	mu   sync.Mutex
	msgs []string
}

func (n *notices) add(msg string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, msg)
}

func (n *notices) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.msgs)
}

func openWith(t *testing.T, sc secrets.Scope, opts file.Options) secrets.Store {
	t.Helper()
	s, err := file.Open(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeyCreationIsAnnounced(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var n notices
	opts := file.Options{Dir: dir, Env: secrets.Env{Notice: n.add}}
	// Concurrent first writers create one key, announced once.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := openWith(t, scope, opts)
			if err := s.Set(ctx, "K"+strings.Repeat("X", i), "v"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	keyPath := filepath.Join(dir, "proj.key")
	got := n.all()
	if len(got) != 1 {
		t.Fatalf("%d notices, want 1: %q", len(got), got)
	}
	for _, want := range []string{"created the key file " + keyPath, `project "proj"`, "losing it loses every one of them", "Back it up", "dstack-secrets key export"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("notice %q lacks %q", got[0], want)
		}
	}
	// Later writes, and reads, announce nothing.
	s := openWith(t, scope, opts)
	if err := s.Set(ctx, "LATER", "v"); err != nil {
		t.Fatal(err)
	}
	if len(n.all()) != 1 {
		t.Errorf("a write with an existing key announced: %q", n.all())
	}
	// Passphrase mode has no key file to announce.
	var pn notices
	pp := openWith(t, scope, file.Options{Dir: t.TempDir(), Passphrase: true, Env: secrets.Env{Notice: pn.add},
		PassphraseFunc: func(context.Context, bool) (string, error) { return "correct horse", nil }})
	if err := pp.Set(ctx, "K", "v"); err != nil {
		t.Fatal(err)
	}
	if len(pn.all()) != 0 {
		t.Errorf("passphrase mode announced %q", pn.all())
	}
}

func TestExportImportKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openWith(t, scope, file.Options{Dir: dir})
	fs := secrets.Unwrap(s).(*file.Store)
	if _, err := fs.ExportKey(); !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "has no key file yet") {
		t.Errorf("export before the first write: %v", err)
	}
	if err := s.Set(ctx, "TOKEN", "t0ken"); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "proj.key")
	if fs.KeyPath() != keyPath {
		t.Errorf("KeyPath = %q", fs.KeyPath())
	}
	backup, err := fs.ExportKey()
	onDisk, _ := os.ReadFile(keyPath)
	if err != nil || !bytes.Equal(backup, onDisk) || !bytes.Contains(backup, []byte("AGE-SECRET-KEY-1")) {
		t.Fatalf("export: %v (%d bytes, the file has %d)", err, len(backup), len(onDisk))
	}

	// The key is lost: the store says exactly that, with both paths.
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	lost := openWith(t, scope, file.Options{Dir: dir})
	_, err = lost.List(ctx)
	if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "key file "+keyPath+" is missing") || !strings.Contains(err.Error(), filepath.Join(dir, "proj.age")) {
		t.Errorf("a store without its key: %v", err)
	}
	lostStore := secrets.Unwrap(lost).(*file.Store)
	if _, err := lostStore.ExportKey(); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("export of a missing key: %v", err)
	}

	// Another store's key does not decrypt this one: refused.
	other := openWith(t, scope, file.Options{Dir: t.TempDir()})
	if err := other.Set(ctx, "X", "x"); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := secrets.Unwrap(other).(*file.Store).ExportKey()
	if _, err := lostStore.ImportKey(otherKey); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("import of a foreign key: %v", err)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused import wrote the key file")
	}
	for _, bad := range []string{"", "not a key\n", "AGE-SECRET-KEY-1QQQ\n"} {
		if _, err := lostStore.ImportKey([]byte(bad)); !errors.Is(err, secrets.ErrInvalidValue) {
			t.Errorf("import of %q: %v", bad, err)
		}
	}

	// The backup restores it: 0600, and the secrets are back.
	if ok, err := lostStore.ImportKey(backup); err != nil || !ok {
		t.Fatalf("import of the backup: %v, %v", ok, err)
	}
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("imported key file: %v, %v", fi.Mode(), err)
	}
	if v, err := lost.Get(ctx, "TOKEN"); err != nil || v != "t0ken" {
		t.Errorf("after import: %v (value matches: %v)", err, v == "t0ken")
	}
	// Importing it again changes nothing; a different key is refused.
	if ok, err := lostStore.ImportKey(backup); err != nil || ok {
		t.Errorf("import of the installed key: %v, %v", ok, err)
	}
	if _, err := lostStore.ImportKey(otherKey); !errors.Is(err, secrets.ErrExists) || !strings.Contains(err.Error(), "it was not replaced") {
		t.Errorf("import over another key: %v", err)
	}
	if now, _ := os.ReadFile(keyPath); !bytes.Equal(now, backup) {
		t.Errorf("the key file changed")
	}
}

func TestMoveInOneFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldScope := secrets.Scope{Project: scope.Project, Repository: "/home/me/repo"}
	from := openWith(t, oldScope, file.Options{Dir: dir})
	to := openWith(t, scope, file.Options{Dir: dir})
	for _, n := range []string{"A", "B"} {
		if err := from.Set(ctx, n, "value of "+n); err != nil {
			t.Fatal(err)
		}
	}
	if err := to.Set(ctx, "B", "kept"); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "proj.age"))
	// The file backend's own mover refuses an existing name and writes nothing.
	_, err := secrets.Unwrap(from).(*file.Store).MoveTo(ctx, secrets.Unwrap(to), false)
	if !errors.Is(err, secrets.ErrExists) || !strings.Contains(err.Error(), "B in project") {
		t.Fatalf("MoveTo onto B: %v", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "proj.age")); !bytes.Equal(before, after) {
		t.Errorf("a refused move rewrote the file")
	}
	moved, err := secrets.Unwrap(from).(*file.Store).MoveTo(ctx, secrets.Unwrap(to), true)
	if err != nil || !slices.Equal(moved, []string{"A", "B"}) {
		t.Fatalf("MoveTo: %q, %v", moved, err)
	}
	repos, err := secrets.Repositories(ctx, to)
	if err != nil || len(repos) != 1 || repos[scope.Repository] != 2 {
		t.Errorf("Repositories after the move: %v, %v", repos, err)
	}
	// A store in another directory is another file: the mover declines
	// and secrets.Move copies and deletes.
	elsewhere := openWith(t, secrets.Scope{Project: scope.Project, Repository: "github.com/org/elsewhere"}, file.Options{Dir: t.TempDir()})
	if _, err := secrets.Unwrap(to).(*file.Store).MoveTo(ctx, secrets.Unwrap(elsewhere), false); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("MoveTo another file: %v", err)
	}
	moved, err = secrets.Move(ctx, to, elsewhere, false)
	if err != nil || len(moved) != 2 {
		t.Fatalf("Move to another file: %q, %v", moved, err)
	}
	if v, err := elsewhere.Get(ctx, "A"); err != nil || v != "value of A" {
		t.Errorf("moved value: %v", err)
	}
	if names, _ := to.List(ctx); len(names) != 0 {
		t.Errorf("left behind: %q", names)
	}
}
