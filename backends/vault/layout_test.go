package vault_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// warnings collects the warnings a store gives through secrets.Env.Warn.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(m string) { w.mu.Lock(); w.msgs = append(w.msgs, m); w.mu.Unlock() }

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// openWarn opens a store on srv whose warnings are collected.
func (s server) openWarn(t *testing.T, opts vault.Options) (secrets.Store, *warnings) {
	w := &warnings{}
	opts.Env = s.tokenEnv(t, s.token)
	opts.Env.Warn = w.add
	return s.open(t, opts, scope), w
}

func TestBundleLayout(t *testing.T) {
	srv := sharedServer(t)
	prefix := "bundle/" + randomHex(6)
	st, w := srv.openWarn(t, vault.Options{Prefix: prefix, Layout: vault.LayoutBundle})
	kv := srv.rootClient(t).KVv2("secret")
	path := prefix + "/proj/github.com/org/repo"
	// What `vault kv put secret/app A=1 B=2` writes, plus fields that are
	// not secrets: a name that is no environment variable, a number.
	if _, err := kv.Put(ctx(t), path, map[string]any{"A": "1", "B": "2", "db-url": "x", "PORT": 8080}); err != nil {
		t.Fatal(err)
	}
	all, err := secrets.GetAll(ctx(t), st)
	if err != nil || len(all) != 2 || all["A"] != "1" || all["B"] != "2" {
		t.Fatalf("GetAll of a bundle written by vault kv put: %q, %v", secrets.SortedNames(all), err)
	}
	if names, err := st.List(ctx(t)); err != nil || strings.Join(names, ",") != "A,B" {
		t.Fatalf("List: %q, %v", names, err)
	}
	msgs := w.list()
	if len(msgs) != 2 || !strings.Contains(strings.Join(msgs, "\n"), "db-url") || !strings.Contains(strings.Join(msgs, "\n"), "PORT") {
		t.Fatalf("want one warning for each foreign field, got %q", msgs)
	}
	if _, err := st.Get(ctx(t), "PORT"); !errors.Is(err, secrets.ErrCorrupt) || !strings.Contains(err.Error(), "vault kv patch") {
		t.Fatalf("Get of a field that is not a string: %v", err)
	}
	// Writes keep the foreign fields.
	if err := st.Set(ctx(t), "C", "3"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx(t), "A"); err != nil {
		t.Fatal(err)
	}
	if err := secrets.SetMany(ctx(t), st, map[string]string{"D": "4", "E": "5"}, false); err != nil {
		t.Fatal(err)
	}
	raw, err := kv.Get(ctx(t), path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(raw.Data["PORT"]) != "8080" || raw.Data["db-url"] != "x" || raw.Data["C"] != "3" || raw.Data["A"] != nil || raw.Data["E"] != "5" {
		t.Fatalf("the entry after writes has fields %q", keys(raw.Data))
	}
	if err := secrets.SetMany(ctx(t), st, map[string]string{"B": "x", "F": "6"}, false); !errors.Is(err, secrets.ErrExists) || !strings.Contains(err.Error(), "B") {
		t.Fatalf("SetMany over an existing name without overwrite: %v", err)
	}
	if _, err := st.Get(ctx(t), "F"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("a refused SetMany wrote F: %v", err)
	}
	_, err = st.Get(ctx(t), "A")
	if !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "secret/"+path+", field A") {
		t.Fatalf("Get of a deleted field: %v", err)
	}
	// A soft-deleted bundle (vault kv delete) is an empty repository.
	if err := kv.Delete(ctx(t), path); err != nil {
		t.Fatal(err)
	}
	if names, err := st.List(ctx(t)); err != nil || len(names) != 0 {
		t.Fatalf("List of a soft-deleted bundle: %q, %v", names, err)
	}
	if err := secrets.Create(ctx(t), st, "A", "again"); err != nil {
		t.Fatalf("Create in a soft-deleted bundle: %v", err)
	}
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func TestBundleRefusedOnKV1(t *testing.T) {
	srv := sharedServer(t)
	for _, opts := range []vault.Options{
		{Mount: kv1Mount(), Layout: vault.LayoutBundle},
		{Mount: kv1Mount(), Layout: vault.LayoutBundle, KVVersion: 1},
	} {
		opts.Env = srv.tokenEnv(t, srv.token)
		_, err := vault.Open(ctx(t), scope, opts)
		if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "layout: entry") {
			t.Fatalf("bundle on KV v1 (kv_version %d): got %v, want secrets.ErrInvalidConfig pointing to layout: entry", opts.KVVersion, err)
		}
		t.Logf("%v", err)
	}
	_, err := vault.Open(ctx(t), scope, vault.Options{Layout: "flat", Env: srv.tokenEnv(t, srv.token)})
	if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "bundle") {
		t.Fatalf("unknown layout: %v", err)
	}
}

