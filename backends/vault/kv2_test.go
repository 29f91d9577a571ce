package vault_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

func TestConcurrentCreators(t *testing.T) {
	srv := sharedServer(t)
	prefix := "race/" + randomHex(6)
	const writers = 16
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	stores := make([]secrets.Store, writers)
	for i := range stores {
		stores[i] = srv.open(t, vault.Options{Prefix: prefix}, scope)
	}
	start := make(chan struct{})
	for i, st := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := secrets.Create(context.Background(), st, "RACE", fmt.Sprintf("writer %d", i))
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	where := "Vault " + srv.addr + ", secret/" + prefix + "/proj/github.com/org/repo/RACE"
	if wins != 1 {
		t.Fatalf("%d creators won, want exactly 1", wins)
	}
	for _, err := range errs {
		if !errors.Is(err, secrets.ErrExists) || !strings.Contains(err.Error(), `"RACE"`) || !strings.Contains(err.Error(), where) {
			t.Errorf("losing creator: got %v, want secrets.ErrExists naming the secret and %s", err, where)
		}
	}
}

func TestKV2DeleteAndSoftDelete(t *testing.T) {
	srv := sharedServer(t)
	prefix := "delete/" + randomHex(6)
	st := srv.open(t, vault.Options{Prefix: prefix}, scope)
	kv := srv.rootClient(t).KVv2("secret")
	path := prefix + "/proj/github.com/org/repo/"
	for _, v := range []string{"one", "two"} {
		if err := st.Set(ctx(t), "GONE", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx(t), "GONE"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.GetMetadata(ctx(t), path+"GONE"); err == nil {
		t.Fatal("Delete left the metadata (and old versions) in place")
	}
	// A secret soft-deleted by hand (vault kv delete) reads as missing,
	// is left out of GetAll and can be created again.
	if err := st.Set(ctx(t), "SOFT", "old"); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx(t), path+"SOFT"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx(t), "SOFT"); !errors.Is(err, secrets.ErrNotFound) {
		t.Fatalf("Get of a soft-deleted secret: %v", err)
	}
	if all, err := secrets.GetAll(ctx(t), st); err != nil || len(all) != 0 {
		t.Fatalf("GetAll with a soft-deleted secret: %d, %v", len(all), err)
	}
	if err := secrets.Create(ctx(t), st, "SOFT", "new"); err != nil {
		t.Fatalf("Create over a soft-deleted secret: %v", err)
	}
	if v, err := st.Get(ctx(t), "SOFT"); err != nil || v != "new" {
		t.Fatalf("Get after re-create: %v", err)
	}
	if err := secrets.Create(ctx(t), st, "SOFT", "again"); !errors.Is(err, secrets.ErrExists) {
		t.Fatalf("Create of a live secret: %v", err)
	}
}

func TestCASRequiredMount(t *testing.T) {
	srv := sharedServer(t)
	root := srv.rootClient(t)
	mount := "cas-" + randomHex(4)
	if err := root.Sys().Mount(mount, &api.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := root.Logical().Write(mount+"/config", map[string]any{"cas_required": true}); err != nil {
		t.Fatal(err)
	}
	st := srv.open(t, vault.Options{Mount: mount}, scope)
	for _, v := range []string{"first", "second"} {
		if err := st.Set(ctx(t), "K", v); err != nil {
			t.Fatalf("Set on a cas_required mount: %v", err)
		}
	}
	if v, err := st.Get(ctx(t), "K"); err != nil || v != "second" {
		t.Fatalf("Get: %v", err)
	}
}

func TestScheduledDeletionIsLive(t *testing.T) {
	// With delete_version_after, every version carries a deletion time in
	// the future from the start; until then it is live, so Create must not
	// take the name over.
	srv := sharedServer(t)
	prefix := "scheduled/" + randomHex(6)
	st := srv.open(t, vault.Options{Prefix: prefix}, scope)
	kv := srv.rootClient(t).KVv2("secret")
	path := prefix + "/proj/github.com/org/repo/SCHED"
	if err := kv.PutMetadata(ctx(t), path, api.KVMetadataPutInput{DeleteVersionAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := secrets.Create(ctx(t), st, "SCHED", "first"); err != nil {
		t.Fatal(err)
	}
	md, err := kv.GetMetadata(ctx(t), path)
	if err != nil || md.Versions["1"].DeletionTime.IsZero() {
		t.Fatalf("the version has no scheduled deletion time (err %v): the test does not test what it should", err)
	}
	if err := secrets.Create(ctx(t), st, "SCHED", "second"); !errors.Is(err, secrets.ErrExists) {
		t.Fatalf("Create of a live secret with a scheduled deletion: got %v, want secrets.ErrExists", err)
	}
	if v, err := st.Get(ctx(t), "SCHED"); err != nil || v != "first" {
		t.Fatalf("Get: err %v, value mismatch %v", err, v != "first")
	}
}

func TestMessagesNameTheLocation(t *testing.T) {
	srv := sharedServer(t)
	for _, kv := range []struct{ name, mount string }{{"kv2", "secret"}, {"kv1", kv1Mount()}} {
		t.Run(kv.name, func(t *testing.T) {
			prefix := "where/" + randomHex(6)
			st := srv.open(t, vault.Options{Mount: kv.mount, Prefix: prefix}, scope)
			where := "Vault " + srv.addr + ", " + kv.mount + "/" + prefix + "/proj/github.com/org/repo/MISSING"
			_, err := st.Get(ctx(t), "MISSING")
			if !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), `"MISSING"`) {
				t.Fatalf("Get of a missing secret: got %v, want secrets.ErrNotFound naming it and %s", err, where)
			}
			t.Logf("Get of a missing secret: %v", err)
			if err := st.Delete(ctx(t), "MISSING"); !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), where) {
				t.Fatalf("Delete of a missing secret: got %v, want secrets.ErrNotFound naming %s", err, where)
			}
			if err := st.Set(ctx(t), "MISSING", "x"); err != nil {
				t.Fatal(err)
			}
			err = secrets.Create(ctx(t), st, "MISSING", "y")
			if !errors.Is(err, secrets.ErrExists) || !strings.Contains(err.Error(), where) {
				t.Fatalf("Create of an existing secret: got %v, want secrets.ErrExists naming %s", err, where)
			}
		})
	}
}

func TestForeignEntry(t *testing.T) {
	// An entry without a "value" field was not written by this backend:
	// reading it says so and how to fix it.
	srv := sharedServer(t)
	prefix := "foreign/" + randomHex(6)
	st := srv.open(t, vault.Options{Prefix: prefix}, scope)
	if _, err := srv.rootClient(t).KVv2("secret").Put(ctx(t), prefix+"/proj/github.com/org/repo/OTHER", map[string]any{"password": "p"}); err != nil {
		t.Fatal(err)
	}
	_, err := st.Get(ctx(t), "OTHER")
	if !errors.Is(err, secrets.ErrCorrupt) || !strings.Contains(err.Error(), "vault kv patch -mount=secret "+prefix+"/proj/github.com/org/repo/OTHER value=") {
		t.Fatalf("Get of an entry without a value field: got %v, want secrets.ErrCorrupt saying how to rewrite it", err)
	}
	if strings.Contains(err.Error(), `"p"`) {
		t.Error("the error shows the entry's content")
	}
}
