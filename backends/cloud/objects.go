package cloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
	"gocloud.dev/gcp"
	"google.golang.org/api/option"

	"github.com/dstackai/dstack-secrets/secrets"
)

// objects is the bucket of a store: whole-object reads, conditional
// whole-object writes and listings, over gocloud.dev/blob with the
// precondition of each provider set through its driver (the portable API
// has only "must not exist").
type objects struct {
	bucket   *blob.Bucket
	provider string // "s3", "gs" or "azblob"
	name     string // the bucket (container) name
	prefix   string // key prefix, "" or ending in "/"
	endpoint string // the endpoint option, for messages
}

// version identifies the state of an object that a conditional write
// expects: absent, or the ETag (S3, Azure) or generation (GCS) read.
type version struct {
	exists bool
	etag   string
	gen    int64
}

// errPrecondition is what put returns when the object changed since it was
// read (or appeared, for a create).
var errPrecondition = errors.New("the object changed since it was read")

// location is the object's address for messages, e.g.
// s3://bucket/prefix/project/repos/host/org/repo.age.
func (o *objects) location(key string) string {
	return o.provider + "://" + o.name + "/" + o.prefix + key
}

// openObjects opens the bucket of u (scheme, bucket, prefix already
// checked by parseURL) with the query of u and the endpoint option.
func openObjects(ctx context.Context, u *url.URL, prefix, endpoint string) (*objects, error) {
	o := &objects{provider: u.Scheme, name: u.Host, prefix: prefix, endpoint: endpoint}
	q := u.Query()
	driverURL := &url.URL{Scheme: u.Scheme, Host: u.Host}
	var err error
	switch u.Scheme {
	case s3blob.Scheme:
		if endpoint != "" {
			q.Set("endpoint", endpoint)
			if q.Get("use_path_style") == "" && q.Get("s3ForcePathStyle") == "" {
				q.Set("use_path_style", "true")
			}
			if q.Get("request_checksum_calculation") == "" {
				q.Set("request_checksum_calculation", "when_required")
			}
			// S3-compatible servers (SeaweedFS) answer without the
			// checksums the SDK would validate, and the SDK then logs
			// "Response has no supported checksum" on stderr at every
			// read. The document is authenticated by its own encryption
			// and signature, so only validate when a server sends them
			// because the request required it.
			if q.Get("response_checksum_validation") == "" {
				q.Set("response_checksum_validation", "when_required")
			}
		}
		driverURL.RawQuery = q.Encode()
		o.bucket, err = blob.DefaultURLMux().OpenBucketURL(ctx, driverURL)
	case gcsblob.Scheme:
		driverURL.RawQuery = q.Encode()
		if endpoint == "" {
			o.bucket, err = blob.DefaultURLMux().OpenBucketURL(ctx, driverURL)
			break
		}
		opener := &gcsblob.URLOpener{Options: gcsblob.Options{ClientOptions: []option.ClientOption{option.WithEndpoint(endpoint)}}}
		if anon := q.Get("anonymous"); anon != "true" && anon != "1" {
			creds, cerr := gcp.DefaultCredentials(ctx)
			if cerr != nil {
				return nil, fmt.Errorf("%w: cloud backend: no Google Cloud credentials (application default credentials: GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the instance's service account): %v", secrets.ErrAuth, cerr)
			}
			opener.Client, err = gcp.NewHTTPClient(gcp.DefaultTransport(), gcp.CredentialsTokenSource(creds))
			if err != nil {
				return nil, err
			}
		}
		o.bucket, err = opener.OpenBucketURL(ctx, driverURL)
	case azureblob.Scheme:
		if endpoint != "" {
			e, perr := url.Parse(endpoint)
			if perr != nil || e.Host == "" || (e.Scheme != "http" && e.Scheme != "https") {
				return nil, fmt.Errorf("%w: cloud backend: endpoint %q is not an http(s) URL", secrets.ErrInvalidConfig, endpoint)
			}
			q.Set("protocol", e.Scheme)
			q.Set("domain", e.Host)
			if acct := strings.Trim(e.Path, "/"); acct != "" {
				q.Set("storage_account", acct)
				q.Set("localemu", "true")
			}
		}
		driverURL.RawQuery = q.Encode()
		o.bucket, err = blob.DefaultURLMux().OpenBucketURL(ctx, driverURL)
	}
	if err != nil {
		if errors.Is(err, secrets.ErrAuth) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: cloud backend: cannot open %s://%s: %v", secrets.ErrInvalidConfig, u.Scheme, u.Host, err)
	}
	var gc *storage.Client
	if o.bucket.As(&gc) {
		// The Cloud Storage client retries an unreachable server until
		// the deadline; a few attempts are enough to ride out a blip
		// and make "server down" an error of its own.
		gc.SetRetry(storage.WithMaxAttempts(4))
	}
	return o, nil
}

