package vault_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// batchValues is n new secrets.
func batchValues(n int, tag string) map[string]string {
	m := make(map[string]string, n)
	for i := range n {
		m[fmt.Sprintf("B_%03d", i)] = fmt.Sprintf("%s value %d", tag, i)
	}
	return m
}

// sameAs reports which names differ between got and want, without values.
func sameAs(got, want map[string]string) string {
	var diff []string
	for n, v := range want {
		if got[n] != v {
			diff = append(diff, n)
		}
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			diff = append(diff, n+" (extra)")
		}
	}
	return strings.Join(diff, ", ")
}

// countingProxy forwards to Vault and calls hook with the number of
// secret writes (not the batch record's) seen so far.
func countingProxy(t *testing.T, target string, hook func(n int32)) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(u)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.Contains(r.URL.Path, "/data/") && !strings.Contains(r.URL.Path, ".dstack-intent") {
			hook(writes.Add(1))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p.URL
}

// TestBatchCancelledRollsBack cancels SetMany part way (as SIGINT does in
// the CLI): the secrets written are rolled back, the error says so, and
// the repository is as before.
func TestBatchCancelledRollsBack(t *testing.T) {
	srv := sharedServer(t)
	for _, overwrite := range []bool{false, true} {
		t.Run(fmt.Sprint("overwrite=", overwrite), func(t *testing.T) {
			prefix := "batch-cancel/" + randomHex(6)
			admin := srv.open(t, vault.Options{Prefix: prefix}, scope)
			before := map[string]string{"KEEP": "kept"}
			if overwrite {
				before = batchValues(40, "old")
			}
			if err := secrets.SetMany(ctx(t), admin, before, false); err != nil {
				t.Fatal(err)
			}
			c, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr := countingProxy(t, srv.addr, func(n int32) {
				if n == 60 {
					cancel()
				}
			})
			st := srv.open(t, vault.Options{Address: addr, Prefix: prefix, Env: env(t, "VAULT_TOKEN", srv.token)}, scope)
			err := secrets.SetMany(c, st, batchValues(200, "new"), overwrite)
			if err == nil || !strings.Contains(err.Error(), "rolled back") || !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled SetMany: got %v, want the cancellation and that the writes were rolled back", err)
			}
			t.Logf("%v", err)
			all, err := secrets.GetAll(ctx(t), admin)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameAs(all, before); d != "" {
				t.Fatalf("after the rollback these differ from before the batch: %s", d)
			}
			raw, err := srv.rootClient(t).KVv2("secret").Get(ctx(t), prefix+"/proj/github.com/org/repo/.dstack-intent")
			if err == nil && raw.Data["id"] != nil {
				t.Fatal("the batch record is still there")
			}
		})
	}
}

// TestBatchInterrupted leaves behind what a killed import leaves: a batch
// record and part of the secrets. While the record's writer may be alive,
// List and GetAll show the secrets as before the batch; once it has
// expired, the next command rolls the batch back.
func TestBatchInterrupted(t *testing.T) {
	srv := sharedServer(t)
	prefix := "batch-kill/" + randomHex(6)
	st, _ := srv.openWarn(t, vault.Options{Prefix: prefix})
	kv := srv.rootClient(t).KVv2("secret")
	base := prefix + "/proj/github.com/org/repo/"
	if err := secrets.SetMany(ctx(t), st, map[string]string{"OLD": "old", "KEEP": "keep"}, false); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{"OLD": "old", "KEEP": "keep"}
	batchNames := map[string]any{
		"OLD":  map[string]any{"version": 1, "live": true},
		"NEW1": map[string]any{"version": 0, "live": false},
		"NEW2": map[string]any{"version": 0, "live": false},
	}
	record := func(expires time.Time) {
		if _, err := kv.Put(ctx(t), base+".dstack-intent", map[string]any{
			"id": randomHex(8), "owner": "another-host", "pid": 1,
			"started": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano),
			"expires": expires.UTC().Format(time.RFC3339Nano),
			"names":   batchNames,
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The batch wrote OLD and NEW1, not NEW2, then its process died.
	record(time.Now().Add(time.Hour))
	for name, v := range map[string]string{"OLD": "new", "NEW1": "new"} {
		if _, err := kv.Put(ctx(t), base+name, map[string]any{"value": v}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := secrets.GetAll(ctx(t), st)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameAs(all, before); d != "" {
		t.Fatalf("during a batch whose writer may be alive, GetAll shows a half-applied batch: %s", d)
	}
	if names, err := st.List(ctx(t)); err != nil || strings.Join(names, ",") != "KEEP,OLD" {
		t.Fatalf("List during a batch: %q, %v", names, err)
	}
	err = secrets.SetMany(ctx(t), srv.open(t, vault.Options{Prefix: prefix, Timeout: time.Second}, scope), map[string]string{"X": "x"}, false)
	if !errors.Is(err, secrets.ErrConflict) || !strings.Contains(err.Error(), "in progress") {
		t.Fatalf("a second batch while one is in progress: %v", err)
	}
	// Its lease runs out: the next command rolls it back.
	record(time.Now().Add(-time.Second))
	all, err = secrets.GetAll(ctx(t), st)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameAs(all, before); d != "" {
		t.Fatalf("after the rollback these differ from before the batch: %s", d)
	}
	for _, name := range []string{"NEW1", "NEW2"} {
		if _, err := st.Get(ctx(t), name); !errors.Is(err, secrets.ErrNotFound) {
			t.Errorf("%s, new in the rolled-back batch: %v", name, err)
		}
	}
	if v, err := st.Get(ctx(t), "OLD"); err != nil || v != "old" {
		t.Fatalf("Get of a rolled-back secret: %v", err)
	}
	raw, err := kv.Get(ctx(t), base+".dstack-intent")
	if err != nil || raw.Data["id"] != nil {
		t.Fatalf("the batch record was not cleared: %v", err)
	}
	// A single write also settles an interrupted batch first, so the
	// rollback cannot undo it later: the batch wrote NEW3, not NEW4, and
	// someone creates NEW4.
	batchNames = map[string]any{
		"NEW3": map[string]any{"version": 0, "live": false},
		"NEW4": map[string]any{"version": 0, "live": false},
	}
	record(time.Now().Add(-time.Second))
	if _, err := kv.Put(ctx(t), base+"NEW3", map[string]any{"value": "from the batch"}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Create(ctx(t), st, "NEW4", "added afterwards"); err != nil {
		t.Fatal(err)
	}
	all, err = secrets.GetAll(ctx(t), st)
	want := map[string]string{"OLD": "old", "KEEP": "keep", "NEW4": "added afterwards"}
	if d := sameAs(all, want); err != nil || d != "" {
		t.Fatalf("a Create after an interrupted batch: %s, %v", d, err)
	}
}

// TestBatchKV1Fallback: on KV v1 SetMany is secrets.Wrap's fallback.
func TestBatchKV1Fallback(t *testing.T) {
	srv := sharedServer(t)
	st := srv.open(t, vault.Options{Mount: kv1Mount()}, scope)
	if err := secrets.Unwrap(st).(secrets.BatchWriter).SetMany(ctx(t), map[string]string{"A": "a"}, false); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("SetMany of the KV v1 store itself: %v", err)
	}
	if err := secrets.SetMany(ctx(t), st, batchValues(5, "v"), false); err != nil {
		t.Fatal(err)
	}
}
