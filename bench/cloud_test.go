//go:build unix

package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dstackai/dstack-secrets/backends/cloud"
	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/bench/internal/seed"
	"github.com/dstackai/dstack-secrets/secrets"
)

// The cloud backend against the floor of its object store, on the real
// servers of scripts/services/{s3,azurite,gcs}.sh (versitygw, Azurite,
// fake-gcs-server) on this machine:
//
//   - GetAll (what `run` does) of 100 secrets against one raw GET of the
//     same object with the same SDK (target: within 1.5x);
//   - Set of one secret against one raw GET plus one raw conditional PUT
//     of an object of the same size.
//
// Each pair is measured interleaved in one benchmark (so load on the
// machine hits both alike); the benchmark reports the backend's ns/op,
// the floor's (floor-ns/op) and their ratio (x-floor).

const cloudBenchSecrets = 100

var cloudBenchServers = []struct {
	name string
	get  func(testing.TB) cloudtest.Server
}{
	{"s3", cloudtest.S3},
	{"azurite", cloudtest.Azurite},
	{"gcs", cloudtest.GCS},
}

// cloudBench is a seeded store and raw access to its object.
type cloudBench struct {
	store   secrets.Store
	srv     cloudtest.Server
	bucket  string
	key     string
	s3      *s3.Client
	azure   *azblob.Client
	gcs     *storage.Client
	payload []byte
}

func newCloudBench(b *testing.B, srv cloudtest.Server, mode string) *cloudBench {
	b.Helper()
	loc := srv.NewBucket(b)
	opts := cloud.Options{URL: loc.URL, Endpoint: loc.Endpoint, Env: secrets.Env{HomeDir: b.TempDir(), Getenv: func(string) string { return "" }}}
	if mode == "kms" {
		opts.KMS, opts.Env = cloudtest.VaultServer(b).TransitKey(b)
	}
	ctx := context.Background()
	st, err := cloud.Open(ctx, scope, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { secrets.Close(st) })
	values := make(map[string]string, cloudBenchSecrets)
	for i := range cloudBenchSecrets {
		values[seed.Name(i)] = seed.Value(i)
	}
	if err := secrets.SetMany(ctx, st, values, true); err != nil {
		b.Fatal(err)
	}
	cs := secrets.Unwrap(st).(*cloud.Store)
	// The object's address is provider://bucket/key.
	_, path, _ := strings.Cut(cs.Location(), "://")
	bucket, key, _ := strings.Cut(path, "/")
	cb := rawClient(b, srv, bucket, key)
	cb.store = st
	cb.payload, _ = cb.rawGet(b, ctx)
	return cb
}

// rawClient is raw access, with the server's own SDK, to the object key in
// bucket.
func rawClient(b *testing.B, srv cloudtest.Server, bucket, key string) *cloudBench {
	b.Helper()
	cb := &cloudBench{srv: srv, bucket: bucket, key: key}
	var err error
	switch srv.Name {
	case "s3":
		cb.s3 = srv.S3Client()
	case "azurite":
		if cb.azure, err = srv.AzureClient(); err != nil {
			b.Fatal(err)
		}
	case "gcs":
		if cb.gcs, err = srv.GCSClient(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cb.gcs.Close() })
	}
	return cb
}

// rawGet reads the whole object with the store's own SDK; it returns the
// bytes and the version (ETag or generation) a conditional write needs.
func (c *cloudBench) rawGet(b *testing.B, ctx context.Context) ([]byte, any) {
	switch {
	case c.s3 != nil:
		out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(c.key)})
		if err != nil {
			b.Fatal(err)
		}
		defer out.Body.Close()
		data, err := io.ReadAll(out.Body)
		if err != nil {
			b.Fatal(err)
		}
		return data, aws.ToString(out.ETag)
	case c.azure != nil:
		out, err := c.azure.DownloadStream(ctx, c.bucket, c.key, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Body.Close()
		data, err := io.ReadAll(out.Body)
		if err != nil {
			b.Fatal(err)
		}
		return data, *out.ETag
	default:
		r, err := c.gcs.Bucket(c.bucket).Object(c.key).NewReader(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			b.Fatal(err)
		}
		return data, r.Attrs.Generation
	}
}

