package vault

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// lookupDelay is how long a store opened with a token waits before it asks
// Vault how long the token lives: a command that ends sooner never pays
// for the request.
const lookupDelay = time.Second

// login authenticates and starts keeping the token alive in the
// background.
func (c *conn) login(ctx context.Context) error {
	l, err := c.auth.login(ctx, c)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.stopRenew, c.renewDone = make(chan struct{}), make(chan struct{})
	stop, done := c.stopRenew, c.renewDone
	c.mu.Unlock()
	go c.keepAlive(l, !c.auth.relogin(), stop, done)
	return nil
}

// keepAlive renews the token at two thirds of its lifetime, and logs in
// again (AppRole) when it cannot be renewed for its full lifetime any more
// (its max TTL is near), until stop is closed. With lookup set (a token
// given by the user) it first asks Vault how long the token lives.
func (c *conn) keepAlive(l lease, lookup bool, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	// Requests in flight end when the store is closed.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	go func() {
		select {
		case <-stop:
			cancelBase()
		case <-base.Done():
		}
	}()
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-stop:
			return false
		case <-t.C:
			return true
		}
	}
	if lookup {
		if !sleep(lookupDelay) {
			return
		}
		ctx, cancel := context.WithTimeout(base, c.timeout)
		var sec *api.Secret
		err := c.do(ctx, func(cl *api.Client) (err error) {
			sec, err = cl.Auth().Token().LookupSelfWithContext(ctx)
			return err
		})
		cancel()
		if err != nil || sec == nil {
			return // the next request reports an invalid or expired token
		}
		ttl, _ := sec.TokenTTL()
		renewable, _ := sec.TokenIsRenewable()
		l = lease{ttl: ttl, renewable: renewable}
		// Renewals ask for the lifetime the token was created with, not
		// what is left of it.
		if created := time.Duration(jsonInt(sec.Data["creation_ttl"])) * time.Second; created > ttl {
			l.want = created
		}
	}
	want := max(l.want, l.ttl)
	for l.ttl > 0 {
		if !sleep(l.ttl * 2 / 3) {
			return
		}
		ctx, cancel := context.WithTimeout(base, max(l.ttl/3, time.Second))
		next, err := c.refresh(ctx, l, want)
		cancel()
		if base.Err() != nil {
			return
		}
		if err != nil {
			c.warnOnce("renew", fmt.Sprintf("the Vault token (from %s) could not be renewed and expires in about %v: %v", c.source(), (l.ttl/3).Round(time.Second), err))
			l.ttl /= 3 // try again before it expires
			if l.ttl < time.Second {
				return
			}
			continue
		}
		l = next
	}
}

// refresh renews the token for want, or logs in again when it cannot be
// renewed for that long and the auth method can log in again. A token
// that cannot be renewed nor replaced gives a zero lease (nothing more to
// do).
func (c *conn) refresh(ctx context.Context, l lease, want time.Duration) (lease, error) {
	if l.renewable {
		var sec *api.Secret
		err := c.do(ctx, func(cl *api.Client) (err error) {
			sec, err = cl.Auth().Token().RenewSelfWithContext(ctx, int(want.Seconds()))
			return err
		})
		switch {
		case err == nil && sec != nil && sec.Auth != nil:
			got := time.Duration(sec.Auth.LeaseDuration) * time.Second
			if got >= want || !c.auth.relogin() {
				return lease{ttl: got, renewable: sec.Auth.Renewable}, nil
			}
			// Capped by the token's max TTL: a fresh login follows.
		case !c.auth.relogin():
			return l, c.classify(ctx, err, "renew the token", "auth/token/renew-self", `capability "update"`)
		}
	}
	if !c.auth.relogin() {
		return lease{}, nil
	}
	return c.auth.login(ctx, c)
}

// Close stops the renewal and revokes the token obtained by an AppRole
// login. It never revokes a token the user supplied. (The store returned
// by Open calls it once.)
func (c *conn) Close() error {
	c.mu.Lock()
	stop, done := c.stopRenew, c.renewDone
	c.stopRenew = nil
	c.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	c.mu.Lock()
	own := c.ownToken
	c.ownToken = false
	c.mu.Unlock()
	if !own {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cl := c.clients[c.cur.Load()]
	err := cl.Auth().Token().RevokeSelfWithContext(ctx, "")
	for _, cl := range c.clients {
		cl.ClearToken()
	}
	if err != nil {
		return c.classify(ctx, err, "revoke the AppRole login token", "auth/token/revoke-self", `capability "update"`)
	}
	return nil
}

// detectVersion asks Vault which KV version the mount is, as `vault kv`
// does.
func (c *conn) detectVersion(ctx context.Context) (int, error) {
	p := "sys/internal/ui/mounts/" + c.mount
	var sec *api.Secret
	err := c.do(ctx, func(cl *api.Client) (err error) {
		sec, err = cl.Logical().ReadWithContext(ctx, p)
		return err
	})
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) && re.StatusCode == 403 && ctx.Err() == nil {
			// Either the mount is missing or not visible to the token, or
			// the token itself is invalid: ask Vault about the token.
			lerr := c.do(ctx, func(cl *api.Client) error {
				_, err := cl.Auth().Token().LookupSelfWithContext(ctx)
				return err
			})
			if lerr != nil {
				if cerr := c.classify(ctx, lerr, "look up the token", "auth/token/lookup-self", `capability "read"`); errors.Is(cerr, secrets.ErrAuth) || errors.Is(cerr, secrets.ErrUnavailable) || ctx.Err() != nil {
					return 0, cerr
				}
			}
			return 0, fmt.Errorf("%w: no KV mount %q is visible at Vault %s: it does not exist, or the token (from %s) may use no path under it. Enable one with `vault secrets enable -path=%s kv-v2`, have an administrator grant access, or fix the mount option",
				secrets.ErrInvalidConfig, c.mount, c.addr(), c.source(), c.mount)
		}
		return 0, c.classify(ctx, err, "find the KV version of mount "+c.mount, p, `capability "read"`)
	}
	if sec == nil || sec.Data == nil {
		return 1, nil // a Vault too old to have the endpoint has only KV v1
	}
	typ, _ := sec.Data["type"].(string)
	if mp, _ := sec.Data["path"].(string); mp != "" && strings.Trim(mp, "/") != c.mount {
		return 0, fmt.Errorf("%w: mount %q is a path inside the %s mount %q at Vault %s; set mount: %s and put the rest of the path in prefix",
			secrets.ErrInvalidConfig, c.mount, typ, strings.Trim(mp, "/"), c.addr(), strings.Trim(mp, "/"))
	}
	if typ != "kv" && typ != "generic" {
		return 0, fmt.Errorf("%w: mount %q at Vault %s is a %q secrets engine, not KV; point the mount option at a KV mount or enable one with `vault secrets enable -path=<path> kv-v2`",
			secrets.ErrInvalidConfig, c.mount, c.addr(), typ)
	}
	if opts, ok := sec.Data["options"].(map[string]any); ok {
		if v, _ := opts["version"].(string); v == "2" {
			return 2, nil
		}
	}
	return 1, nil
}
