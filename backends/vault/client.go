package vault

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/hashicorp/vault/api"
	"golang.org/x/time/rate"

	"github.com/dstackai/dstack-secrets/secrets"
)

// addresses resolves the node addresses: the addresses or address option,
// else VAULT_AGENT_ADDR, else VAULT_ADDR, else DefaultAddress.
func addresses(opts Options, getenv func(string) string) ([]string, error) {
	if opts.Address != "" && len(opts.Addresses) > 0 {
		return nil, fmt.Errorf("%w: both address and addresses are set; list every node under addresses", secrets.ErrInvalidConfig)
	}
	if len(opts.Addresses) > 0 {
		seen := map[string]bool{}
		for _, a := range opts.Addresses {
			if a == "" || seen[a] {
				return nil, fmt.Errorf("%w: addresses lists an empty or repeated address %q", secrets.ErrInvalidConfig, redactURL(a))
			}
			seen[a] = true
		}
		return append([]string(nil), opts.Addresses...), nil
	}
	for _, a := range []string{opts.Address, getenv(api.EnvVaultAgentAddr), getenv(api.EnvVaultAddress)} {
		if a != "" {
			return []string{a}, nil
		}
	}
	return []string{DefaultAddress}, nil
}

// newClients builds one client per address. Every VAULT_* variable is read
// through getenv (the injected environment), never from the process: the
// Vault client's own NewClient reads VAULT_TOKEN, VAULT_NAMESPACE and
// VAULT_HEADERS from the process environment, so those are cleared and set
// again from getenv and the options.
func (c *conn) newClients(opts Options, getenv func(string) string) error {
	headers, err := envHeaders(getenv)
	if err != nil {
		return err
	}
	ns := opts.Namespace
	if ns == "" {
		ns = getenv(api.EnvVaultNamespace)
	}
	for _, addr := range c.addrs {
		cfg, err := clientConfig(opts, getenv, addr)
		if err != nil {
			return err
		}
		if c.maxRetries, err = maxRetries(getenv); err != nil {
			return err
		}
		cl, err := api.NewClient(cfg)
		if err != nil {
			return fmt.Errorf("%w: Vault client for %s: %s (check the address, and the VAULT_* variables of the environment)", secrets.ErrInvalidConfig, redactURL(addr), redactURL(err.Error()))
		}
		cl.ClearToken()
		cl.SetHeaders(headers.Clone()) // replaces the process's VAULT_HEADERS and namespace
		if ns != "" {
			cl.SetNamespace(ns)
		}
		c.clients = append(c.clients, cl)
	}
	return nil
}

// envHeaders reads VAULT_HEADERS (a JSON object of header names to string
// values) as the vault CLI does; X-Vault-* headers are refused. The
// result holds X-Vault-Request, which the Vault client sends against SSRF.
func envHeaders(getenv func(string) string) (http.Header, error) {
	h := http.Header{api.RequestHeaderName: {"true"}}
	v := getenv(api.EnvVaultHeaders)
	if v == "" {
		return h, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		return nil, fmt.Errorf("%w: %s is not a JSON object of header names to values", secrets.ErrInvalidConfig, api.EnvVaultHeaders)
	}
	for k, val := range m {
		s, ok := val.(string)
		switch {
		case strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Vault-"):
			return nil, fmt.Errorf("%w: %s sets %s; X-Vault-* headers are Vault's own (use the namespace option for X-Vault-Namespace)", secrets.ErrInvalidConfig, api.EnvVaultHeaders, k)
		case !ok:
			return nil, fmt.Errorf("%w: %s gives header %s a value that is not a string", secrets.ErrInvalidConfig, api.EnvVaultHeaders, k)
		}
		h.Add(k, s)
	}
	return h, nil
}

// maxRetries reads VAULT_MAX_RETRIES: how many times a failed request is
// retried; -1 (unset) retries until the deadline.
func maxRetries(getenv func(string) string) (int, error) {
	v := getenv(api.EnvVaultMaxRetries)
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%w: %s=%q is not a small non-negative number", secrets.ErrInvalidConfig, api.EnvVaultMaxRetries, v)
	}
	return int(n), nil
}

