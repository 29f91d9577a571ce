package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// TestServeEnvCoversWhatTheBackendReads opens the keyring backend's
// keychains in ways that read its environment and checks that every
// variable it asked secrets.Env for is declared in serveEnv:
// dstack-secrets sends only those to this program.
func TestServeEnvCoversWhatTheBackendReads(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]bool{}
	env := secrets.Env{HomeDir: t.TempDir(), Getenv: func(k string) string {
		mu.Lock()
		asked[k] = true
		mu.Unlock()
		return ""
	}}
	scope := secrets.Scope{Project: "p", Repository: "github.com/org/repo"}
	for _, kc := range []string{"file", "pass", "secret-service", "keyctl"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := registry().Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "keyring", Options: secrets.Options{"keychains": []any{kc}, "timeout": "2s"}, Env: env})
		if err == nil {
			_ = s.Set(ctx, "K", "v") // the file keychain asks for its password
			_ = secrets.Close(s)
		}
		cancel()
	}
	if len(asked) < 3 {
		t.Fatalf("the backend asked for %d variables: the test did not reach it", len(asked))
	}
	for k := range asked {
		if !slices.Contains(serveEnv, k) {
			t.Errorf("the keyring backend reads %s, which serveEnv does not declare: dstack-secrets would not send it", k)
		}
	}
}
