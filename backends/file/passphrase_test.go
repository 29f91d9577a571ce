package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// passOpts are the options of a passphrase store in dir with the
// passphrase p and work factor wf (allowed below the default).
func passOpts(dir, p string, wf int) file.Options {
	return file.Options{Dir: dir, Passphrase: true, ScryptWorkFactor: wf, AllowWeakScrypt: true,
		PassphraseFunc: func(context.Context, bool) (string, error) { return p, nil }}
}

func mustOpen(t *testing.T, o file.Options) secrets.Store {
	t.Helper()
	s, err := file.Open(context.Background(), scope, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// headerWorkFactor reads the scrypt work factor from a store's age header.
func headerWorkFactor(t *testing.T, dir string) int {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(dir, "proj.age"))
	m := regexp.MustCompile(`\n-> scrypt \S+ (\d+)\n`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no scrypt stanza in the store's header")
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestWeakScryptRefused: a work factor below age's default needs the
// explicit allow_weak_scrypt.
func TestWeakScryptRefused(t *testing.T) {
	ctx := context.Background()
	for _, wf := range []int{10, 17} {
		_, err := file.Open(ctx, scope, file.Options{Dir: t.TempDir(), Passphrase: true, ScryptWorkFactor: wf})
		if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "allow_weak_scrypt: true") || !strings.Contains(err.Error(), "below age's default 18") {
			t.Errorf("work factor %d: %v", wf, err)
		}
	}
	reg := secrets.NewRegistry(file.Backend())
	_, err := reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Options: secrets.Options{"passphrase": true, "dir": t.TempDir(), "scrypt_work_factor": 12}})
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "scrypt_work_factor 12") {
		t.Errorf("scrypt_work_factor: 12 in the configuration: %v", err)
	}
	for _, wf := range []int{0, 18, 20} {
		if _, err := file.Open(ctx, scope, file.Options{Dir: t.TempDir(), Passphrase: true, ScryptWorkFactor: wf}); err != nil {
			t.Errorf("work factor %d: %v", wf, err)
		}
	}
}

// TestScryptWorkFactorKept: a write keeps the higher of the configured
// work factor and the store's: configuring a lower one never weakens an
// existing store.
func TestScryptWorkFactorKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := mustOpen(t, passOpts(dir, "correct horse battery", 12)).Set(ctx, "A", "v"); err != nil {
		t.Fatal(err)
	}
	if got := headerWorkFactor(t, dir); got != 12 {
		t.Fatalf("new store: work factor %d, want 12", got)
	}
	if err := mustOpen(t, passOpts(dir, "correct horse battery", 10)).Set(ctx, "B", "v"); err != nil {
		t.Fatal(err)
	}
	if got := headerWorkFactor(t, dir); got != 12 {
		t.Errorf("after a write configured with 10: work factor %d, want 12 (kept)", got)
	}
	if err := mustOpen(t, passOpts(dir, "correct horse battery", 13)).Set(ctx, "C", "v"); err != nil {
		t.Fatal(err)
	}
	if got := headerWorkFactor(t, dir); got != 13 {
		t.Errorf("after a write configured with 13: work factor %d, want 13 (raised)", got)
	}
}