// clientConfig builds the Vault client configuration of one node the way
// api.DefaultConfig does, with the environment read through getenv and the
// options taking precedence. The client itself never retries: conn.do
// does, across nodes and until the deadline.
func clientConfig(opts Options, getenv func(string) string, addr string) (*api.Config, error) {
	first := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	parseBool := func(name string) (bool, error) {
		v := getenv(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%w: %s=%q is not a boolean", secrets.ErrInvalidConfig, name, v)
		}
		return b, nil
	}
	// A fresh transport, so that nothing read from the process environment
	// leaks in.
	transport := cleanhttp.DefaultPooledTransport()
	transport.TLSHandshakeTimeout = 10 * time.Second
	transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	transport.MaxIdleConnsPerHost = MaxConcurrentReads
	transport.ForceAttemptHTTP2 = true
	cfg := &api.Config{
		Address:      addr,
		HttpClient:   &http.Client{Transport: transport},
		MaxRetries:   0,
		Timeout:      60 * time.Second,
		MinRetryWait: time.Millisecond,
		MaxRetryWait: time.Millisecond,
		Backoff:      retryablehttp.DefaultBackoff,
		CheckRetry: func(context.Context, *http.Response, error) (bool, error) {
			return false, nil
		},
	}
	// Like api.DefaultConfig: the client must not follow redirects by
	// itself (it handles Vault's 307s from standbys).
	cfg.HttpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if v := getenv(api.EnvVaultClientTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			n, nerr := strconv.Atoi(v)
			if nerr != nil {
				return nil, fmt.Errorf("%w: %s=%q is not a duration (e.g. 30s)", secrets.ErrInvalidConfig, api.EnvVaultClientTimeout, v)
			}
			d = time.Duration(n) * time.Second
		}
		cfg.Timeout = d
	}
	if v := getenv(api.EnvRateLimit); v != "" {
		r, burst, err := parseRateLimit(v)
		if err != nil {
			return nil, err
		}
		cfg.Limiter = rate.NewLimiter(rate.Limit(r), burst)
	}
	var err error
	if cfg.SRVLookup, err = parseBool(api.EnvVaultSRVLookup); err != nil {
		return nil, err
	}
	if cfg.DisableRedirects, err = parseBool(api.EnvVaultDisableRedirects); err != nil {
		return nil, err
	}
	if p := first(getenv(api.EnvVaultProxyAddr), getenv(api.EnvHTTPProxy)); p != "" {
		u, err := url.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: cannot parse the proxy URL: %s", secrets.ErrInvalidConfig, api.EnvVaultProxyAddr, redactURL(err.Error()))
		}
		transport.Proxy = http.ProxyURL(u)
	}
	skip := opts.TLSSkipVerify
	if !skip {
		if skip, err = parseBool(api.EnvVaultSkipVerify); err != nil {
			return nil, err
		}
	}
	t := &api.TLSConfig{
		CACert:        first(opts.CACert, getenv(api.EnvVaultCACert)),
		CAPath:        first(opts.CAPath, getenv(api.EnvVaultCAPath)),
		ClientCert:    first(opts.ClientCert, getenv(api.EnvVaultClientCert)),
		ClientKey:     first(opts.ClientKey, getenv(api.EnvVaultClientKey)),
		TLSServerName: first(opts.TLSServerName, getenv(api.EnvVaultTLSServerName)),
		Insecure:      skip,
	}
	if t.CACert == "" {
		if b := getenv(api.EnvVaultCACertBytes); b != "" {
			t.CACertBytes = []byte(b)
		}
	}
	if err := cfg.ConfigureTLS(t); err != nil {
		return nil, fmt.Errorf("%w: TLS settings for Vault at %s: %v (check ca_cert/VAULT_CACERT, ca_path/VAULT_CAPATH, client_cert and client_key)", secrets.ErrInvalidConfig, redactURL(addr), err)
	}
	return cfg, nil
}

// parseRateLimit reads VAULT_RATE_LIMIT, "rate" or "rate:burst" in
// requests per second, as the Vault client does.
func parseRateLimit(v string) (float64, int, error) {
	r, b, found := strings.Cut(v, ":")
	rps, err := strconv.ParseFloat(r, 64)
	burst := int(rps)
	if err == nil && found {
		burst, err = strconv.Atoi(b)
	}
	if err != nil || rps <= 0 || burst < 1 {
		return 0, 0, fmt.Errorf("%w: %s=%q: give requests per second and optionally a burst, e.g. 50 or 50:100", secrets.ErrInvalidConfig, api.EnvRateLimit, v)
	}
	return rps, burst, nil
}
