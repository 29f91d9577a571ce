package vault

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// checkRetry decides whether a request is retried: on connection errors,
// 429 and 5xx like the Vault client's default policy, but never for a
// sealed Vault (retrying cannot help) and never when the context's deadline
// is closer than the longest backoff wait, so that retries never outlast
// the caller's context and the real failure is reported in time.
func (s *store) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	retry, rerr := api.DefaultRetryPolicy(ctx, resp, err)
	if !retry {
		return false, rerr
	}
	if resp != nil && resp.StatusCode == http.StatusServiceUnavailable && sealedResponse(resp) {
		return false, nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < s.maxWait {
		return false, nil
	}
	if resp != nil {
		// A nil error makes the client return the last response, and so
		// Vault's own message, once the retries are used up.
		return true, nil
	}
	return true, rerr
}

// sealedResponse reports whether a 503 response says Vault is sealed. It
// leaves the body readable.
func sealedResponse(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return bytes.Contains(b, []byte("Vault is sealed"))
}

// vaultMessages turns Vault's error strings (often multierror text such as
// "2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n") into
// one line.
func vaultMessages(errs []string) string {
	var parts []string
	for _, e := range errs {
		for _, line := range strings.Split(e, "\n") {
			line = strings.TrimSpace(line)
			line = strings.TrimSpace(strings.TrimPrefix(line, "*"))
			if line == "" || strings.HasSuffix(line, "errors occurred:") || strings.HasSuffix(line, "error occurred:") {
				continue
			}
			parts = append(parts, line)
		}
	}
	msg := strings.Join(parts, "; ")
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	return msg
}

func hasMessage(re *api.ResponseError, substr string) bool {
	for _, e := range re.Errors {
		if strings.Contains(e, substr) {
			return true
		}
	}
	return false
}

// isVaultError reports whether err is a Vault response with the given status
// whose message contains substr.
func isVaultError(err error, status int, substr string) bool {
	var re *api.ResponseError
	return errors.As(err, &re) && re.StatusCode == status && hasMessage(re, substr)
}

// isCASMismatch reports whether err is KV v2's check-and-set refusal.
func isCASMismatch(err error) bool {
	return isVaultError(err, http.StatusBadRequest, "check-and-set parameter did not match")
}

