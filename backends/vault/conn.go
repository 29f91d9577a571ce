package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// conn is what the stores of both layouts share: one Vault client per node
// address, the credentials and their renewal, the KV mount, and the retry
// policy.
type conn struct {
	clients    []*api.Client
	addrs      []string
	cur        atomic.Int32 // the client tried first
	mount      string
	version    int // 1 or 2 once opened
	timeout    time.Duration
	maxRetries int // -1: retry until the deadline
	auth       authenticator
	env        secrets.Env
	warned     sync.Map

	mu          sync.Mutex // guards the fields below
	tokenSource string
	ownToken    bool
	stopRenew   chan struct{}
	renewDone   chan struct{}
}

// addr is the address of the node requests go to first, for messages.
func (c *conn) addr() string { return redactURL(c.addrs[c.cur.Load()]) }

// source describes where the current token came from, for messages.
func (c *conn) source() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenSource
}

// setToken makes every client use tok.
func (c *conn) setToken(tok string) {
	for _, cl := range c.clients {
		cl.SetToken(tok)
	}
}

// warnOnce passes a warning to the environment's Warn once per key and
// store.
func (c *conn) warnOnce(key, msg string) {
	if _, dup := c.warned.LoadOrStore(key, true); !dup {
		c.env.Warning(msg)
	}
}

// errCASConflict is what an attempt returns when another writer changed
// the entry between its read and its check-and-set write: do tries again
// after a short random wait.
var errCASConflict = errors.New("check-and-set conflict")

// Waits between attempts: failures of the server (connection errors, 5xx,
// sealed or standby nodes) back off from 100 ms to 2 s, lost
// check-and-set races from 5 ms to 250 ms, each with random jitter.
const (
	failureWait    = 100 * time.Millisecond
	failureMaxWait = 2 * time.Second
	conflictWait   = 5 * time.Millisecond
	conflictMax    = 250 * time.Millisecond
)

// slowNotice is how long do retries a failing Vault before it warns
// (through secrets.Env.Warn) that it keeps trying.
const slowNotice = time.Second

