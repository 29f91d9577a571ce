package cloud

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestPreconditions checks, on each server, the conditional writes every
// update relies on: a create fails when the object exists, a write with a
// stale ETag or generation fails, and neither changes the object.
func TestPreconditions(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv cloudtest.Server) {
		p := projectT(t, person(t, newBucket(t, srv)))
		ctx := ctxT(t)
		if err := p.objs.put(ctx, "k", []byte("one"), version{}); err != nil {
			t.Fatal(err)
		}
		if err := p.objs.put(ctx, "k", []byte("two"), version{}); !errors.Is(err, errPrecondition) {
			t.Fatalf("create of an existing object: %v", err)
		}
		data, v1, err := p.objs.get(ctx, "k")
		if err != nil || string(data) != "one" {
			t.Fatalf("get: %q %v", data, err)
		}
		if err := p.objs.put(ctx, "k", []byte("three"), v1); err != nil {
			t.Fatalf("write at the version read: %v", err)
		}
		if err := p.objs.put(ctx, "k", []byte("four"), v1); !errors.Is(err, errPrecondition) {
			t.Fatalf("write at a stale version: %v", err)
		}
		data, v3, err := p.objs.get(ctx, "k")
		if err != nil || string(data) != "three" || v3 == v1 {
			t.Fatalf("after a refused write: %q %v (version changed: %v)", data, err, v3 != v1)
		}
	})
}

// TestFailures checks that each failure gives one clear error, wrapping the
// fitting sentinel, naming what failed, holding no value, and within the
// timeout.
func TestFailures(t *testing.T) {
	const value = "s3cr3t-value-never-in-messages"
	forEachServer(t, func(t *testing.T, srv cloudtest.Server) {
		base := newBucket(t, srv)
		t.Run("BucketMissing", func(t *testing.T) {
			o := person(t, base)
			o.URL = strings.Replace(o.URL, "://dstack-", "://missing-", 1)
			s := openT(t, testScope, o)
			_, gerr := secrets.GetAll(ctxT(t), s)
			serr := s.Set(ctxT(t), "NAME", value)
			for _, err := range []error{gerr, serr} {
				if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "missing-") || !strings.Contains(err.Error(), "does not exist") {
					t.Errorf("missing bucket: %v", err)
				}
				checkNoValue(t, err, value)
			}
		})
		t.Run("ServerDown", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			o := person(t, base)
			o.Endpoint = strings.Replace(o.Endpoint, hostPort(o.Endpoint), addr, 1)
			o.Timeout = "20s"
			s := openT(t, testScope, o)
			start := time.Now()
			err = s.Set(ctxT(t), "NAME", value)
			if !errors.Is(err, secrets.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("server down: %v", err)
			}
			checkNoValue(t, err, value)
			t.Logf("server down: failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
		})
		t.Run("Slow", func(t *testing.T) {
			// A server that accepts connections and never answers.
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					defer c.Close()
				}
			}()
			o := person(t, base)
			o.Endpoint = strings.Replace(o.Endpoint, hostPort(o.Endpoint), l.Addr().String(), 1)
			o.Timeout = "1s"
			s := openT(t, testScope, o)
			start := time.Now()
			_, err = s.Get(ctxT(t), "NAME")
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "deadline") {
				t.Errorf("slow server: %v", err)
			}
			if took > 10*time.Second {
				t.Errorf("slow server: the 1s timeout took %v", took)
			}
		})
		t.Run("Corrupt", func(t *testing.T) {
			o := person(t, base)
			s := openT(t, secrets.Scope{Project: "corrupt", Repository: testScope.Repository}, o)
			mustSet(t, s, "NAME", value)
			p, err := openProject(ctxT(t), "corrupt", o)
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			key := repoKey(secrets.Scope{Project: "corrupt", Repository: testScope.Repository})
			data, v := rawGet(t, p, key)
			d, err := parseDoc(data, key)
			if err != nil {
				t.Fatal(err)
			}
			d.env.Sig[len(d.env.Sig)/2] ^= 1
			badSig := marshalT(t, d)
			d.payload[len(d.payload)/2] ^= 1
			for i, damaged := range [][]byte{[]byte("not json"), data[:len(data)/2], badSig, marshalT(t, d)} {
				rawPut(t, p, key, damaged, v)
				_, gerr := s.Get(ctxT(t), "NAME")
				serr := s.Set(ctxT(t), "OTHER", "x")
				for _, err := range []error{gerr, serr} {
					if !errors.Is(err, secrets.ErrCorrupt) && !errors.Is(err, secrets.ErrAuth) {
						t.Errorf("damage %d: %v", i, err)
					}
					checkNoValue(t, err, value)
				}
				after, v2 := rawGet(t, p, key)
				if !bytes.Equal(after, damaged) {
					t.Errorf("damage %d: a write replaced the damaged object", i)
				}
				v = v2
			}
		})
		t.Run("ModeMismatch", func(t *testing.T) {
			vault := cloudtest.VaultServer(t)
			o := person(t, base)
			o.KMS, o.Env = vault.TransitKey(t)
			scope := secrets.Scope{Project: "modes", Repository: testScope.Repository}
			mustSet(t, openT(t, scope, o), "NAME", value)
			_, err := openT(t, scope, person(t, base)).Get(ctxT(t), "NAME")
			if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), "kms mode") {
				t.Errorf("a KMS document read in recipients mode: %v", err)
			}
		})
	})
}

