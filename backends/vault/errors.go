package vault

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// connectionError reports whether err is a failure to get an answer from
// a node (refused or dropped connection, the client's own timeout) rather
// than a TLS or protocol mistake that retrying cannot fix.
func connectionError(err error) bool {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return false
	}
	cause := ue.Err
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(cause, context.Canceled):
		return false
	case errors.As(cause, &unknownCA), errors.As(cause, &badHost), errors.As(cause, &certInvalid), errors.As(cause, &recordErr):
		return false
	case strings.Contains(cause.Error(), "certificate"), strings.Contains(cause.Error(), "HTTP response to HTTPS client"), strings.Contains(cause.Error(), "unsupported protocol scheme"):
		return false
	}
	return true
}

// node names the node an error came from (scheme://host): the one a
// request was sent or redirected to, which during a failover may differ
// from the address that was configured.
func (c *conn) node(err error) string {
	var re *api.ResponseError
	var ue *url.Error
	raw := ""
	switch {
	case errors.As(err, &re):
		raw = re.URL
	case errors.As(err, &ue):
		raw = ue.URL
	}
	if u, perr := url.Parse(raw); raw != "" && perr == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return c.addr()
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
func (c *conn) classify(ctx context.Context, err error, op, path, capability string) error {
	addr := c.node(err)
	if ctx.Err() != nil {
		return fmt.Errorf("%s at Vault %s: %w", op, addr, context.Cause(ctx))
	}
	if errors.Is(err, errCASConflict) {
		return fmt.Errorf("%w: %s: other writers kept changing %s at Vault %s until the deadline (each attempt lost the check-and-set race); nothing was overwritten, try again",
			secrets.ErrConflict, op, path, addr)
	}
	var re *api.ResponseError
	if errors.As(err, &re) {
		msg := vaultMessages(re.Errors)
		switch code := re.StatusCode; {
		case code == http.StatusForbidden && hasMessage(re, "invalid token"):
			return fmt.Errorf("%w: %s: Vault at %s rejected the token from %s as invalid or expired; log in again (`vault login`), set a fresh VAULT_TOKEN, or check the AppRole settings",
				secrets.ErrAuth, op, addr, c.source())
		case code == http.StatusForbidden && strings.HasPrefix(path, "auth/") && strings.HasSuffix(path, "/login"):
			// Login endpoints need no token: a 403 means no such auth method.
			return fmt.Errorf("%w: %s: Vault at %s refused %s (%s): is the AppRole auth method enabled at %s? Enable it with `vault auth enable -path=%s approle` or fix the approle_mount option",
				secrets.ErrInvalidConfig, op, addr, path, orStatus(msg, code), strings.TrimSuffix(path, "/login"), strings.TrimSuffix(strings.TrimPrefix(path, "auth/"), "/login"))
		case code == http.StatusForbidden:
			return fmt.Errorf("%w: %s: Vault at %s denied access to %s: the policies of the token (from %s) lack the %s on that path; ask a Vault administrator to grant it (the vault backend's package documentation has example policies)",
				secrets.ErrPermission, op, addr, path, c.source(), capability)
		case code == http.StatusServiceUnavailable && hasMessage(re, "Vault is sealed"):
			return fmt.Errorf("%w: %s: Vault at %s is sealed, so nothing can be read or written until an operator unseals it (`vault operator unseal`)",
				secrets.ErrUnavailable, op, addr)
		case code == http.StatusNotFound && hasMessage(re, "no handler for route"):
			return fmt.Errorf("%w: %s: no secrets engine is mounted at %q on Vault %s; enable KV there with `vault secrets enable -path=%s kv-v2` or fix the mount option",
				secrets.ErrInvalidConfig, op, c.mount, addr, c.mount)
		case code == http.StatusBadRequest && (hasMessage(re, "invalid role or secret ID") || hasMessage(re, "invalid role ID") || hasMessage(re, "invalid secret id")):
			return fmt.Errorf("%w: %s at Vault %s: %s; check the role id and secret id (%s, %s, role_id_file, secret_id_file)",
				secrets.ErrAuth, op, addr, msg, RoleIDEnvVar, SecretIDEnvVar)
		case hasMessage(re, "Invalid path for a versioned K/V secrets engine"):
			return fmt.Errorf("%w: %s: mount %q on Vault %s is KV version 2 but the store uses version 1 paths; remove the kv_version option or set it to 2",
				secrets.ErrInvalidConfig, op, c.mount, addr)
		case code == http.StatusBadRequest && hasMessage(re, "HTTP request to an HTTPS server"):
			return fmt.Errorf("%w: %s: Vault at %s speaks TLS: use an https:// address", secrets.ErrInvalidConfig, op, addr)
		case code == http.StatusTooManyRequests || code >= 500:
			return fmt.Errorf("%w: %s: Vault at %s failed with HTTP %d (%s), retried until the deadline; try again later, raise --timeout, or ask its operator",
				secrets.ErrUnavailable, op, addr, code, orStatus(msg, code))
		default:
			return fmt.Errorf("%s: Vault at %s answered HTTP %d for %s: %s", op, addr, code, path, orStatus(msg, code))
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// The client's own timeout (VAULT_CLIENT_TIMEOUT), not the caller's.
		return fmt.Errorf("%w: %s: Vault at %s did not answer in time (VAULT_CLIENT_TIMEOUT); check that it is healthy", secrets.ErrUnavailable, op, addr)
	}
	if errors.Is(err, errors.ErrUnsupported) || errors.Is(err, secrets.ErrNotFound) || errors.Is(err, secrets.ErrExists) || errors.Is(err, secrets.ErrConflict) {
		return err
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return fmt.Errorf("%s: Vault at %s: %s", op, addr, redactURL(err.Error()))
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
	return fmt.Errorf("%w: %s: cannot reach Vault at %s: %s; %s", secrets.ErrUnavailable, op, addr, redactURL(cause.Error()), hint)
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
