package vault

import (
	"context"
	"strings"
	"sync"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Listing the repositories of a project.
//
// In the entry layout (one KV entry per secret, under
// <mount>/<prefix>/<project>/<repository>/<NAME>) a repository is a folder
// that holds names: Repositories LISTs the project's folder and every
// folder below it, and each folder with at least one entry (a key without
// a trailing '/') is a repository, whose identity is the folder's path
// below the project (_local/<path> for /<path>). A repository can hold
// another one below it (github.com/org/app and github.com/org/app/sub):
// both are found. The cost is one LIST per folder, at most
// MaxConcurrentReads in flight.
//
// A layout that keeps one entry per repository (a "bundle" whose fields
// are the secrets) would list the same way with one difference: each
// entry, rather than each folder of entries, is one repository, and its
// number of fields the count, so the LISTs find the entries and one read
// of each gives the count.

var _ secrets.RepositoryLister = (*store)(nil)

// maxRepositoryDepth bounds how many folders deep below the project
// Repositories looks: an identity of MaxRepositoryLength bytes has at most
// that many segments of two bytes.
const maxRepositoryDepth = secrets.MaxRepositoryLength / 2

// Repositories implements secrets.RepositoryLister.
func (s *store) Repositories(ctx context.Context) (map[string]int, error) {
	repo, err := repoPath(s.scope.Repository)
	if err != nil {
		return nil, err
	}
	project := strings.TrimSuffix(s.base, "/"+repo) // <prefix>/<project>
	listBase := s.mount + "/" + project
	if s.version == 2 {
		listBase = s.mount + "/metadata/" + project
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		out      = map[string]int{}
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, MaxConcurrentReads)
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	var visit func(rel string, depth int)
	visit = func(rel string, depth int) {
		defer wg.Done()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			fail(ctx.Err())
			return
		}
		p := listBase + "/" + rel
		var sec *api.Secret
		err := s.do(ctx, func(cl *api.Client) (err error) {
			sec, err = cl.Logical().ListWithContext(ctx, strings.TrimSuffix(p, "/"))
			return err
		})
		<-sem
		if err != nil {
			fail(s.classify(ctx, err, "list the repositories of project "+s.scope.Project, p, `capability "list"`))
			return
		}
		if sec == nil || sec.Data == nil {
			return
		}
		keys, _ := sec.Data["keys"].([]any)
		names := 0
		for _, k := range keys {
			key, ok := k.(string)
			switch {
			case !ok:
			case strings.HasSuffix(key, "/"):
				if depth < maxRepositoryDepth && cleanSegment(strings.TrimSuffix(key, "/")) {
					wg.Add(1)
					go visit(rel+key, depth+1)
				}
			case secrets.ValidateName(key) == nil:
				names++
			}
		}
		if names > 0 && rel != "" {
			mu.Lock()
			out[identityOf(strings.TrimSuffix(rel, "/"))] += names
			mu.Unlock()
		}
	}
	wg.Add(1)
	visit("", 0)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// cleanSegment reports whether a folder name can be a segment of a
// repository path.
func cleanSegment(seg string) bool {
	return seg != "" && seg != "." && seg != ".." && !strings.ContainsAny(seg, "/\x00")
}

// identityOf reverses repoPath: the identity of the repository kept in the
// folder at path rel below the project.
func identityOf(rel string) string {
	local, ok := strings.CutPrefix(rel, localRepoSegment+"/")
	if !ok {
		return rel
	}
	if len(local) >= 3 && local[1] == ':' && local[2] == '/' {
		return local // a Windows path such as C:/Users/me/app
	}
	return "/" + local
}
