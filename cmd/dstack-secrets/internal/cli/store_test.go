package cli

import (
	"context"

	"github.com/dstackai/dstack-secrets/backends"
	"github.com/dstackai/dstack-secrets/secrets"
)

// open opens the harness's default store through the library, the way
// another dstack tool would.
func (h *harness) open() secrets.Store {
	h.t.Helper()
	s, _, err := backends.Open(context.Background(), secrets.Target{
		Dir: h.repo,
		Env: secrets.Env{HomeDir: h.home, Getenv: func(k string) string { return h.vars[k] }},
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}
