package vault_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// recordingProxy forwards to a Vault server and records the headers of
// every request. The free Vault server has no namespaces, so the proxy
// drops X-Vault-Namespace after recording it.
type recordingProxy struct {
	addr    string
	mu      sync.Mutex
	headers []http.Header
}

func newRecordingProxy(t *testing.T, target string) *recordingProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.headers = append(p.headers, r.Header.Clone())
		p.mu.Unlock()
		r.Header.Del(api.NamespaceHeaderName)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.addr = srv.URL
	return p
}

// values returns the values of header h in the recorded requests.
func (p *recordingProxy) values(h string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, hs := range p.headers {
		out = append(out, hs.Get(h))
	}
	return out
}

func allEqual(vals []string, want string) bool {
	for _, v := range vals {
		if v != want {
			return false
		}
	}
	return len(vals) > 0
}

// TestNamespace: the namespace option, else VAULT_NAMESPACE of the
// injected environment, is sent with every request; the process's own
// VAULT_NAMESPACE is not.
func TestNamespace(t *testing.T) {
	srv := sharedServer(t)
	t.Setenv("VAULT_NAMESPACE", "from-the-process")
	for _, tc := range []struct {
		name   string
		option string
		envNS  string
		want   string
	}{
		{"option", "team-a", "ignored", "team-a"},
		{"VAULT_NAMESPACE", "", "team-b", "team-b"},
		{"none", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newRecordingProxy(t, srv.addr)
			e := env(t, "VAULT_ADDR", p.addr, "VAULT_TOKEN", srv.token, "VAULT_NAMESPACE", tc.envNS)
			st := srv.open(t, vault.Options{Namespace: tc.option, Env: e}, scope)
			if err := st.Set(ctx(t), "K", "v"); err != nil {
				t.Fatal(err)
			}
			if got := p.values(api.NamespaceHeaderName); !allEqual(got, tc.want) {
				t.Fatalf("X-Vault-Namespace of the requests: %q, want %q on each", got, tc.want)
			}
		})
	}
}

// TestClientVariablesFromInjectedEnv: VAULT_HEADERS, VAULT_RATE_LIMIT and
// VAULT_TOKEN are read from the injected environment, never from the
// process's.
func TestClientVariablesFromInjectedEnv(t *testing.T) {
	srv := sharedServer(t)
	t.Setenv("VAULT_HEADERS", `{"X-From-Process": "1"}`)
	t.Setenv("VAULT_TOKEN", "hvs.from-the-process")
	t.Setenv("VAULT_RATE_LIMIT", "0.5:1")
	p := newRecordingProxy(t, srv.addr)
	e := env(t, "VAULT_ADDR", p.addr, "VAULT_TOKEN", srv.token, "VAULT_HEADERS", `{"X-Team": "ml"}`)
	st := srv.open(t, vault.Options{Env: e}, scope)
	start := time.Now()
	for range 5 {
		if err := st.Set(ctx(t), "K", "v"); err != nil {
			t.Fatalf("with the injected token: %v", err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the process's VAULT_RATE_LIMIT (0.5/s) seems to apply: 5 writes took %v", took)
	}
	if got := p.values("X-Team"); !allEqual(got, "ml") {
		t.Errorf("X-Team from the injected VAULT_HEADERS: %q", got)
	}
	if got := p.values("X-From-Process"); !allEqual(got, "") {
		t.Errorf("the process's VAULT_HEADERS leaked into the requests: %q", got)
	}
	// The injected rate limit applies: 6 requests at 5 per second with a
	// burst of 1 take at least a second.
	e = env(t, "VAULT_ADDR", srv.addr, "VAULT_TOKEN", srv.token, "VAULT_RATE_LIMIT", "5:1")
	st = srv.open(t, vault.Options{KVVersion: 2, Env: e}, scope)
	start = time.Now()
	for range 6 {
		if _, err := st.Get(ctx(t), "K"); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("VAULT_RATE_LIMIT=5:1 of the injected environment was ignored: 6 reads took %v", took)
	}
	for _, bad := range []struct{ name, value string }{
		{"VAULT_HEADERS", `{"X-Vault-Token": "x"}`},
		{"VAULT_HEADERS", `not json`},
		{"VAULT_RATE_LIMIT", "fast"},
		{"VAULT_SRV_LOOKUP", "maybe"},
	} {
		_, err := vault.Open(ctx(t), scope, vault.Options{Env: env(t, "VAULT_ADDR", srv.addr, "VAULT_TOKEN", srv.token, bad.name, bad.value)})
		if !errors.Is(err, secrets.ErrInvalidConfig) || !strings.Contains(err.Error(), bad.name) {
			t.Errorf("%s=%q: got %v, want secrets.ErrInvalidConfig naming it", bad.name, bad.value, err)
		}
	}
	// No token in the injected environment: the process's is not used.
	_, err := vault.Open(ctx(t), scope, vault.Options{Env: env(t, "VAULT_ADDR", srv.addr)})
	if !errors.Is(err, secrets.ErrAuth) {
		t.Fatalf("without VAULT_TOKEN in the injected environment: %v", err)
	}
}
