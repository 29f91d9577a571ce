package file_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

var scope = secrets.Scope{Project: "proj", Repository: "github.com/org/repo"}

func TestConformance(t *testing.T) {
	secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
		dir := t.TempDir()
		return func(ctx context.Context, sc secrets.Scope) (secrets.Store, error) {
			return file.Open(ctx, sc, file.Options{Dir: dir})
		}
	}, secretstest.Options{})
}

func TestConformancePassphrase(t *testing.T) {
	secretstest.Run(t, func(t *testing.T) secretstest.OpenFunc {
		dir := t.TempDir()
		return func(ctx context.Context, sc secrets.Scope) (secrets.Store, error) {
			return file.Open(ctx, sc, file.Options{Dir: dir, Passphrase: true, ScryptWorkFactor: 10, AllowWeakScrypt: true,
				PassphraseFunc: func(context.Context, bool) (string, error) { return "correct horse", nil }})
		}
	}, secretstest.Options{})
}

func open(t *testing.T, dir string) secrets.Store {
	t.Helper()
	s, err := file.Open(context.Background(), scope, file.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	dir := filepath.Join(t.TempDir(), "a", "secrets")
	s := open(t, dir)
	if err := s.Set(context.Background(), "K", "v"); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                             0o700 | os.ModeDir,
		filepath.Dir(dir):               0o700 | os.ModeDir,
		filepath.Join(dir, "proj.age"):  0o600,
		filepath.Join(dir, "proj.key"):  0o600,
		filepath.Join(dir, "proj.lock"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("directory holds %d entries, want 3 (store, key, lock): no temporary files may remain", len(entries))
	}
}

func TestReadsCreateNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s := open(t, dir)
	ctx := context.Background()
	if names, err := s.List(ctx); err != nil || len(names) != 0 {
		t.Fatalf("List of a new store: %v %v", names, err)
	}
	if _, err := s.Get(ctx, "X"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get: %v", err)
	}
	if err := s.Delete(ctx, "X"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "proj.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reads created a key file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "proj.age")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reads created a store file: %v", err)
	}
}

const marker = "MARKER-VALUE-never-in-errors"

// seeded returns a directory holding a store with one secret, and the
// store file's bytes.
func seeded(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	if err := open(t, dir).Set(context.Background(), "SEED", marker); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "proj.age"))
	if err != nil {
		t.Fatal(err)
	}
	return dir, data
}

// checkRefused runs every operation against a damaged store: each must fail
// with want, name the file, never contain the marker, and leave the store
// file byte-identical.
func checkRefused(t *testing.T, dir string, want error, mention string) {
	t.Helper()
	storePath := filepath.Join(dir, "proj.age")
	before, _ := os.ReadFile(storePath)
	s := open(t, dir)
	ctx := context.Background()
	_, errGet := s.Get(ctx, "SEED")
	_, errList := s.List(ctx)
	errSet := s.Set(ctx, "NEW", "value")
	errDel := s.Delete(ctx, "SEED")
	errCreate := secrets.Create(ctx, s, "NEW2", "value")
	for op, err := range map[string]error{"Get": errGet, "List": errList, "Set": errSet, "Delete": errDel, "Create": errCreate} {
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want an error wrapping %v", op, err, want)
			continue
		}
		if !strings.Contains(err.Error(), mention) {
			t.Errorf("%s: error %q does not mention %q", op, err, mention)
		}
		if strings.Contains(err.Error(), marker) {
			t.Errorf("%s: error contains the secret value", op)
		}
	}
	after, _ := os.ReadFile(storePath)
	if !bytes.Equal(before, after) {
		t.Errorf("the store file changed after refused operations")
	}
}

