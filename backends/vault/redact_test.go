package vault

import (
	"context"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:pass@vault:8200":                              "http://***@vault:8200",
		"https://hvs.TOKEN@vault/v1/x?y=1":                         "https://***@vault/v1/x?y=1",
		"https://vault.example.com:8200":                           "https://vault.example.com:8200",
		"https://vault/v1/secret/a@b":                              "https://vault/v1/secret/a@b",
		`parse "http://u:p@127.0.0.1:bad": invalid port ":bad"`:    `parse "http://***@127.0.0.1:bad": invalid port ":bad"`,
		"proxyconnect http://a:b@p:3128 for https://c:d@v:8200/v1": "proxyconnect http://***@p:3128 for https://***@v:8200/v1",
		"no URL here: user:pass@host":                              "no URL here: user:pass@host",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAddressCredentialsRedacted: credentials in the address or the proxy
// URL appear in no message (connection errors, parse errors, locations).
func TestAddressCredentialsRedacted(t *testing.T) {
	const pw = "s3cr3t-pw"
	scope := secrets.Scope{Project: "p", Repository: "github.com/org/repo"}
	env := func(vars map[string]string) secrets.Env {
		return secrets.Env{Getenv: func(k string) string { return vars[k] }, HomeDir: t.TempDir()}
	}
	ctx := context.Background()
	for name, opts := range map[string]Options{
		"address, server down": {Address: "http://user:" + pw + "@127.0.0.1:1", Token: "t", KVVersion: 2, Env: env(nil)},
		"address, bad port":    {Address: "http://user:" + pw + "@127.0.0.1:bad", Token: "t", KVVersion: 2, Env: env(nil)},
		"proxy, bad port":      {Address: "http://127.0.0.1:1", Token: "t", KVVersion: 2, Env: env(map[string]string{"VAULT_PROXY_ADDR": "http://p:" + pw + "@127.0.0.1:bad"})},
	} {
		s, err := Open(ctx, scope, opts)
		if err == nil {
			if _, err = s.Get(ctx, "A"); err == nil {
				t.Fatalf("%s: no error", name)
			}
			if loc := secrets.Unwrap(s).(secrets.Locator).Locate("A"); strings.Contains(loc, pw) {
				t.Errorf("%s: Locate holds the password: %s", name, loc)
			}
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error holds the password: %v", name, err)
		}
	}
}