// classify turns an error of the Vault client into one that wraps a secrets
// sentinel and explains the fix. op says what was attempted, path is the
// API path and capability the capability the operation needs there. The
// result never holds a response body, a token or a secret value.
func (s *store) classify(ctx context.Context, err error, op, path, capability string) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s at Vault %s: %w", op, s.addr, cerr)
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		msg := vaultMessages(re.Errors)
		switch code := re.StatusCode; {
		case code == http.StatusForbidden && hasMessage(re, "invalid token"):
			return fmt.Errorf("%w: %s: Vault at %s rejected the token from %s as invalid or expired; log in again (`vault login`), set a fresh VAULT_TOKEN, or check the AppRole settings",
				secrets.ErrAuth, op, s.addr, s.tokenSource)
		case code == http.StatusForbidden && strings.HasPrefix(path, "auth/") && strings.HasSuffix(path, "/login"):
			// Login endpoints need no token: a 403 means no such auth method.
			return fmt.Errorf("%w: %s: Vault at %s refused %s (%s): is the AppRole auth method enabled at %s? Enable it with `vault auth enable -path=%s approle` or fix the approle_mount option",
				secrets.ErrInvalidConfig, op, s.addr, path, orStatus(msg, code), strings.TrimSuffix(path, "/login"), strings.TrimSuffix(strings.TrimPrefix(path, "auth/"), "/login"))
		case code == http.StatusForbidden:
			return fmt.Errorf("%w: %s: Vault at %s denied access to %s: the policies of the token (from %s) lack the %s on that path; ask a Vault administrator to grant it (the vault backend's package documentation has example policies)",
				secrets.ErrPermission, op, s.addr, path, s.tokenSource, capability)
		case code == http.StatusServiceUnavailable && hasMessage(re, "Vault is sealed"):
			return fmt.Errorf("%w: %s: Vault at %s is sealed, so nothing can be read or written until an operator unseals it (`vault operator unseal`)",
				secrets.ErrUnavailable, op, s.addr)
		case code == http.StatusNotFound && hasMessage(re, "no handler for route"):
			return fmt.Errorf("%w: %s: no secrets engine is mounted at %q on Vault %s; enable KV there with `vault secrets enable -path=%s kv-v2` or fix the mount option",
				secrets.ErrInvalidConfig, op, s.mount, s.addr, s.mount)
		case code == http.StatusBadRequest && (hasMessage(re, "invalid role or secret ID") || hasMessage(re, "invalid role ID") || hasMessage(re, "invalid secret id")):
			return fmt.Errorf("%w: %s at Vault %s: %s; check the role id and secret id (%s, %s, role_id_file, secret_id_file)",
				secrets.ErrAuth, op, s.addr, msg, RoleIDEnvVar, SecretIDEnvVar)
		case hasMessage(re, "Invalid path for a versioned K/V secrets engine"):
			return fmt.Errorf("%w: %s: mount %q on Vault %s is KV version 2 but the store uses version 1 paths; remove the kv_version option or set it to 2",
				secrets.ErrInvalidConfig, op, s.mount, s.addr)
		case code == http.StatusBadRequest && hasMessage(re, "HTTP request to an HTTPS server"):
			return fmt.Errorf("%w: %s: Vault at %s speaks TLS: use an https:// address", secrets.ErrInvalidConfig, op, s.addr)
		case code == http.StatusTooManyRequests || code >= 500:
			return fmt.Errorf("%w: %s: Vault at %s failed with HTTP %d (%s) after retries; try again later or ask its operator",
				secrets.ErrUnavailable, op, s.addr, code, orStatus(msg, code))
		default:
			return fmt.Errorf("%s: Vault at %s answered HTTP %d for %s: %s", op, s.addr, code, path, orStatus(msg, code))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// The client's own timeout (VAULT_CLIENT_TIMEOUT), not the caller's.
		return fmt.Errorf("%w: %s: Vault at %s did not answer in time (VAULT_CLIENT_TIMEOUT); check that it is healthy", secrets.ErrUnavailable, op, s.addr)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return fmt.Errorf("%s: Vault at %s: %s", op, s.addr, redactURL(err.Error()))
	}
	cause := ue.Err
	hint := "check the address (the address option or VAULT_ADDR) and that the server is running"
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	switch {
	case errors.As(cause, &unknownCA) || strings.Contains(cause.Error(), "certificate"):
		hint = "the server's TLS certificate is not trusted: point ca_cert or VAULT_CACERT at the CA that signed it"
	case errors.As(cause, &badHost):
		hint = "the server's TLS certificate does not match the address: fix the address or set tls_server_name / VAULT_TLS_SERVER_NAME"
	case strings.Contains(cause.Error(), "server gave HTTP response to HTTPS client"):
		hint = "the server speaks plain HTTP: use an http:// address"
	}
	return fmt.Errorf("%w: %s: cannot reach Vault at %s: %s; %s", secrets.ErrUnavailable, op, s.addr, redactURL(cause.Error()), hint)
}

func orStatus(msg string, code int) string {
	if msg != "" {
		return msg
	}
	return http.StatusText(code)
}

// redactURL hides the user information ("user:password@", or a token used
// as the user name) of every URL in text, as "***@": a Vault address or a
// proxy URL may carry credentials, and error texts of the HTTP client and
// of url.Parse quote the URL. It needs no valid URL (a bad port is what
// url.Parse complains about), only "scheme://".
func redactURL(text string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "://")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i+3])
		text = text[i+3:]
		end := strings.IndexAny(text, "/?#\"' \t\n")
		if end < 0 {
			end = len(text)
		}
		if at := strings.LastIndexByte(text[:end], '@'); at >= 0 {
			b.WriteString("***")
			text = text[at:]
		}
	}
}
