package secrets_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// versioned is a mem store that keeps every value it was given.
type versioned struct {
	*mem
	history map[string][]string // "" marks a deletion
	off     bool                // answer errors.ErrUnsupported, as Vault KV v1 does
}

func newVersioned() *versioned { return &versioned{mem: newMem(), history: map[string][]string{}} }

func (v *versioned) Set(ctx context.Context, name, value string) error {
	v.history[name] = append(v.history[name], value)
	return v.mem.Set(ctx, name, value)
}

func (v *versioned) Versions(_ context.Context, name string) ([]secrets.Version, error) {
	if v.off {
		return nil, fmt.Errorf("mount kv is KV version 1: %w", errors.ErrUnsupported)
	}
	h := v.history[name]
	if len(h) == 0 {
		return nil, secrets.ErrNotFound
	}
	out := make([]secrets.Version, len(h))
	for i, val := range h {
		out[i] = secrets.Version{Number: i + 1, Time: time.Unix(int64(i), 0), Deleted: val == "", Current: i == len(h)-1}
	}
	return out, nil
}

func (v *versioned) GetVersion(_ context.Context, name string, n int) (string, error) {
	if v.off {
		return "", errors.ErrUnsupported
	}
	h := v.history[name]
	if n > len(h) || h[n-1] == "" {
		return "", secrets.ErrNotFound
	}
	return h[n-1], nil
}

func TestHistoryForwarded(t *testing.T) {
	ctx := context.Background()
	v := newVersioned()
	s := secrets.Wrap(v, secrets.Info{Backend: "versioned", Scope: memScope})
	for _, val := range []string{"one", "two", "three"} {
		if err := s.Set(ctx, "K", val); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := secrets.Versions(ctx, s, "K")
	if err != nil || len(vs) != 3 || !vs[2].Current || vs[0].Number != 1 {
		t.Fatalf("Versions: %+v, %v", vs, err)
	}
	if got, err := secrets.GetVersion(ctx, s, "K", 2); err != nil || got != "two" {
		t.Fatalf("GetVersion 2: mismatch or %v", err)
	}
	_, err = secrets.GetVersion(ctx, s, "K", 7)
	if !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), "version 7") || !strings.Contains(err.Error(), memScope.Repository) {
		t.Fatalf("GetVersion of a missing version: %v", err)
	}
	if _, err := secrets.Versions(ctx, s, "NONE"); !errors.Is(err, secrets.ErrNotFound) || !strings.Contains(err.Error(), `"NONE"`) {
		t.Fatalf("Versions of a missing secret: %v", err)
	}
	// The shared checks apply before the backend is asked.
	if _, err := secrets.Versions(ctx, s, "bad name"); !errors.Is(err, secrets.ErrInvalidName) {
		t.Fatalf("Versions of an invalid name: %v", err)
	}
	if _, err := secrets.GetVersion(ctx, s, "K", 0); err == nil || !strings.Contains(err.Error(), "numbered from 1") {
		t.Fatalf("GetVersion 0: %v", err)
	}
	secrets.Close(s)
	if _, err := secrets.Versions(ctx, s, "K"); !errors.Is(err, secrets.ErrClosed) {
		t.Fatalf("Versions after Close: %v", err)
	}
}

func TestHistoryUnsupported(t *testing.T) {
	ctx := context.Background()
	plain := secrets.Wrap(newMem(), secrets.Info{Backend: "mem", Scope: memScope})
	off := newVersioned()
	off.off = true
	partial := secrets.Wrap(off, secrets.Info{Backend: "vault", Scope: memScope})
	for _, tc := range []struct {
		s       secrets.Store
		backend string
		reason  string
	}{{plain, "mem", "keeps only the current value"}, {partial, "vault", "KV version 1"}} {
		_, err := secrets.Versions(ctx, tc.s, "K")
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "not supported by backend "+tc.backend) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("Versions on %s: %v", tc.backend, err)
		}
		_, err = secrets.GetVersion(ctx, tc.s, "K", 1)
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "not supported by backend "+tc.backend) {
			t.Errorf("GetVersion on %s: %v", tc.backend, err)
		}
	}
	// A store used without Wrap gets the same answers.
	if _, err := secrets.Versions(ctx, newMem(), "K"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Versions on an unwrapped store: %v", err)
	}
}
