package main

import (
	"context"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/internal/plugin/plugintest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestServeEnvCoversWhatTheBackendReads opens the vault backend in ways
// that read its environment (token and AppRole auth, with and without a
// server answering) and checks that every variable it asked
// secrets.Env for is declared in serveEnv: dstack-secrets sends only
// those to this program.
func TestServeEnvCoversWhatTheBackendReads(t *testing.T) {
	scope := secrets.Scope{Project: "p", Repository: "github.com/org/repo"}
	base := secrets.Env{HomeDir: t.TempDir(), Timeout: 200 * time.Millisecond, Getenv: func(k string) string {
		if k == "VAULT_TOKEN" {
			return "t"
		}
		return ""
	}}
	plugintest.CheckServeEnv(t, "vault", serveEnv, base, func(env secrets.Env) {
		for _, opts := range []secrets.Options{
			{"address": "http://127.0.0.1:1"},
			{"address": "http://127.0.0.1:1", "kv_version": 2},
			{"address": "http://127.0.0.1:1", "auth": "approle"},
			{},
		} {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			s, err := registry().Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "vault", Options: opts, Env: env})
			if err == nil {
				_, _ = s.List(ctx)
				_ = secrets.Close(s)
			}
			cancel()
		}
	})
}