// TestBundleConcurrentWriters: 16 stores add 25 secrets each to one
// bundle at once: the check-and-set retries lose none.
func TestBundleConcurrentWriters(t *testing.T) {
	srv := sharedServer(t)
	prefix := "bundle-race/" + randomHex(6)
	var wg sync.WaitGroup
	for w := range 16 {
		st := srv.open(t, vault.Options{Prefix: prefix, Layout: vault.LayoutBundle}, scope)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if err := secrets.Create(ctx(t), st, fmt.Sprintf("W%02d_%02d", w, i), "v"); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all, err := secrets.GetAll(ctx(t), srv.open(t, vault.Options{Prefix: prefix, Layout: vault.LayoutBundle}, scope))
	if err != nil || len(all) != 16*25 {
		t.Fatalf("after 400 concurrent creates the bundle holds %d secrets (%v)", len(all), err)
	}
}

// TestForeignEntriesSkipped: in the entry layout, entries other tools
// wrote without a string "value" field are left out of List and GetAll
// with one warning each, refused only by Get; overwriting keeps their
// other fields; soft-deleted entries are absent from List as from Get.
func TestForeignEntriesSkipped(t *testing.T) {
	srv := sharedServer(t)
	prefix := "foreign-skip/" + randomHex(6)
	st, w := srv.openWarn(t, vault.Options{Prefix: prefix})
	kv := srv.rootClient(t).KVv2("secret")
	base := prefix + "/proj/github.com/org/repo/"
	for name, data := range map[string]map[string]any{
		"OURS":     {"value": "ok"},
		"OTHER":    {"password": "p"},
		"NUMBER":   {"value": 42},
		"EXTRA":    {"value": "ok", "owner": "team-a"},
		"bad-name": {"value": "x"},
		"SOFT":     {"value": "gone"},
	} {
		if _, err := kv.Put(ctx(t), base+name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := kv.Delete(ctx(t), base+"SOFT"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second round must not warn again
		names, err := st.List(ctx(t))
		if err != nil || strings.Join(names, ",") != "EXTRA,OURS" {
			t.Fatalf("List: %q, %v", names, err)
		}
		all, err := secrets.GetAll(ctx(t), st)
		if err != nil || len(all) != 2 {
			t.Fatalf("GetAll: %q, %v", secrets.SortedNames(all), err)
		}
	}
	msgs := strings.Join(w.list(), "\n")
	if len(w.list()) != 3 || !strings.Contains(msgs, "OTHER") || !strings.Contains(msgs, "NUMBER") || !strings.Contains(msgs, "bad-name") {
		t.Fatalf("want one warning each for OTHER, NUMBER and bad-name, got %q", w.list())
	}
	if _, err := st.Get(ctx(t), "OTHER"); !errors.Is(err, secrets.ErrCorrupt) {
		t.Fatalf("Get of a foreign entry: %v", err)
	}
	if _, err := st.Get(ctx(t), "SOFT"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get of a soft-deleted entry: %v", err)
	}
	// Overwriting keeps the other fields.
	if err := st.Set(ctx(t), "EXTRA", "new"); err != nil {
		t.Fatal(err)
	}
	if err := st.Set(ctx(t), "OTHER", "now ours"); err != nil {
		t.Fatal(err)
	}
	for name, field := range map[string]string{"EXTRA": "owner", "OTHER": "password"} {
		raw, err := kv.Get(ctx(t), base+name)
		if err != nil || raw.Data[field] == nil {
			t.Fatalf("%s lost its field %s when overwritten (%v)", name, field, err)
		}
	}
	// Deleting removes only our field when others remain.
	if err := st.Delete(ctx(t), "EXTRA"); err != nil {
		t.Fatal(err)
	}
	raw, err := kv.Get(ctx(t), base+"EXTRA")
	if err != nil || raw.Data["owner"] != "team-a" || raw.Data["value"] != nil {
		t.Fatalf("Delete of an entry with other fields: %v", err)
	}
}
