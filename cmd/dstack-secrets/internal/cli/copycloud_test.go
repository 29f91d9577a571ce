package cli

import (
	"bytes"
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// The migration of issue 10: `copy --to-project team-cloud` moves a
// repository's secrets from a file-backend project to a cloud project, all
// or nothing, through the real dstack-secrets-cloud program and a real S3
// server (versitygw, scripts/services/s3.sh). The server sits behind a
// proxy that can refuse every write with S3's 403 AccessDenied, as a bucket
// policy without s3:PutObject does.

// realCloudProgram builds dstack-secrets-cloud (from the go build cache,
// after the first time) and makes the CLI start it for the rest of the
// test.
func realCloudProgram(t *testing.T) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "dstack-secrets-cloud")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", bin, "github.com/dstackai/dstack-secrets/cmd/dstack-secrets-cloud").CombinedOutput()
	if err != nil {
		t.Fatalf("building dstack-secrets-cloud: %v: %s", err, out)
	}
	saved := cloudProgram
	cloudProgram = func() (string, error) { return bin, nil }
	t.Cleanup(func() { cloudProgram = saved })
}

// denyingProxy passes requests to an S3 server, and answers every PUT
// with 403 AccessDenied while deny is set.
type denyingProxy struct {
	*httptest.Server
	deny   atomic.Bool
	denied atomic.Int64
}

func newDenyingProxy(t *testing.T, endpoint string) *denyingProxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &denyingProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && p.deny.Load() {
			p.denied.Add(1)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>denied-by-test-proxy</RequestId></Error>`)
			return
		}
		// The request was signed for the proxy's host: pass it on as is.
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// bucketObjects returns every object of the bucket of loc, key to bytes,
// read directly from the server.
func bucketObjects(t *testing.T, srv cloudtest.Server, loc cloudtest.Location) map[string][]byte {
	t.Helper()
	u, err := url.Parse(loc.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := srv.S3Client()
	out := map[string][]byte{}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(u.Host)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Host), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[aws.ToString(o.Key)] = data
	}
	return out
}

func sameObjects(a, b map[string][]byte) bool {
	return maps.EqualFunc(a, b, bytes.Equal)
}

func TestCopyFileProjectToCloud(t *testing.T) {
	srv := cloudtest.S3(t)
	loc := srv.NewBucket(t) // also puts the server's credentials in the environment the program inherits
	realCloudProgram(t)
	proxy := newDenyingProxy(t, loc.Endpoint)
	h := newHarness(t)
	h.useConfig("default_project: main\nprojects:\n  main:\n    backend: file\n  team-cloud:\n    backend: cloud\n    options:\n      url: " + loc.URL + "\n      endpoint: " + proxy.URL + "\n")
	want := trickyWithMarker()
	src := h.openProject("main", nil)
	if err := secrets.SetMany(context.Background(), src, want, false); err != nil {
		t.Fatal(err)
	}
	names := secrets.SortedNames(want)
	cloudDesc := `project "team-cloud" (backend cloud, ` + repoDesc + `)`

	// The bucket refuses writes: the copy fails, naming the permission,
	// and the bucket stays empty (not even the member list is written).
	proxy.deny.Store(true)
	r := h.run("", "copy", "--to-project", "team-cloud")
	h.want(r, 1, "copying to "+cloudDesc+": ")
	if !strings.Contains(r.stderr, "s3:PutObject") {
		t.Errorf("the refusal does not name the missing permission: %q", r.stderr)
	}
	if proxy.denied.Load() == 0 {
		t.Fatal("no write reached the proxy")
	}
	if objs := bucketObjects(t, srv, loc); len(objs) != 0 {
		t.Fatalf("a refused copy left %d objects in the bucket", len(objs))
	}

	// Allowed: every secret arrives, byte for byte.
	proxy.deny.Store(false)
	r = h.run("", "copy", "--to-project", "team-cloud")
	h.want(r, 0, `Copied 17 secrets from project "main" (backend file, `+repoDesc+`) to `+cloudDesc+`: `+strings.Join(names, ", ")+"\n")
	got := cloudAll(t, h, loc)
	if !maps.Equal(got, want) {
		t.Fatalf("the cloud project holds %d secrets (%q), want the %d copied byte for byte", len(got), secrets.SortedNames(got), len(want))
	}
	// Through the program, the cloud project lists its repository.
	r = h.run("", "--project", "team-cloud", "repos")
	h.want(r, 0, "")
	if !strings.Contains(r.stdout, "github.com/org/repo") || !strings.Contains(r.stdout, "17") {
		t.Errorf("repos of the cloud project: %q", r.stdout)
	}
	r = h.run("", "--project", "team-cloud", "list")
	h.want(r, 0, "")
	if listed := strings.Fields(r.stdout); !slices.Equal(listed, names) {
		t.Errorf("list of the cloud project: %q", listed)
	}

	// Names that exist there are refused without -y: nothing changes.
	before := bucketObjects(t, srv, loc)
	if err := src.Set(context.Background(), "TOKEN", "changed "+marker); err != nil {
		t.Fatal(err)
	}
	if err := src.Set(context.Background(), "BRAND_NEW", "new "+marker); err != nil {
		t.Fatal(err)
	}
	h.want(h.run("", "copy", "--to-project", "team-cloud"), 1, `17 secrets already exist in `+cloudDesc+`: `)
	h.want(h.run("", "copy", "--to-project", "team-cloud", "BRAND_NEW", "TOKEN"), 1, `1 secret already exists in `+cloudDesc+`: TOKEN; pass -y to overwrite (nothing was copied)`)
	if !sameObjects(before, bucketObjects(t, srv, loc)) {
		t.Fatal("a refused copy changed the bucket")
	}

	// With -y, but writes refused again: still nothing changes.
	proxy.deny.Store(true)
	h.want(h.run("", "copy", "-y", "--to-project", "team-cloud"), 1, "copying to "+cloudDesc+": ")
	if !sameObjects(before, bucketObjects(t, srv, loc)) {
		t.Fatal("a copy whose write was refused changed the bucket")
	}

	// And allowed: all of it, in one write.
	proxy.deny.Store(false)
	h.want(h.run("", "copy", "-y", "--to-project", "team-cloud"), 0, `Copied 18 secrets from project "main" (backend file, `+repoDesc+`) to `+cloudDesc+`: `)
	want["TOKEN"], want["BRAND_NEW"] = "changed "+marker, "new "+marker
	if got := cloudAll(t, h, loc); !maps.Equal(got, want) {
		t.Errorf("after copy -y the cloud project holds %d secrets, want %d, byte for byte", len(got), len(want))
	}
}

// cloudAll reads the cloud project's secrets with the library, directly
// from the server (not through the proxy), as the user of the harness.
func cloudAll(t *testing.T, h *harness, loc cloudtest.Location) map[string]string {
	t.Helper()
	ctx := context.Background()
	s, err := cloud.Open(ctx, secrets.Scope{Project: "team-cloud", Repository: "github.com/org/repo"}, cloud.Options{
		URL: loc.URL, Endpoint: loc.Endpoint,
		Env: secrets.Env{HomeDir: h.home, Getenv: func(k string) string { return h.vars[k] }},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	m, err := secrets.GetAll(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