// hostPort returns the host:port of an endpoint URL.
func hostPort(endpoint string) string {
	s := strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}

// TestOptions checks the url option's checks: each mistake is an
// ErrInvalidConfig naming it, and credentials are refused.
func TestOptions(t *testing.T) {
	for _, u := range []string{"", "ftp://bucket", "s3://", "s3://user:pass@bucket", "s3://b/a/../c", "s3://b?secret_access_key=x", "azblob://c?sas_token=x"} {
		_, err := Open(ctxT(t), testScope, Options{URL: u})
		if !errors.Is(err, secrets.ErrInvalidConfig) {
			t.Errorf("url %q: %v", u, err)
		} else if strings.Contains(err.Error(), "pass@") {
			t.Errorf("url %q: the error repeats the credentials: %v", u, err)
		}
	}
	for _, o := range []Options{
		{URL: "s3://b", Timeout: "soon"},
		{URL: "s3://b", ProjectID: "abc"},
		{URL: "s3://b", KMS: "hashivault://k", ProjectID: "sha256:x"},
		{URL: "s3://b", KMS: "nope://k"},
		{URL: "s3://b?unknown_param=1"},
	} {
		if _, err := Open(ctxT(t), testScope, o); !errors.Is(err, secrets.ErrInvalidConfig) {
			t.Errorf("options %+v: %v", o, err)
		}
	}
	if got := repoKey(secrets.Scope{Project: "p", Repository: "/home/u/r"}); got != "p/local/home/u/r.age" {
		t.Errorf("repoKey of a local repository = %q", got)
	}
	for _, r := range []string{"github.com/org/repo", "/home/u/r"} {
		k := repoKey(secrets.Scope{Project: "p", Repository: r})
		if back, ok := repoFromKey("p", k); !ok || back != r {
			t.Errorf("repoFromKey(repoKey(%q)) = %q", r, back)
		}
	}
}

// TestAccessDenied runs a versitygw of its own with internal IAM, and a
// user who owns no bucket: reading and writing the team's bucket give
// ErrPermission naming the bucket, the object and the permission needed.
func TestAccessDenied(t *testing.T) {
	srv := cloudtest.S3(t)
	if srv.Bin == "" {
		t.Skip("DSTACK_SECRETS_TEST_S3_BIN is unset (scripts/services/s3.sh sets it)")
	}
	root := t.TempDir()
	for _, d := range []string{"data", "iam"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	port, adminPort := freePort(t), freePort(t)
	cmd := exec.Command(srv.Bin, "--access", "ROOTAK", "--secret", "ROOTSK", "--port", port, "--admin-port", adminPort,
		"--iam-dir", filepath.Join(root, "iam"), "posix", filepath.Join(root, "data"))
	logf, _ := os.Create(filepath.Join(root, "log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	waitPort(t, port)
	waitPort(t, adminPort)
	out, err := exec.Command(srv.Bin, "admin", "--access", "ROOTAK", "--secret", "ROOTSK", "--endpoint-url", "http://"+adminPort,
		"create-user", "--access", "CIAK", "--secret", "CISK", "--role", "user").CombinedOutput()
	if err != nil {
		t.Fatalf("versitygw admin create-user: %v: %s", err, out)
	}
	own := srv
	own.Endpoint = "http://" + port
	own.Env = map[string]string{"AWS_ACCESS_KEY_ID": "ROOTAK", "AWS_SECRET_ACCESS_KEY": "ROOTSK", "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
	opts := person(t, newBucket(t, own))
	mustSet(t, openT(t, testScope, opts), "DB_PASSWORD", "pw")

	t.Setenv("AWS_ACCESS_KEY_ID", "CIAK")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "CISK")
	s := openT(t, testScope, opts)
	_, gerr := s.Get(ctxT(t), "DB_PASSWORD")
	serr := s.Set(ctxT(t), "OTHER", "x")
	key := repoKey(testScope)
	for _, err := range []error{gerr, serr} {
		// (A write reads first, so both fail on the read.)
		perm := "s3:GetObject on arn:aws:s3:::"
		if !errors.Is(err, secrets.ErrPermission) || !strings.Contains(err.Error(), perm) || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("access denied: %v (want ErrPermission naming %s and %s)", err, perm, key)
		}
		checkNoValue(t, err, "pw")
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "WRONG")
	if _, err := openT(t, testScope, opts).Get(ctxT(t), "DB_PASSWORD"); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("wrong secret key: %v (want ErrAuth naming the credential chain)", err)
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitPort(t *testing.T, addr string) {
	for range 1500 { // 30 s: the machine may be loaded
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
