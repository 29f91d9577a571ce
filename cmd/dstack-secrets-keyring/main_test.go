package main

import (
	"context"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/internal/plugin/plugintest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestServeEnvCoversWhatTheBackendReads opens the keyring backend's
// keychains in ways that read its environment and checks that every
// variable it asked secrets.Env for is declared in serveEnv:
// dstack-secrets sends only those to this program.
func TestServeEnvCoversWhatTheBackendReads(t *testing.T) {
	scope := secrets.Scope{Project: "p", Repository: "github.com/org/repo"}
	plugintest.CheckServeEnv(t, "keyring", serveEnv, secrets.Env{HomeDir: t.TempDir()}, func(env secrets.Env) {
		for _, kc := range []string{"file", "pass", "secret-service", "keyctl"} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s, err := registry().Open(ctx, secrets.OpenRequest{Scope: scope, Backend: "keyring", Options: secrets.Options{"keychains": []any{kc}, "timeout": "2s"}, Env: env})
			if err == nil {
				_ = s.Set(ctx, "K", "v") // the file keychain asks for its password
				_ = secrets.Close(s)
			}
			cancel()
		}
	})
}
