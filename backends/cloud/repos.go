package cloud

import (
	"context"
	"fmt"
	"sync"

	"github.com/dstackai/dstack-secrets/secrets"
)

var _ secrets.RepositoryLister = (*Store)(nil)

// maxConcurrentReads bounds the objects Repositories reads at once.
const maxConcurrentReads = 8

// Repositories implements secrets.RepositoryLister. The project's
// repositories are its objects: one listing of PROJECT/repos/ and one of
// PROJECT/local/ (local-only repositories) find them, and each object is
// read as a read of its repository is (one GET, verified and decrypted;
// up to maxConcurrentReads at a time) for its number of secrets, which
// comes from the document's table of contents and index: no value is
// decoded (in objects of the first format, written before the document
// format, the plaintext is decoded whole, and no value leaves this
// method). A repository whose last secret was deleted keeps an empty
// object and is not listed. An object that does not verify or decrypt
// fails the listing with the error its own read gives.
func (s *Store) Repositories(ctx context.Context) (map[string]int, error) {
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	var keys []string
	for _, dir := range []string{s.name + "/repos/", s.name + "/local/"} {
		k, err := s.objs.list(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("listing the repositories of project %q: %w", s.name, err)
		}
		keys = append(keys, k...)
	}
	var (
		mu       sync.Mutex
		out      = map[string]int{}
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, maxConcurrentReads)
	)
	for _, key := range keys {
		repo, ok := repoFromKey(s.name, key)
		scope := secrets.Scope{Project: s.name, Repository: repo}
		if !ok || scope.Validate() != nil || repoKey(scope) != key {
			continue // not an object of a repository of this project
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			n, err := (&Store{project: s.project, scope: scope, key: key}).count(ctx)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && firstErr == nil:
				firstErr = err
				cancel()
			case err == nil && n > 0:
				out[repo] = n
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// count returns the number of secrets with valid names in the
// repository's object, decoding names only.
func (s *Store) count(ctx context.Context) (int, error) {
	cur, err := s.load(ctx, false)
	if err != nil {
		return 0, err
	}
	names, err := cur.content.List(s.scope.Repository)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.Location(), err)
	}
	n := 0
	for _, name := range names {
		if secrets.ValidateName(name) == nil {
			n++
		}
	}
	return n, nil
}
