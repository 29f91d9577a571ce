package keyring_test

import (
	"context"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/keyring"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestFilePasswordPromptedUnderTheCallsContext: the file keychain asks
// for its password at its first write and read, after Open returned; the
// prompt gets the context of that call, which is live (it used to get
// Open's, ended by then, and failed with "context canceled").
func TestFilePasswordPromptedUnderTheCallsContext(t *testing.T) {
	type key struct{}
	asked := 0
	env := secrets.Env{Getenv: func(string) string { return "" }, HomeDir: t.TempDir(), Prompt: func(ctx context.Context, _ string) (string, error) {
		asked++
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if ctx.Value(key{}) != "call" {
			t.Errorf("the prompt did not get the context of the call")
		}
		return "typed password", nil
	}}
	ctx := context.WithValue(context.Background(), key{}, "call")
	openCtx, cancel := context.WithCancel(ctx)
	s, err := keyring.Open(openCtx, secrets.Scope{Project: "p", Repository: "github.com/org/repo"}, keyring.Options{Keychains: []string{keyring.File}, FileDir: t.TempDir(), Env: env})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer secrets.Close(s)
	if err := s.Set(ctx, "K", "v"); err != nil {
		t.Fatalf("Set with a prompted password: %v", err)
	}
	if v, err := s.Get(ctx, "K"); err != nil || v != "v" {
		t.Fatalf("Get with a prompted password: %v (mismatch: %v)", err, v != "v")
	}
	if asked == 0 {
		t.Errorf("the password was not asked for")
	}
}