// rawPut writes data to a scratch object next to the store's, on the
// condition that it is still at version ver (create-only when nil).
func (c *cloudBench) rawPut(b *testing.B, ctx context.Context, key string, data []byte, ver any) any {
	switch {
	case c.s3 != nil:
		in := &s3.PutObjectInput{Bucket: aws.String(c.bucket), Key: aws.String(key), Body: bytes.NewReader(data)}
		if ver != nil {
			in.IfMatch = aws.String(ver.(string))
		} else {
			in.IfNoneMatch = aws.String("*")
		}
		out, err := c.s3.PutObject(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		return aws.ToString(out.ETag)
	case c.azure != nil:
		opts := &azblob.UploadBufferOptions{}
		if ver != nil {
			etag := ver.(azcore.ETag)
			opts.AccessConditions = &azblob.AccessConditions{ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfMatch: &etag}}
		}
		out, err := c.azure.UploadBuffer(ctx, c.bucket, key, data, opts)
		if err != nil {
			b.Fatal(err)
		}
		return *out.ETag
	default:
		o := c.gcs.Bucket(c.bucket).Object(key)
		if ver != nil {
			o = o.If(storage.Conditions{GenerationMatch: ver.(int64)})
		} else {
			o = o.If(storage.Conditions{DoesNotExist: true})
		}
		w := o.NewWriter(ctx)
		if _, err := w.Write(data); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		return w.Attrs().Generation
	}
}

// BenchmarkCloudGetAll: GetAll of 100 secrets (one GET, verify, decrypt)
// against one raw GET of the same object, per server and mode.
func BenchmarkCloudGetAll(b *testing.B) {
	for _, s := range cloudBenchServers {
		for _, mode := range []string{"recipients", "kms"} {
			b.Run(s.name+"/"+mode, func(b *testing.B) {
				cb := newCloudBench(b, s.get(b), mode)
				ctx := context.Background()
				var backend, floor time.Duration
				b.ResetTimer()
				for b.Loop() {
					t0 := time.Now()
					all, err := secrets.GetAll(ctx, cb.store)
					t1 := time.Now()
					cb.rawGet(b, ctx)
					t2 := time.Now()
					if err != nil || len(all) != cloudBenchSecrets {
						b.Fatalf("GetAll: %d secrets, %v", len(all), err)
					}
					backend += t1.Sub(t0)
					floor += t2.Sub(t1)
				}
				reportFloor(b, backend, floor, len(cb.payload))
			})
		}
	}
}

// BenchmarkCloudSet: Set of one secret in a repository of 100 (one GET,
// verify, decrypt, encrypt, sign, one conditional PUT) against one raw GET
// plus one raw conditional PUT of an object of the same size.
func BenchmarkCloudSet(b *testing.B) {
	for _, s := range cloudBenchServers {
		b.Run(s.name, func(b *testing.B) {
			cb := newCloudBench(b, s.get(b), "recipients")
			ctx := context.Background()
			scratch := cb.key + ".floor"
			ver := cb.rawPut(b, ctx, scratch, cb.payload, nil)
			var backend, floor time.Duration
			i := 0
			b.ResetTimer()
			for b.Loop() {
				i++
				t0 := time.Now()
				err := cb.store.Set(ctx, seed.Name(i%cloudBenchSecrets), fmt.Sprintf("tok_%036d", i))
				t1 := time.Now()
				cb.rawGet(b, ctx)
				ver = cb.rawPut(b, ctx, scratch, cb.payload, ver)
				t2 := time.Now()
				if err != nil {
					b.Fatal(err)
				}
				backend += t1.Sub(t0)
				floor += t2.Sub(t1)
			}
			reportFloor(b, backend, floor, len(cb.payload))
		})
	}
}

// BenchmarkCloudVaultGetAll is Vault's read of 100 secrets (KV v2) in the
// same run, for comparison.
func BenchmarkCloudVaultGetAll(b *testing.B) {
	st := vaultStore(b, cloudBenchSecrets, vault.LayoutEntry)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if all, err := secrets.GetAll(ctx, st); err != nil || len(all) != cloudBenchSecrets {
			b.Fatalf("GetAll: %d secrets, %v", len(all), err)
		}
	}
}

func reportFloor(b *testing.B, backend, floor time.Duration, size int) {
	n := float64(b.N)
	b.ReportMetric(float64(backend.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(floor.Nanoseconds())/n, "floor-ns/op")
	b.ReportMetric(float64(backend)/float64(floor), "x-floor")
	b.ReportMetric(float64(size), "object-bytes")
}