func TestDamagedStores(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(t *testing.T, dir string, data []byte)
		want    error
		mention string
	}{
		{"truncated", func(t *testing.T, dir string, data []byte) {
			write(t, filepath.Join(dir, "proj.age"), data[:len(data)-20])
		}, secrets.ErrCorrupt, "proj.age"},
		{"truncated header", func(t *testing.T, dir string, data []byte) {
			write(t, filepath.Join(dir, "proj.age"), data[:40])
		}, secrets.ErrCorrupt, "proj.age"},
		{"bit flip in payload", func(t *testing.T, dir string, data []byte) {
			d := bytes.Clone(data)
			d[len(d)-5] ^= 0x40
			write(t, filepath.Join(dir, "proj.age"), d)
		}, secrets.ErrCorrupt, "proj.age"},
		{"foreign file", func(t *testing.T, dir string, data []byte) {
			write(t, filepath.Join(dir, "proj.age"), []byte("{\"not\": \"ours\"}\n"))
		}, secrets.ErrCorrupt, "not a dstack-secrets store"},
		{"empty file", func(t *testing.T, dir string, data []byte) {
			write(t, filepath.Join(dir, "proj.age"), nil)
		}, secrets.ErrCorrupt, "proj.age"},
		{"key replaced", func(t *testing.T, dir string, data []byte) {
			other := t.TempDir()
			if err := open(t, other).Set(context.Background(), "X", "y"); err != nil {
				t.Fatal(err)
			}
			key, _ := os.ReadFile(filepath.Join(other, "proj.key"))
			write(t, filepath.Join(dir, "proj.key"), key)
		}, secrets.ErrAuth, "does not decrypt"},
		{"key missing", func(t *testing.T, dir string, data []byte) {
			os.Remove(filepath.Join(dir, "proj.key"))
		}, secrets.ErrAuth, "key file"},
		{"key garbage", func(t *testing.T, dir string, data []byte) {
			write(t, filepath.Join(dir, "proj.key"), []byte("not a key\n"))
		}, secrets.ErrAuth, "not an age identity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, data := seeded(t)
			tc.damage(t, dir, data)
			checkRefused(t, dir, tc.want, tc.mention)
			if tc.name == "key missing" {
				if _, err := os.Stat(filepath.Join(dir, "proj.key")); err == nil {
					t.Errorf("a new key file was generated for an existing store")
				}
			}
		})
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestKeyFileModeRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes")
	}
	dir, _ := seeded(t)
	keyPath := filepath.Join(dir, "proj.key")
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	checkRefused(t, dir, secrets.ErrPermission, "chmod 600 "+keyPath)
}

func TestPassphrase(t *testing.T) {
	dir := t.TempDir()
	pass := func(p string) file.Options {
		return file.Options{Dir: dir, Passphrase: true, ScryptWorkFactor: 10, AllowWeakScrypt: true,
			PassphraseFunc: func(context.Context, bool) (string, error) { return p, nil }}
	}
	ctx := context.Background()
	s, err := file.Open(ctx, scope, pass("right"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "SEED", marker); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "proj.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("passphrase mode created a key file")
	}
	before, _ := os.ReadFile(filepath.Join(dir, "proj.age"))
	wrong, _ := file.Open(ctx, scope, pass("wrong"))
	if _, err := wrong.Get(ctx, "SEED"); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("Get with a wrong passphrase: %v", err)
	}
	if err := wrong.Set(ctx, "OTHER", "v"); !errors.Is(err, secrets.ErrAuth) {
		t.Errorf("Set with a wrong passphrase: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "proj.age"))
	if !bytes.Equal(before, after) {
		t.Errorf("a wrong passphrase changed the store")
	}
	// Opening the passphrase store in key mode, and vice versa, explains the option.
	keyMode := open(t, dir)
	if _, err := keyMode.List(ctx); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "passphrase: true") {
		t.Errorf("key mode on a passphrase store: %v", err)
	}
	keyDir, _ := seeded(t)
	o := pass("x")
	o.Dir = keyDir
	pm, _ := file.Open(ctx, scope, o)
	if _, err := pm.List(ctx); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "remove \"passphrase: true\"") {
		t.Errorf("passphrase mode on a key store: %v", err)
	}
	// A failing passphrase source is reported and writes nothing.
	failing := pass("")
	failing.Dir = t.TempDir()
	failing.PassphraseFunc = func(context.Context, bool) (string, error) { return "", errors.New("no terminal") }
	fs, _ := file.Open(ctx, scope, failing)
	if err := fs.Set(ctx, "A", "b"); err == nil || !strings.Contains(err.Error(), "no terminal") {
		t.Errorf("Set with a failing passphrase source: %v", err)
	}
	if entries, _ := os.ReadDir(failing.Dir); len(entries) > 1 { // the lock file only
		t.Errorf("a failed first write left %d files", len(entries))
	}
}

