package vault_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
// tests against the dev server.
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
		wantReqs   int32
	}{
		{"429 then success", []int{429, 429, 200}, "", time.Minute, nil, 3},
		{"503 then success", []int{503, 200}, "", time.Minute, nil, 2},
		{"500 until retries run out", []int{500}, "", time.Minute, secrets.ErrUnavailable, 3},
		{"VAULT_MAX_RETRIES=0", []int{502}, "0", time.Minute, secrets.ErrUnavailable, 1},
		{"deadline shorter than a backoff", []int{503}, "", time.Second, secrets.ErrUnavailable, 1},
		{"400 is not retried", []int{400}, "", time.Minute, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, reqs := fakeVault(t, tc.statuses...)
			e := env(t, "VAULT_ADDR", addr, "VAULT_TOKEN", "t", "VAULT_MAX_RETRIES", tc.maxRetries)
			st, err := vault.Open(context.Background(), scope, vault.Options{KVVersion: 2, Env: e})
			if err != nil {
				t.Fatal(err)
			}
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
			case tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), "simulated failure")):
				t.Fatalf("got %v, want an error wrapping %v with Vault's message", err, tc.wantErr)
			}
			if got := reqs.Load(); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
		})
	}
}
