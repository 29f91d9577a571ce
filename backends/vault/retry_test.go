package vault_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/backends/vault"
	"github.com/dstackai/dstack-secrets/secrets"
)

// fakeVault answers every request with the statuses in order (the last one
// repeating) and Vault's error body; it counts the requests. A real Vault
// cannot be made to fail this way on demand, so this fake supplements the
// tests against the dev server (and the Raft cluster of the reliability
// suite).
func fakeVault(t *testing.T, statuses ...int) (addr string, requests *atomic.Int32) {
	requests = &atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(requests.Add(1)) - 1
		status := statuses[min(n, len(statuses)-1)]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		switch status {
		case http.StatusOK:
			w.Write([]byte(`{"data":{"data":{"value":"v"},"metadata":{"version":1}}}`))
		default:
			w.Write([]byte(`{"errors":["simulated failure ` + http.StatusText(status) + `"]}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, requests
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []int
		maxRetries string
		deadline   time.Duration
		wantErr    error
		minReqs    int32
		maxReqs    int32
	}{
		{"429 then success", []int{429, 429, 200}, "", time.Minute, nil, 3, 3},
		{"503 then success", []int{503, 200}, "", time.Minute, nil, 2, 2},
		{"sealed (503) then success", []int{503, 503, 503, 200}, "", time.Minute, nil, 4, 4},
		{"500 until the deadline", []int{500}, "", 2 * time.Second, secrets.ErrUnavailable, 4, 20},
		{"VAULT_MAX_RETRIES=2", []int{500}, "2", time.Minute, secrets.ErrUnavailable, 3, 3},
		{"VAULT_MAX_RETRIES=0", []int{502}, "0", time.Minute, secrets.ErrUnavailable, 1, 1},
		{"deadline shorter than a backoff", []int{503}, "", 120 * time.Millisecond, secrets.ErrUnavailable, 1, 2},
		{"400 is not retried", []int{400}, "", time.Minute, nil, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, reqs := fakeVault(t, tc.statuses...)
			e := env(t, "VAULT_ADDR", addr, "VAULT_TOKEN", "t", "VAULT_MAX_RETRIES", tc.maxRetries)
			st, err := vault.Open(context.Background(), scope, vault.Options{KVVersion: 2, Env: e})
			if err != nil {
				t.Fatal(err)
			}
			defer secrets.Close(st)
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			_, err = st.Get(ctx, "K")
			if ctx.Err() != nil {
				t.Fatalf("Get returned only after the caller's %v deadline: %v", tc.deadline, err)
			}
			switch {
			case tc.statuses[len(tc.statuses)-1] == 400:
				if err == nil || !strings.Contains(err.Error(), "HTTP 400") || strings.Contains(err.Error(), "{") {
					t.Fatalf("got %v, want an error naming HTTP 400 without raw JSON", err)
				}
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Get: %v", err)
			case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "simulated failure") || !strings.Contains(err.Error(), addr)):
				t.Fatalf("got %v, want an error wrapping %v with Vault's message, naming %s", err, tc.wantErr, addr)
			}
			if got := reqs.Load(); got < tc.minReqs || got > tc.maxReqs {
				t.Errorf("%d requests, want %d to %d", got, tc.minReqs, tc.maxReqs)
			}
		})
	}
}

// TestTimeoutOption: without a deadline on the context, the timeout option
// (or secrets.Env.Timeout, which the CLI's --timeout sets, and which wins)
// bounds the retries.
func TestTimeoutOption(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  time.Duration
		env  time.Duration
		want time.Duration
	}{{"option", time.Second, 0, time.Second}, {"env wins", time.Minute, 1500 * time.Millisecond, 1500 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := fakeVault(t, 503)
			e := env(t, "VAULT_ADDR", addr, "VAULT_TOKEN", "t")
			e.Timeout = tc.env
			st, err := vault.Open(context.Background(), scope, vault.Options{KVVersion: 2, Timeout: tc.opt, Env: e})
			if err != nil {
				t.Fatal(err)
			}
			defer secrets.Close(st)
			start := time.Now()
			_, err = st.Get(context.Background(), "K")
			took := time.Since(start)
			if !errors.Is(err, secrets.ErrUnavailable) || took > tc.want+time.Second || took < tc.want/3 {
				t.Fatalf("Get against a failing server took %v (want about %v): %v", took, tc.want, err)
			}
		})
	}
}

// deadAddr is an address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	return addr
}

// TestAddresses: with several node addresses, a dead first node is skipped
// (and remembered); when all fail the error names the node that failed.
func TestAddresses(t *testing.T) {
	srv := sharedServer(t)
	dead := deadAddr(t)
	e := env(t, "VAULT_TOKEN", srv.token)
	st, err := vault.Open(ctx(t), scope, vault.Options{Addresses: []string{dead, srv.addr}, Prefix: "addresses/" + randomHex(6), Env: e})
	if err != nil {
		t.Fatalf("Open with a dead first node: %v", err)
	}
	defer secrets.Close(st)
	if err := st.Set(ctx(t), "K", "v"); err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get(ctx(t), "K"); err != nil || v != "v" {
		t.Fatalf("Get: %v", err)
	}
	if _, err := vault.Open(ctx(t), scope, vault.Options{Address: srv.addr, Addresses: []string{srv.addr}, Env: e}); !errors.Is(err, secrets.ErrInvalidConfig) {
		t.Fatalf("address and addresses both set: %v", err)
	}
	dead2 := deadAddr(t)
	st2, err := vault.Open(context.Background(), scope, vault.Options{Addresses: []string{dead, dead2}, KVVersion: 2, Env: e})
	if err != nil {
		t.Fatalf("Open with kv_version set makes no request: %v", err)
	}
	defer secrets.Close(st2)
	_, err = st2.Get(shortCtx(t, 2*time.Second), "K")
	if !errors.Is(err, secrets.ErrUnavailable) || (!strings.Contains(err.Error(), dead) && !strings.Contains(err.Error(), dead2)) {
		t.Fatalf("every node dead: got %v, want secrets.ErrUnavailable naming a node", err)
	}
}

// TestRedirectNamesTheFailedNode: a standby that redirects (307) to an
// active node that is gone: the error names that node, not the standby.
func TestRedirectNamesTheFailedNode(t *testing.T) {
	active := deadAddr(t)
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, active+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer standby.Close()
	st, err := vault.Open(context.Background(), scope, vault.Options{KVVersion: 2, Timeout: time.Second, Env: env(t, "VAULT_ADDR", standby.URL, "VAULT_TOKEN", "t")})
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(st)
	_, err = st.Get(context.Background(), "K")
	if !errors.Is(err, secrets.ErrUnavailable) || !strings.Contains(err.Error(), active) {
		t.Fatalf("got %v, want secrets.ErrUnavailable naming the active node %s", err, active)
	}
	t.Logf("through a standby to a dead active node: %v", err)
}

// lossyProxy forwards to a real Vault and, for the first write of a
// secret, lets Vault apply it but answers 502 instead of Vault's answer,
// as a node that dies after committing would.
func lossyProxy(t *testing.T, target string) (string, *atomic.Int32) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	var lost atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		r := resp.Request
		if (r.Method == http.MethodPut || r.Method == http.MethodPost) && strings.Contains(r.URL.Path, "/data/") && lost.Add(1) == 1 {
			return errors.New("answer lost")
		}
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) }
	p := httptest.NewServer(rp)
	t.Cleanup(p.Close)
	return p.URL, &lost
}

// TestRetriedWriteIsNotAppliedTwice: a create whose answer was lost is
// retried and finds its own value: success, not "already exists", and one
// version only. The same for the bundle layout.
func TestRetriedWriteIsNotAppliedTwice(t *testing.T) {
	srv := sharedServer(t)
	for _, layout := range []string{vault.LayoutEntry, vault.LayoutBundle} {
		t.Run(layout, func(t *testing.T) {
			addr, lost := lossyProxy(t, srv.addr)
			prefix := "lossy/" + randomHex(6)
			st := srv.open(t, vault.Options{Address: addr, Prefix: prefix, Layout: layout, Env: env(t, "VAULT_TOKEN", srv.token)}, scope)
			if err := secrets.Create(ctx(t), st, "ONCE", "mine"); err != nil {
				t.Fatalf("Create whose first answer was lost: %v", err)
			}
			if lost.Load() < 1 {
				t.Fatalf("the proxy saw %d writes: the test did not lose an answer", lost.Load())
			}
			vs, err := secrets.Versions(ctx(t), st, "ONCE")
			if err != nil || len(vs) != 1 {
				t.Fatalf("versions after a retried create: %d, %v (want 1)", len(vs), err)
			}
			if v, err := st.Get(ctx(t), "ONCE"); err != nil || v != "mine" {
				t.Fatalf("Get: %v", err)
			}
		})
	}
}
