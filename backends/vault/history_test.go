package vault_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

func TestHistory(t *testing.T) {
	srv := sharedServer(t)
	for _, layout := range []string{vault.LayoutEntry, vault.LayoutBundle} {
		t.Run(layout, func(t *testing.T) {
			st := srv.open(t, vault.Options{Layout: layout}, scope)
			start := time.Now().Add(-time.Minute)
			for _, v := range []string{"one", "two", "three"} {
				if err := st.Set(ctx(t), "K", v); err != nil {
					t.Fatal(err)
				}
				// Other secrets change too: in the bundle they add versions
				// of the entry that are not versions of K.
				if err := st.Set(ctx(t), "OTHER", v+" other"); err != nil {
					t.Fatal(err)
				}
			}
			vs, err := secrets.Versions(ctx(t), st, "K")
			if err != nil || len(vs) != 3 {
				t.Fatalf("Versions: %+v, %v (want 3)", vs, err)
			}
			for i, v := range vs {
				if v.Time.Before(start) || v.Deleted || v.Current != (i == 2) || (i > 0 && v.Number <= vs[i-1].Number) {
					t.Errorf("version %d: %+v", i, v)
				}
			}
			first, err := secrets.GetVersion(ctx(t), st, "K", vs[0].Number)
			if err != nil || first != "one" {
				t.Fatalf("GetVersion of the first version: mismatch or %v", err)
			}
			// Rollback is writing an old value again.
			if err := st.Set(ctx(t), "K", first); err != nil {
				t.Fatal(err)
			}
			if v, err := st.Get(ctx(t), "K"); err != nil || v != "one" {
				t.Fatalf("after rollback: %v", err)
			}
			if err := st.Delete(ctx(t), "OTHER"); err != nil {
				t.Fatal(err)
			}
			_, err = secrets.GetVersion(ctx(t), st, "K", 999)
			if !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "version 999") {
				t.Fatalf("GetVersion of a missing version: %v", err)
			}
			if _, err := secrets.Versions(ctx(t), st, "NEVER"); !errors.Is(err, secrets.ErrNotFound) {
				t.Fatalf("Versions of a secret that never existed: %v", err)
			}
		})
	}
	t.Run("bundle deletion", func(t *testing.T) {
		st := srv.open(t, vault.Options{Layout: vault.LayoutBundle}, scope)
		for _, step := range []func() error{
			func() error { return st.Set(ctx(t), "K", "a") },
			func() error { return st.Delete(ctx(t), "K") },
			func() error { return st.Set(ctx(t), "K", "b") },
			func() error { return st.Delete(ctx(t), "K") },
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		vs, err := secrets.Versions(ctx(t), st, "K")
		if err != nil || len(vs) != 4 || !vs[1].Deleted || vs[2].Deleted || !vs[3].Deleted || vs[3].Current {
			t.Fatalf("Versions of a deleted secret: %+v, %v", vs, err)
		}
		if _, err := secrets.GetVersion(ctx(t), st, "K", vs[1].Number); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("GetVersion of a deletion: %v", err)
		}
		if v, err := secrets.GetVersion(ctx(t), st, "K", vs[2].Number); err != nil || v != "b" {
			t.Fatalf("GetVersion before the deletion: %v", err)
		}
	})
	t.Run("kv1", func(t *testing.T) {
		st := srv.open(t, vault.Options{Mount: kv1Mount()}, scope)
		_, err := secrets.Versions(ctx(t), st, "K")
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "not supported by backend vault") || !strings.Contains(err.Error(), "KV version 1") {
			t.Fatalf("Versions on KV v1: %v", err)
		}
	})
}