// shortCause describes a retryable failure in a few words.
func shortCause(err error) string {
	var re *api.ResponseError
	if errors.As(err, &re) {
		if msg := vaultMessages(re.Errors); msg != "" {
			return fmt.Sprintf("HTTP %d: %s", re.StatusCode, msg)
		}
		return fmt.Sprintf("HTTP %d", re.StatusCode)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// do runs attempt until it succeeds, fails with an error that retrying
// cannot fix, or the retry budget ends: the earlier of ctx's deadline and
// the store's timeout. Connection errors, 429 and 5xx answers (a sealed
// node, a standby without an active node during a leader election) are
// retried with exponential backoff and jitter; with several addresses the
// next node is tried first, each once before waiting. Lost check-and-set
// races (errCASConflict) are retried after a short random wait. attempt
// must be safe to repeat: every write re-reads the state it depends on.
// The error returned is attempt's last one, unclassified.
func (c *conn) do(ctx context.Context, attempt func(cl *api.Client) error) error {
	deadline := time.Now().Add(c.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	n := int32(len(c.clients))
	start := time.Now()
	failures, conflicts, sinceWait, tried := 0, 0, 0, 0
	for {
		i := c.cur.Load()
		err := attempt(c.clients[i])
		if err == nil || ctx.Err() != nil {
			return err
		}
		var wait time.Duration
		switch {
		case errors.Is(err, errCASConflict):
			// The server answers again: no more backoff for failures.
			failures, sinceWait = 0, 0
			conflicts++
			w := min(conflictWait<<min(conflicts-1, 8), conflictMax)
			wait = rand.N(w) + time.Millisecond
		case retryable(err):
			failures++
			conflicts = 0
			if tried++; c.maxRetries >= 0 && tried > c.maxRetries {
				return err
			}
			if n > 1 {
				c.cur.CompareAndSwap(i, (i+1)%n)
				if sinceWait++; sinceWait < int(n) {
					continue // every node once before waiting
				}
				sinceWait = 0
			}
			if time.Since(start) > slowNotice {
				c.warnOnce("retrying", fmt.Sprintf("Vault at %s does not answer (%s); retrying for up to %v (set --timeout or the timeout option to change that)",
					c.node(err), shortCause(err), time.Until(deadline).Round(time.Second)))
			}
			round := (failures - 1) / int(n)
			w := min(failureWait<<min(round, 8), failureMaxWait)
			wait = w/2 + rand.N(w/2+1)
		default:
			return err
		}
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryable reports whether err may go away by itself: a connection error
// (not a TLS or protocol mistake), 429, or a 5xx answer.
func retryable(err error) bool {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500
	}
	return connectionError(err)
}

// entry is one KV entry (or one version of it) as read.
type entry struct {
	data    map[string]any // the fields; nil when there is no live version
	version int            // KV v2: the version read; 0 when the path has no versions
	live    bool           // a version exists and is neither deleted nor destroyed
	created time.Time      // KV v2: when the version was written
}

// dataPath is the API path of p's data.
func (c *conn) dataPath(p string) string {
	if c.version == 2 {
		return c.mount + "/data/" + p
	}
	return c.mount + "/" + p
}

// metaPath is the KV v2 API path of p's metadata.
func (c *conn) metaPath(p string) string { return c.mount + "/metadata/" + p }

// kvBody is a KV read's answer: v2 nests the fields under data.data with
// the version's metadata; v1 has them under data.
type kvBody struct {
	Data map[string]any `json:"data"`
}

type kv2Body struct {
	Data struct {
		Data     map[string]any `json:"data"`
		Metadata struct {
			Version     int    `json:"version"`
			CreatedTime string `json:"created_time"`
		} `json:"metadata"`
	} `json:"data"`
}

// read reads p (version 0: the current version) with one request. The
// answer is decoded straight into the fields (numbers kept exact), which
// costs the client about half of the Vault client's generic decoding.
func (c *conn) read(ctx context.Context, cl *api.Client, p string, version int) (entry, error) {
	var params map[string][]string
	if version > 0 {
		params = map[string][]string{"version": {strconv.Itoa(version)}}
	}
	resp, err := cl.Logical().ReadRawWithDataWithContext(ctx, c.dataPath(p), params)
	if resp != nil {
		defer resp.Body.Close()
	}
	notFound := resp != nil && resp.StatusCode == http.StatusNotFound
	if err != nil && !notFound {
		return entry{}, err
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if c.version != 2 {
		var b kvBody
		if notFound || dec.Decode(&b) != nil || b.Data == nil {
			return entry{}, nil
		}
		return entry{data: b.Data, live: true}, nil
	}
	// A deleted or destroyed version reads as 404 with its metadata and
	// null data; a path without versions as 404 without a body.
	var b kv2Body
	if derr := dec.Decode(&b); derr != nil {
		if notFound {
			return entry{}, nil
		}
		return entry{}, fmt.Errorf("decoding Vault's answer for %s: %w", c.dataPath(p), derr)
	}
	e := entry{version: b.Data.Metadata.Version, created: jsonTime(b.Data.Metadata.CreatedTime)}
	if b.Data.Data != nil && !notFound {
		e.data, e.live = b.Data.Data, true
	}
	return e, nil
}

// write writes data to p, on KV v2 with check-and-set cas (the version the
// write replaces; 0 for none), and returns the new version. A lost race is
// errCASConflict.
func (c *conn) write(ctx context.Context, cl *api.Client, p string, data map[string]any, cas int) (int, error) {
	if c.version != 2 {
		_, err := cl.Logical().WriteWithContext(ctx, c.dataPath(p), data)
		return 0, err
	}
	body := map[string]any{"data": data, "options": map[string]any{"cas": cas}}
	sec, err := cl.Logical().WriteWithContext(ctx, c.dataPath(p), body)
	if isCASMismatch(err) {
		return 0, errCASConflict
	}
	if err != nil || sec == nil {
		return 0, err
	}
	return jsonInt(sec.Data["version"]), nil
}

// versionInfo is one version in KV v2 metadata.
type versionInfo struct {
	number  int
	created time.Time
	deleted bool // deleted (the deletion time has passed) or destroyed
}

// metadata reads p's KV v2 metadata: its versions, oldest first, and the
// current version number. found is false when p has none.
func (c *conn) metadata(ctx context.Context, cl *api.Client, p string) (versions []versionInfo, current int, found bool, err error) {
	sec, err := cl.Logical().ReadWithContext(ctx, c.metaPath(p))
	if err != nil || sec == nil || sec.Data == nil {
		return nil, 0, false, err
	}
	current = jsonInt(sec.Data["current_version"])
	vs, _ := sec.Data["versions"].(map[string]any)
	now := time.Now()
	for k, v := range vs {
		n, err := strconv.Atoi(k)
		if err != nil {
			continue
		}
		m, _ := v.(map[string]any)
		del := jsonTime(m["deletion_time"])
		destroyed, _ := m["destroyed"].(bool)
		versions = append(versions, versionInfo{number: n, created: jsonTime(m["created_time"]), deleted: destroyed || (!del.IsZero() && !del.After(now))})
	}
	slices.SortFunc(versions, func(a, b versionInfo) int { return a.number - b.number })
	return versions, current, true, nil
}

// jsonInt reads a number of a decoded Vault response.
func jsonInt(v any) int {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case float64:
		return int(n)
	case int:
		return n
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}

// jsonTime reads an RFC 3339 time of a decoded Vault response.
func jsonTime(v any) time.Time {
	s, _ := v.(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// copyFields returns a copy of m (never nil).
func copyFields(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