// gcsBucketMissing reports whether a Cloud Storage bucket is known not to
// exist: a read of a missing object in a missing bucket looks like a
// missing object. Any other answer (including a refusal) counts as "not
// known to be missing".
func (o *objects) gcsBucketMissing(ctx context.Context) bool {
	var gc *storage.Client
	if o.provider != gcsblob.Scheme || !o.bucket.As(&gc) {
		return false
	}
	_, err := gc.Bucket(o.name).Attrs(ctx)
	return errors.Is(err, storage.ErrBucketNotExist)
}

// get reads the object key whole. A missing object gives a version with
// exists false and no error.
func (o *objects) get(ctx context.Context, key string) ([]byte, version, error) {
	r, err := o.bucket.NewReader(ctx, o.prefix+key, nil)
	if err != nil {
		if gcerrors.Code(err) == gcerrors.NotFound && !o.deniedOrNoBucket(err) {
			if o.gcsBucketMissing(ctx) {
				return nil, version{}, o.fail(ctx, opRead, key, storage.ErrBucketNotExist)
			}
			return nil, version{}, nil
		}
		return nil, version{}, o.fail(ctx, opRead, key, err)
	}
	defer r.Close()
	if r.Size() > maxObjectSize {
		return nil, version{}, fmt.Errorf("%w: %s is %d bytes, more than a dstack-secrets document can be (%d)", secrets.ErrCorrupt, o.location(key), r.Size(), maxObjectSize)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxObjectSize+1))
	if err != nil {
		return nil, version{}, o.fail(ctx, opRead, key, err)
	}
	v := version{exists: true}
	switch o.provider {
	case s3blob.Scheme:
		var out s3.GetObjectOutput
		if r.As(&out) {
			v.etag = aws.ToString(out.ETag)
		}
	case gcsblob.Scheme:
		var sr *storage.Reader
		if r.As(&sr) {
			v.gen = sr.Attrs.Generation
		}
	case azureblob.Scheme:
		var resp azblobblob.DownloadStreamResponse
		if r.As(&resp) && resp.ETag != nil {
			v.etag = string(*resp.ETag)
		}
	}
	if v.etag == "" && v.gen == 0 {
		return nil, version{}, fmt.Errorf("%w: %s came back without an ETag or generation, so it cannot be updated safely; the server does not support conditional writes", secrets.ErrUnavailable, o.location(key))
	}
	return data, v, nil
}

// put writes data to key if the object is still at version want: absent
// when want.exists is false, else the ETag or generation read. A changed
// object gives errPrecondition and is not written.
func (o *objects) put(ctx context.Context, key string, data []byte, want version) error {
	opts := &blob.WriterOptions{
		ContentType: "application/json",
		IfNotExist:  !want.exists,
		// Uploads are whole, single requests: nothing half-written.
		DisableContentTypeDetection: true,
	}
	if want.exists {
		opts.BeforeWrite = func(as func(any) bool) error {
			switch o.provider {
			case s3blob.Scheme:
				var in *transfermanager.UploadObjectInput
				if as(&in) {
					in.IfMatch = aws.String(want.etag)
					return nil
				}
			case gcsblob.Scheme:
				var oh **storage.ObjectHandle
				if as(&oh) {
					*oh = (*oh).If(storage.Conditions{GenerationMatch: want.gen})
					return nil
				}
			case azureblob.Scheme:
				var uo *azblob.UploadStreamOptions
				if as(&uo) {
					etag := azcore.ETag(want.etag)
					uo.AccessConditions = &azblob.AccessConditions{ModifiedAccessConditions: &azblobblob.ModifiedAccessConditions{IfMatch: &etag}}
					return nil
				}
			}
			return fmt.Errorf("cloud backend: the %s driver gave no way to set a write precondition", o.provider)
		}
	}
	// Upload rather than NewWriter: with azureblob, a failed conditional
	// write through NewWriter panics (gocloud.dev v0.47.0).
	err := o.bucket.Upload(ctx, o.prefix+key, bytes.NewReader(data), opts)
	if err == nil {
		return nil
	}
	if gcerrors.Code(err) == gcerrors.FailedPrecondition || o.isConflict(err) {
		return errPrecondition
	}
	return o.fail(ctx, opWrite, key, err)
}

// list returns the keys (without the store's prefix) under dir.
func (o *objects) list(ctx context.Context, dir string) ([]string, error) {
	var keys []string
	it := o.bucket.List(&blob.ListOptions{Prefix: o.prefix + dir})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return nil, o.fail(ctx, opList, dir, err)
		}
		if !obj.IsDir {
			keys = append(keys, strings.TrimPrefix(obj.Key, o.prefix))
		}
	}
}

func (o *objects) close() error { return o.bucket.Close() }
