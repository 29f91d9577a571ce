package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/smithy-go"
	vaultapi "github.com/hashicorp/vault/api"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"

	"github.com/dstackai/dstack-secrets/secrets"
)

// opKind is what a request was doing, for messages and for the permission
// it needs.
type opKind int

const (
	opRead opKind = iota
	opWrite
	opList
)

func (op opKind) verb() string {
	return [...]string{"reading", "writing", "listing"}[op]
}

// permission names what the credentials need for op on each provider.
func (o *objects) permission(op opKind) string {
	switch o.provider {
	case "s3":
		return [...]string{"s3:GetObject", "s3:PutObject", "s3:ListBucket"}[op]
	case "gs":
		return [...]string{"storage.objects.get", "storage.objects.create and storage.objects.delete (to replace an object)", "storage.objects.list"}[op]
	default:
		return [...]string{
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read (to list)",
		}[op]
	}
}

// credentialChain describes where each provider's SDK looks for
// credentials.
func (o *objects) credentialChain() string {
	switch o.provider {
	case "s3":
		return "the AWS credential chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, SSO, the instance or task role"
	case "gs":
		return "Google application default credentials: GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, the instance's service account"
	default:
		return "Azure credentials: AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING, else DefaultAzureCredential (`az login`, managed identity, AZURE_CLIENT_ID...)"
	}
}

// providerError returns the provider's error code and HTTP status, when
// the error carries them.
func providerError(err error) (code string, status int) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		code, status = re.ErrorCode, re.StatusCode
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		status = ge.Code
		if len(ge.Errors) > 0 {
			code = ge.Errors[0].Reason
		}
	}
	type httpStatus interface{ HTTPStatusCode() int }
	var hs httpStatus
	if status == 0 && errors.As(err, &hs) {
		status = hs.HTTPStatusCode()
	}
	return code, status
}

// isConflict reports a precondition failure that the portable error code
// does not show (S3 answers concurrent conditional writes with 409
// ConditionalRequestConflict; Azure a create of an existing blob with 409).
func (o *objects) isConflict(err error) bool {
	code, status := providerError(err)
	switch code {
	case "PreconditionFailed", "ConditionalRequestConflict", "ConditionNotMet", "BlobAlreadyExists", "conditionNotMet":
		return true
	}
	return status == http.StatusPreconditionFailed
}

func bucketMissing(err error) bool {
	code, _ := providerError(err)
	return code == "NoSuchBucket" || code == "ContainerNotFound" || errors.Is(err, storage.ErrBucketNotExist)
}

// deniedOrNoBucket reports whether a not-found read error is really a
// missing bucket or a refusal (gcsblob reports a 403 as not found).
func (o *objects) deniedOrNoBucket(err error) bool {
	_, status := providerError(err)
	return bucketMissing(err) || status == http.StatusForbidden || status == http.StatusUnauthorized
}

var authCodes = map[string]bool{
	"SignatureDoesNotMatch": true, "InvalidAccessKeyId": true, "ExpiredToken": true, "InvalidToken": true,
	"TokenRefreshRequired": true, "AuthenticationFailed": true, "InvalidAuthenticationInfo": true, "NoAuthenticationInformation": true,
}