// TestShortPassphraseWarning: a write with a passphrase shorter than 12
// characters (not bytes) warns once per store, without the passphrase.
func TestShortPassphraseWarning(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		pass string
		want string // "" for no warning
	}{
		{"hunter2", "is 7 characters long"},
		{"ключ-ключ", "is 9 characters long"},
		{"correct horse", ""},
		{"пароль-пароль", ""}, // 13 characters in 25 bytes
	} {
		var warnings []string
		o := passOpts(t.TempDir(), tc.pass, 10)
		o.Env.Warn = func(msg string) { warnings = append(warnings, msg) }
		s := mustOpen(t, o)
		for _, name := range []string{"A", "B"} {
			if err := s.Set(ctx, name, "v"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.List(ctx); err != nil {
			t.Fatal(err)
		}
		switch {
		case tc.want == "" && len(warnings) > 0:
			t.Errorf("%d characters: warned %q", len([]rune(tc.pass)), warnings)
		case tc.want != "" && (len(warnings) != 1 || !strings.Contains(warnings[0], tc.want) || !strings.Contains(warnings[0], "12 or more")):
			t.Errorf("%d characters: warnings %q, want one saying %q", len([]rune(tc.pass)), warnings, tc.want)
		}
		for _, w := range warnings {
			if strings.Contains(w, tc.pass) {
				t.Errorf("the warning shows the passphrase")
			}
		}
	}
}

// TestPassphraseCommand: the passphrase can come from a command run
// without a shell, less one final newline; its failure is an error that
// does not show its output.
func TestPassphraseCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cmd := func(argv ...string) file.Options {
		return file.Options{Dir: dir, Passphrase: true, ScryptWorkFactor: 10, AllowWeakScrypt: true, PassphraseCommand: argv}
	}
	// printf's arguments reach it as they are: no shell expands $HOME or ;.
	if err := mustOpen(t, cmd("printf", "%s\n\n", "$HOME; pass")).Set(ctx, "A", marker); err != nil {
		t.Fatal(err)
	}
	if got, err := mustOpen(t, passOpts(dir, "$HOME; pass\n", 10)).Get(ctx, "A"); err != nil || got != marker {
		t.Errorf("the passphrase is not the command's output less one newline: %v", err)
	}
	// Through the configuration, as a YAML list.
	reg := secrets.NewRegistry(file.Backend())
	s, err := reg.Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "file", Options: secrets.Options{"passphrase": true, "dir": dir,
		"passphrase_command": []any{"printf", "%s\n\n", "$HOME; pass"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "A"); err != nil || got != marker {
		t.Errorf("passphrase_command from the configuration: %v", err)
	}
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"sh", "-c", "echo " + marker + "; echo " + marker + " >&2; exit 3"}, "passphrase_command sh failed (exit status 3); its output is not shown"},
		{[]string{"/nonexistent/pass-helper"}, "/nonexistent/pass-helper was not found"},
		{[]string{"true"}, "printed no passphrase"},
		{[]string{"printf", "wrong\n"}, "wrong passphrase"},
	} {
		_, err := mustOpen(t, cmd(tc.argv...)).List(ctx)
		if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.argv, err, tc.want)
		} else if strings.Contains(err.Error(), marker) {
			t.Errorf("%q: the error shows the command's output", tc.argv)
		}
	}
	for _, o := range []file.Options{
		{Dir: dir, PassphraseCommand: []string{"printf", "x"}},
		{Dir: dir, Passphrase: true, PassphraseCommand: []string{""}},
		{Dir: dir, Passphrase: true, PassphraseCommand: []string{"printf", "x"}, PassphraseFD: 3},
		{Dir: dir, Passphrase: true, PassphraseFD: 1},
		{Dir: dir, PassphraseFD: 3},
	} {
		if _, err := file.Open(ctx, scope, o); !errors.Is(err, secrets.ErrInvalidConfig) {
			t.Errorf("%+v: %v, want an invalid configuration", o, err)
		}
	}
}

// TestPassphraseDescriptor: the passphrase can come from a file
// descriptor (passphrase_fd or DSTACK_SECRETS_PASSPHRASE_FD), read once
// per process, less one final newline, and closed so that no command
// started later inherits it.
func TestPassphraseDescriptor(t *testing.T) {
	if !fdSupported {
		t.Skip("passphrase descriptors are for Unix")
	}
	ctx := context.Background()
	dir := t.TempDir()
	fd := passFD(t, 60, "correct horse battery\n")
	s := mustOpen(t, file.Options{Dir: dir, Passphrase: true, ScryptWorkFactor: 10, AllowWeakScrypt: true, PassphraseFD: fd})
	if err := s.Set(ctx, "A", marker); err != nil {
		t.Fatal(err)
	}
	if fdOpen(fd) {
		t.Errorf("descriptor %d is still open after it was read", fd)
	}
	if got, err := mustOpen(t, passOpts(dir, "correct horse battery", 10)).Get(ctx, "A"); err != nil || got != marker {
		t.Errorf("the passphrase is not the descriptor's content less one newline: %v", err)
	}
	// A second store with the same descriptor gets the same passphrase.
	if got, err := mustOpen(t, file.Options{Dir: dir, Passphrase: true, PassphraseFD: fd}).Get(ctx, "A"); err != nil || got != marker {
		t.Errorf("a second store with the same descriptor: %v", err)
	}

	env := func(v string) file.Options {
		return file.Options{Dir: dir, Passphrase: true, Env: secrets.Env{Getenv: func(k string) string {
			if k == file.PassphraseFDEnvVar {
				return v
			}
			return ""
		}}}
	}
	fd = passFD(t, 61, "correct horse battery")
	if got, err := mustOpen(t, env(strconv.Itoa(fd))).Get(ctx, "A"); err != nil || got != marker {
		t.Errorf("%s: %v", file.PassphraseFDEnvVar, err)
	}
	if _, err := mustOpen(t, env("62")).List(ctx); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "file descriptor 62 ("+file.PassphraseFDEnvVar+")") || !strings.Contains(err.Error(), "not open") {
		t.Errorf("a descriptor that is not open: %v", err)
	}
	for _, v := range []string{"abc", "2", "-1"} {
		if _, err := file.Open(ctx, scope, env(v)); !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), file.PassphraseFDEnvVar) {
			t.Errorf("%s=%s: %v", file.PassphraseFDEnvVar, v, err)
		}
	}
}

// passFD opens a file holding content as descriptor n.
func passFD(t *testing.T, n int, content string) int {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pass")
	write(t, path, []byte(content))
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := dup2(int(f.Fd()), n); err != nil {
		t.Fatal(err)
	}
	return n
}