func TestBackendOptions(t *testing.T) {
	home := t.TempDir()
	reg := secrets.NewRegistry(file.Backend())
	ctx := context.Background()
	env := secrets.Env{HomeDir: home, Getenv: func(string) string { return "" }}
	s, err := reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Env: env})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "K", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, ".dstack", "secrets", "proj.age")); err != nil {
		t.Errorf("default location not used: %v", err)
	}
	s, err = reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Env: env, Options: secrets.Options{"dir": "~/other"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "K", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(home, "other", "proj.age")); err != nil {
		t.Errorf("dir option with ~ not used: %v", err)
	}
	_, err = reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Env: env, Options: secrets.Options{"dri": "/x"}})
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), `"dri"`) || !strings.Contains(err.Error(), "allow_weak_scrypt, dir, identity_file, passphrase, passphrase_command, passphrase_fd, scrypt_work_factor") {
		t.Errorf("unknown option: %v", err)
	}
	_, err = reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Env: env, Options: secrets.Options{"passphrase": "yes please"}})
	if !errors.Is(err, secrets.ErrInvalidConfig) {
		t.Errorf("option of the wrong type: %v", err)
	}
	// Passphrase mode without a terminal or the variable says how to supply it.
	s, err = reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Env: env, Options: secrets.Options{"passphrase": true, "dir": t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "K", "v"); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), file.PassphraseEnvVar) {
		t.Errorf("passphrase without a source: %v", err)
	}
	// ... and takes it from the variable when set.
	envPass := env
	envPass.Getenv = func(k string) string {
		if k == file.PassphraseEnvVar {
			return "from env"
		}
		return ""
	}
	s, err = reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Env: envPass, Options: secrets.Options{"passphrase": true, "dir": t.TempDir(), "scrypt_work_factor": 10, "allow_weak_scrypt": true}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "K", "v"); err != nil {
		t.Errorf("passphrase from %s: %v", file.PassphraseEnvVar, err)
	}
}

func TestCacheSeesOtherWriters(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	ctx := context.Background()
	for i := range 20 {
		v := fmt.Sprintf("v%d", i)
		if err := a.Set(ctx, "K", v); err != nil {
			t.Fatal(err)
		}
		got, err := b.Get(ctx, "K")
		if err != nil || got != v {
			t.Fatalf("round %d: reader saw a stale value (err %v)", i, err)
		}
	}
}

func TestUnwritableDirectory(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; covered by the reliability suite's read-only mount")
	}
	dir, data := seeded(t)
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	err := open(t, dir).Set(context.Background(), "NEW", "v")
	if !errors.Is(err, secrets.ErrPermission) {
		t.Errorf("Set in a read-only directory: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "proj.age"))
	if !bytes.Equal(data, after) {
		t.Errorf("store changed")
	}
}

func TestManyWritersOneProcess(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := open(t, dir)
			for i := range 25 {
				if err := s.Set(ctx, fmt.Sprintf("W%d_%d", w, i), "v"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	names, err := open(t, dir).List(ctx)
	if err != nil || len(names) != 100 {
		t.Fatalf("List: %d names, %v", len(names), err)
	}
}

// storePath is the store file of a store opened by file.Open.
func storePath(s secrets.Store) string { return secrets.Unwrap(s).(*file.Store).Path() }

// TestSizeBound: the store bounds its scope's size from its index (the
// capacity check's shortcut past about 250 secrets), from above.
func TestSizeBound(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	sb, ok := secrets.Unwrap(s).(secrets.SizeBounder)
	if !ok {
		t.Fatal("the file store is not a secrets.SizeBounder")
	}
	if n, err := sb.SizeBound(ctx); err != nil || n != 0 {
		t.Fatalf("an empty store: SizeBound %d, %v", n, err)
	}
	values := map[string]string{"A": "1", "QUOTED": `say "hi"`, "LONG": strings.Repeat("x", 300)}
	if err := secrets.SetMany(ctx, s, values, false); err != nil {
		t.Fatal(err)
	}
	size := 0
	for k, v := range values {
		size += len(k) + len(v)
	}
	if n, err := sb.SizeBound(ctx); err != nil || n < size || n > size+7*len(values)+2 {
		t.Fatalf("SizeBound %d, %v; the size is %d", n, err, size)
	}
}
