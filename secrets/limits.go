package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// MaxSecrets is the most secrets one repository holds in a project. A
// write that would add secrets past it fails with an error wrapping
// ErrLimit before anything is written. Every command that reads a
// repository's secrets reads all of them (run, export), and every one
// becomes an environment variable of the command run starts.
const MaxSecrets = 10000

// MaxStoreSize is the most bytes of names and values one repository holds
// in a project (16 MiB). A write that would grow the repository past it
// fails with an error wrapping ErrLimit before anything is written.
const MaxStoreSize = 16 << 20

// sizeUntracked marks a capacity whose size is not checked (a backend
// without a bulk read, holding too many secrets to bound their size).
const sizeUntracked = -2

// capacity is what a store returned by Wrap knows of its scope's size, to
// check MaxSecrets and MaxStoreSize without listing the scope before every
// write: upper bounds from the last full check plus what was written since.
type capacity struct {
	mu    sync.Mutex
	known bool
	count int // at most this many secrets
	size  int // at most this many bytes of names and values, or sizeUntracked
}

// checkCapacity refuses a write of values that would grow the scope past
// MaxSecrets or MaxStoreSize. A write that does not grow an already too
// big scope (replacing a value with one no longer, in a store filled by
// another tool) is let through, so such a store can be mended.
//
// The first write of a store lists the scope (one List of the backend);
// later writes add what they write to the bounds this gave and list again
// only when a bound reaches a limit, so a program writing many secrets pays
// once. Writers in other processes are seen at that next List. The size is
// known without reading values while the scope is small enough that even
// values of MaxValueSize would fit (about 250 secrets); beyond that it is
// bounded by the backend's SizeBounder when it has one (the file backend:
// from its index, no value read) and that bound leaves room for the write;
// else it is read with the backend's own bulk read (the file backend's one
// decryption), and a backend without one (Vault, the keychains: one read
// per secret) is bounded by MaxSecrets only.
func (c *checked) checkCapacity(ctx context.Context, values map[string]string) error {
	if c.info.CapacityChecked {
		return nil
	}
	added := 0
	for n, v := range values {
		added += len(n) + len(v)
	}
	c.capacity.mu.Lock()
	defer c.capacity.mu.Unlock()
	cp := &c.capacity
	maxSecrets := c.maxSecrets()
	if cp.known && cp.count+len(values) <= maxSecrets && (cp.size == sizeUntracked || cp.size+added <= MaxStoreSize) {
		cp.count += len(values)
		if cp.size != sizeUntracked {
			cp.size += added
		}
		return nil
	}
	cp.known = false
	names, err := c.d.List(ctx)
	if err != nil {
		return err
	}
	names = cleanNames(names)
	before, after := len(names), len(names)
	for n := range values {
		if _, ok := slices.BinarySearch(names, n); !ok {
			after++
		}
	}
	if after > maxSecrets && after > before {
		return fmt.Errorf("%w: %s holds %s, and %d more would exceed the limit of %d secrets per repository; nothing was written. Delete secrets nobody uses, split them across projects, or raise the project's max_secrets", ErrLimit, c.where(""), secretCount(before), after-before, maxSecrets)
	}
	tooBig := func(size int) error {
		return fmt.Errorf("%w: the secrets of %s would take %s of names and values, more than the limit of %s per repository; nothing was written. Delete secrets nobody uses, keep big files elsewhere, or split the secrets across projects", ErrLimit, c.where(""), byteSize(size), byteSize(MaxStoreSize))
	}
	if added > MaxStoreSize {
		return tooBig(added)
	}
	size := added // an upper bound first: every other value as big as allowed
	for _, n := range names {
		if _, replaced := values[n]; !replaced {
			size += len(n) + MaxValueSize
		}
	}
	if size > MaxStoreSize {
		size = sizeUntracked
		// A bound of the backend's (the file backend's from its index)
		// that leaves room for the write saves reading every value.
		if sb, ok := c.d.(SizeBounder); ok {
			if bound, err := sb.SizeBound(ctx); err == nil && bound >= 0 && bound <= MaxStoreSize-added {
				size = bound + added
			}
		}
	}
	if size == sizeUntracked {
		if b, ok := c.d.(BulkGetter); ok {
			all, err := b.GetAll(ctx)
			switch {
			case errors.Is(err, errors.ErrUnsupported):
			case err != nil:
				return err
			default:
				sizeBefore, sizeAfter := 0, added
				for n, v := range all {
					sizeBefore += len(n) + len(v)
					if _, replaced := values[n]; !replaced {
						sizeAfter += len(n) + len(v)
					}
				}
				if sizeAfter > MaxStoreSize && sizeAfter > sizeBefore {
					return tooBig(sizeAfter)
				}
				size = sizeAfter
			}
		}
	}
	cp.known, cp.count, cp.size = true, after, size
	return nil
}

// secretCount writes "1 secret" or "N secrets".
func secretCount(n int) string {
	if n == 1 {
		return "1 secret"
	}
	return fmt.Sprintf("%d secrets", n)
}

// byteSize writes n bytes for people: "912 bytes", "3.4 KiB", "16.0 MiB".
func byteSize(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// maxSecrets is the store's cap on secrets per repository: Info.MaxSecrets
// (the project's max_secrets), else MaxSecrets.
func (c *checked) maxSecrets() int {
	c.allowMu.Lock()
	defer c.allowMu.Unlock()
	if c.info.MaxSecrets > 0 {
		return c.info.MaxSecrets
	}
	return MaxSecrets
}
