package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
	"github.com/dstackai/dstack-secrets/secrets/secretstest"
)

func TestMergeEnviron(t *testing.T) {
	base := []string{"PATH=/bin", "TOKEN=inherited", "HOME=/root", "TOKEN=again", "NOEQUALS", "=C:=C:\\x", "EMPTY="}
	vars := map[string]string{"TOKEN": "secret", "B_NEW": "b", "A_NEW": "a=b", "EMPTY": "e"}
	cases := []struct {
		name     string
		override bool
		want     []string
	}{
		{"override", true, []string{"PATH=/bin", "HOME=/root", "NOEQUALS", "=C:=C:\\x", "A_NEW=a=b", "B_NEW=b", "EMPTY=e", "TOKEN=secret"}},
		{"keep inherited", false, []string{"PATH=/bin", "TOKEN=inherited", "HOME=/root", "TOKEN=again", "NOEQUALS", "=C:=C:\\x", "EMPTY=", "A_NEW=a=b", "B_NEW=b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(base)
			got := secrets.MergeEnviron(base, vars, tc.override)
			if !slices.Equal(got, tc.want) {
				t.Errorf("MergeEnviron =\n%q\nwant\n%q", got, tc.want)
			}
			if !slices.Equal(base, before) {
				t.Errorf("MergeEnviron modified base")
			}
		})
	}
	if got := secrets.MergeEnviron(nil, nil, true); len(got) != 0 {
		t.Errorf("MergeEnviron(nil, nil) = %q", got)
	}
	if got := secrets.MergeEnviron(nil, map[string]string{"A": "1"}, false); !slices.Equal(got, []string{"A=1"}) {
		t.Errorf("MergeEnviron(nil, A) = %q", got)
	}
}

func openFile(t *testing.T) secrets.Store {
	t.Helper()
	s, err := file.Open(context.Background(), secretstest.Scope(), file.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestEnviron(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		store secrets.Store
	}{
		{"file backend (BulkGetter)", openFile(t)},
		{"minimal store (concurrent Get)", newMem()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tricky := secretstest.TrickyValues()
			for name, v := range tricky {
				if err := tc.store.Set(ctx, name, v); err != nil {
					t.Fatal(err)
				}
			}
			env, err := secrets.Environ(ctx, tc.store, []string{"SINGLE=inherited", "OTHER=1"}, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(env) != len(tricky)+1 || env[0] != "OTHER=1" {
				t.Fatalf("Environ gave %d entries starting with %q", len(env), env[0])
			}
			for _, kv := range env[1:] {
				name, value, _ := strings.Cut(kv, "=")
				if tricky[name] != value {
					t.Errorf("entry for %s differs from the stored value", name)
				}
			}
			env, err = secrets.Environ(ctx, tc.store, []string{"SINGLE=inherited"}, false)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(env, "SINGLE=inherited") || slices.Contains(env, "SINGLE=x") {
				t.Errorf("override=false replaced an inherited variable")
			}
		})
	}
}

func TestEnvironErrors(t *testing.T) {
	ctx := context.Background()
	m := newMem()
	for _, name := range []string{"A", "B", "C"} {
		m.Set(ctx, name, "v")
	}
	m.failOn = "B" // deleted between List and Get: left out
	env, err := secrets.Environ(ctx, m, []string{"X=1"}, true)
	if err != nil || len(env) != 3 || slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "B=") }) {
		t.Errorf("Environ with a secret vanishing midway = %d entries, %v; want X, A and C", len(env), err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := secrets.Environ(cctx, openFile(t), nil, true); !errors.Is(err, context.Canceled) {
		t.Errorf("Environ with a cancelled context: %v", err)
	}
	cmd := exec.Command("true")
	cmd.Env = []string{"KEEP=1"}
	if err := secrets.PrepareCmd(cctx, openFile(t), cmd, true); !errors.Is(err, context.Canceled) {
		t.Errorf("PrepareCmd with a cancelled context: %v", err)
	}
	if !slices.Equal(cmd.Env, []string{"KEEP=1"}) {
		t.Errorf("a failed PrepareCmd changed cmd.Env")
	}
}

// TestPrepareCmd starts real child processes and checks the values they
// see byte for byte.
func TestPrepareCmd(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh in PATH")
	}
	ctx := context.Background()
	s := openFile(t)
	tricky := secretstest.TrickyValues()
	delete(tricky, "LONG") // too long for one command line on some systems; covered by TestEnviron
	for name, v := range tricky {
		if err := s.Set(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range tricky {
		cmd := exec.Command(sh, "-c", `printf %s "$`+name+`"`)
		if err := secrets.PrepareCmd(ctx, s, cmd, true); err != nil {
			t.Fatal(err)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != want {
			t.Errorf("child sees %s with %d bytes, want %d", name, len(out), len(want))
		}
	}

	// With cmd.Env nil the base is the process environment.
	t.Setenv("DSTACK_SECRETS_ENV_TEST_INHERITED", "inherited")
	t.Setenv("SINGLE", "inherited")
	for _, tc := range []struct {
		override bool
		want     string
	}{{true, "inherited x"}, {false, "inherited inherited"}} {
		cmd := exec.Command(sh, "-c", `printf '%s %s' "$DSTACK_SECRETS_ENV_TEST_INHERITED" "$SINGLE"`)
		if err := secrets.PrepareCmd(ctx, s, cmd, tc.override); err != nil {
			t.Fatal(err)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != tc.want {
			t.Errorf("override=%v: child printed %q, want %q", tc.override, out, tc.want)
		}
	}
}

func BenchmarkMergeEnviron1000(b *testing.B) {
	base := make([]string, 50)
	for i := range base {
		base[i] = fmt.Sprintf("INHERITED_%d=value", i)
	}
	vars := make(map[string]string, 1000)
	for i := 0; i < 1000; i++ {
		vars[fmt.Sprintf("SECRET_%04d", i)] = "value"
	}
	for b.Loop() {
		if env := secrets.MergeEnviron(base, vars, true); len(env) != 1050 {
			b.Fatal(len(env))
		}
	}
}
