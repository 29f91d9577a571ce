package cloud

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// servers are the real object stores; each getter skips (or fails) when
// its server is not running.
var servers = []struct {
	name string
	get  func(testing.TB) cloudtest.Server
}{
	{"s3", cloudtest.S3},
	{"azurite", cloudtest.Azurite},
	{"gcs", cloudtest.GCS},
}

// forEachServer runs fn in a subtest per server.
func forEachServer(t *testing.T, fn func(t *testing.T, srv cloudtest.Server)) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) { fn(t, s.get(t)) })
	}
}

var testScope = secrets.Scope{Project: "team", Repository: "github.com/org/repo"}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newBucket returns the options of a store in a fresh bucket of srv.
func newBucket(t testing.TB, srv cloudtest.Server) Options {
	loc := srv.NewBucket(t)
	return Options{URL: loc.URL, Endpoint: loc.Endpoint}
}

// person returns opts for someone with a home (identity, pins) of their own.
func person(t testing.TB, base Options) Options {
	o := base
	o.Env = secrets.Env{HomeDir: t.TempDir(), Getenv: func(string) string { return "" }}
	return o
}

func openT(t testing.TB, scope secrets.Scope, opts Options) secrets.Store {
	t.Helper()
	s, err := Open(ctxT(t), scope, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { secrets.Close(s) })
	return s
}

func mustSet(t testing.TB, s secrets.Store, name, value string) {
	t.Helper()
	if err := s.Set(ctxT(t), name, value); err != nil {
		t.Fatalf("Set(%s): %v", name, err)
	}
}

func identityT(t testing.TB, opts Options) *localIdentity {
	t.Helper()
	id, err := loadIdentity(ctxT(t), &opts)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func projectT(t testing.TB, opts Options) *project {
	t.Helper()
	p, err := openProject(ctxT(t), testScope.Project, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.close() })
	return p
}

// rawGet and rawPut read and write an object as someone with access to the
// bucket but no member key would.
func rawGet(t testing.TB, p *project, key string) ([]byte, version) {
	t.Helper()
	data, v, err := p.objs.get(ctxT(t), key)
	if err != nil {
		t.Fatalf("raw get %s: %v", key, err)
	}
	return data, v
}

func rawPut(t testing.TB, p *project, key string, data []byte, v version) {
	t.Helper()
	if err := p.objs.put(ctxT(t), key, data, v); err != nil {
		t.Fatalf("raw put %s: %v", key, err)
	}
}

func rawMembers(t testing.TB, p *project) (*chain, version) {
	t.Helper()
	data, v := rawGet(t, p, membersKey(p.name))
	var f membersFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	c, err := verifyChain(p.name, &f)
	if err != nil {
		t.Fatal(err)
	}
	return c, v
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func marshalT(t testing.TB, d *parsedDoc) []byte {
	t.Helper()
	b, err := d.marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkNoValue fails when err's message holds any of values.
func checkNoValue(t testing.TB, err error, values ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, v := range values {
		if v != "" && strings.Contains(err.Error(), v) {
			t.Errorf("an error message holds a secret value (%d bytes)", len(v))
		}
	}
}