// fail turns an error of op on key into one clear error wrapping the
// secrets sentinel that fits. The provider's message is kept (it names
// the request, never a value).
func (o *objects) fail(ctx context.Context, op opKind, key string, err error) error {
	where := o.location(key)
	if op == opList {
		where = o.provider + "://" + o.name + "/" + o.prefix + key + "*"
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("cloud backend: %s %s: no answer before the deadline (%w): the server is slow or unreachable%s", op.verb(), where, cerr, o.endpointNote())
		}
		return fmt.Errorf("cloud backend: %s %s: %w", op.verb(), where, cerr)
	}
	code, status := providerError(err)
	gc := gcerrors.Code(err)
	switch {
	case bucketMissing(err) || (op != opRead && gc == gcerrors.NotFound && status != http.StatusForbidden):
		return fmt.Errorf("%w: cloud backend: the bucket %q does not exist (%s %s); create it, or fix the url option%s", secrets.ErrInvalidConfig, o.name, op.verb(), where, o.endpointNote())
	case authCodes[code] || status == http.StatusUnauthorized:
		return fmt.Errorf("%w: cloud backend: the credentials were rejected (%s) while %s %s; check %s", secrets.ErrAuth, codeOr(code, status), op.verb(), where, o.credentialChain())
	case status == http.StatusForbidden || gc == gcerrors.PermissionDenied:
		note := ""
		if o.provider == "s3" && op == opRead {
			note = " (S3 also answers 403 for a missing object when the credentials lack s3:ListBucket)"
		}
		resource := where
		if o.provider == "s3" {
			resource = "arn:aws:s3:::" + o.name + "/" + o.prefix + key
			if op == opList {
				resource = "arn:aws:s3:::" + o.name + " (prefix " + o.prefix + key + ")"
			}
		}
		return fmt.Errorf("%w: cloud backend: access denied (%s) %s %s: the credentials need %s on %s (every write also reads the object first)%s", secrets.ErrPermission, codeOr(code, status), op.verb(), where, o.permission(op), resource, note)
	case noCredentials(err):
		return fmt.Errorf("%w: cloud backend: no credentials for %s: the SDK found none in %s (%v)", secrets.ErrAuth, where, o.credentialChain(), err)
	case isNetwork(err):
		return fmt.Errorf("%w: cloud backend: cannot reach the server for %s %s%s: %v", secrets.ErrUnavailable, op.verb(), where, o.endpointNote(), err)
	}
	return fmt.Errorf("cloud backend: %s %s: %w", op.verb(), where, err)
}

func (o *objects) endpointNote() string {
	if o.endpoint != "" {
		return " (endpoint " + o.endpoint + ")"
	}
	return ""
}

func codeOr(code string, status int) string {
	if code != "" {
		return code
	}
	return fmt.Sprintf("HTTP %d", status)
}

func noCredentials(err error) bool {
	s := err.Error()
	for _, m := range []string{"failed to retrieve credentials", "no EC2 IMDS role found", "could not find default credentials", "DefaultAzureCredential", "failed to refresh cached credentials", "credential"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

func isNetwork(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// kmsError explains a failure of the KMS key kmsURL to do action.
func kmsError(ctx context.Context, action, kmsURL string, err error) error {
	where := redactURL(kmsURL)
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("cloud backend: could not %s the KMS key %s before the deadline: %w", action, where, cerr)
	}
	status := 0
	var ve *vaultapi.ResponseError
	if errors.As(err, &ve) {
		status = ve.StatusCode
	}
	_, pstatus := providerError(err)
	if status == 0 {
		status = pstatus
	}
	gc := gcerrors.Code(err)
	switch {
	case status == http.StatusForbidden || gc == gcerrors.PermissionDenied:
		return fmt.Errorf("%w: cloud backend: could not %s the KMS key %s: access denied; the credentials need the key's encrypt and decrypt permissions (AWS kms:Encrypt/kms:Decrypt, GCP roles/cloudkms.cryptoKeyEncrypterDecrypter, Azure Key Vault wrapKey/unwrapKey, Vault a policy with update on transit/encrypt/KEY and transit/decrypt/KEY): %v", secrets.ErrPermission, action, where, err)
	case status == http.StatusUnauthorized:
		return fmt.Errorf("%w: cloud backend: could not %s the KMS key %s: the credentials were rejected: %v", secrets.ErrAuth, action, where, err)
	case gc == gcerrors.NotFound || status == http.StatusNotFound:
		return fmt.Errorf("%w: cloud backend: could not %s the KMS key %s: the key does not exist; fix the kms option: %v", secrets.ErrInvalidConfig, action, where, err)
	case isNetwork(err):
		return fmt.Errorf("%w: cloud backend: could not %s the KMS key %s: cannot reach the KMS: %v", secrets.ErrUnavailable, action, where, err)
	case status == http.StatusBadRequest || gc == gcerrors.InvalidArgument:
		return fmt.Errorf("%w: cloud backend: could not %s the KMS key %s: the key refused it (a data key wrapped by another key, or a damaged one): %v", secrets.ErrAuth, action, where, err)
	}
	return fmt.Errorf("cloud backend: could not %s the KMS key %s: %w", action, where, err)
}

// redactURL drops user information and the query from a URL for messages
// and for the record of the KMS key in documents.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}
