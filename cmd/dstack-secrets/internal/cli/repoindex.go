package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The repository index remembers which identities each working tree has
// had, so that after its origin remote changes (a rename, a fork, another
// host) the secrets stored under the previous identity are found without
// guessing. It lives beside the default configuration, in
// ~/.dstack/secrets-repos.json (0600, in a 0700 directory), and holds
// paths and repository identities only. It is written only when a working
// tree shows an identity it has not had before, and is bounded: the last
// indexIdentities identities of each of the indexTrees working trees
// changed most recently. A damaged index is ignored with a warning and
// rewritten by the next change.

const (
	repoIndexFile   = "secrets-repos.json"
	indexVersion    = 1
	indexTrees      = 256
	indexIdentities = 8
	indexMaxSize    = 4 << 20
)

// repoIndex is the index file's content.
type repoIndex struct {
	Version   int                   `json:"version"`
	WorkTrees map[string]*indexTree `json:"worktrees"`
}

// indexTree is what the index knows of one working tree.
type indexTree struct {
	// Identities are the identities the tree had, oldest first.
	Identities []string `json:"identities"`
	// Updated is when an identity was last added.
	Updated time.Time `json:"updated"`
}

// indexPath is where the index lives.
func (a *app) indexPath() (string, error) {
	home, err := a.env.Home()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".dstack", repoIndexFile), nil
}

// index returns the index at path, read once per invocation: remember and
// the hint of the same command both look at it, and only remember changes
// it (in memory and on disk alike).
func (a *app) index(path string) *repoIndex {
	if a.repoIndex == nil || a.repoIndexPath != path {
		a.repoIndex, a.repoIndexPath = a.loadIndex(path), path
	}
	return a.repoIndex
}

// loadIndex reads the index; a missing one is empty, and a damaged one is
// empty after a warning.
func (a *app) loadIndex(path string) *repoIndex {
	empty := &repoIndex{Version: indexVersion, WorkTrees: map[string]*indexTree{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return empty
	}
	if err != nil {
		a.warnIndex(path, err.Error())
		return empty
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, indexMaxSize+1))
	if err != nil {
		a.warnIndex(path, err.Error())
		return empty
	}
	if len(data) > indexMaxSize {
		a.warnIndex(path, fmt.Sprintf("larger than %d bytes", indexMaxSize))
		return empty
	}
	idx, why := parseIndex(data)
	if idx == nil {
		a.warnIndex(path, why)
		return empty
	}
	return idx
}

// parseIndex decodes an index document, or says why it is not one. It
// decodes into generic values and checks their shape by hand: a first
// decoding into the structs costs encoding/json's reflection set-up, which
// every command that opens a store would pay (about 0.1 ms, half of what
// "list" on an empty store costs beyond a Go program that does nothing).
// Trees without a value are dropped.
func parseIndex(data []byte) (*repoIndex, string) {
	var doc any
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, "not valid JSON"
	}
	const wrong = "not an index of this version"
	top, ok := doc.(map[string]any)
	if !ok || top["version"] != float64(indexVersion) {
		return nil, wrong
	}
	trees, ok := top["worktrees"].(map[string]any)
	if !ok {
		return nil, wrong
	}
	idx := &repoIndex{Version: indexVersion, WorkTrees: make(map[string]*indexTree, len(trees))}
	for tree, v := range trees {
		if v == nil {
			continue
		}
		fields, ok := v.(map[string]any)
		if !ok {
			return nil, wrong
		}
		t := &indexTree{}
		switch ids := fields["identities"].(type) {
		case nil:
		case []any:
			for _, id := range ids {
				s, ok := id.(string)
				if !ok {
					return nil, wrong
				}
				t.Identities = append(t.Identities, s)
			}
		default:
			return nil, wrong
		}
		switch u := fields["updated"].(type) {
		case nil:
		case string:
			var err error
			if t.Updated, err = time.Parse(time.RFC3339Nano, u); err != nil {
				return nil, wrong
			}
		default:
			return nil, wrong
		}
		idx.WorkTrees[tree] = t
	}
	return idx, ""
}

func (a *app) warnIndex(path, why string) {
	fmt.Fprintf(a.Stderr, "dstack-secrets: warning: ignoring the repository index %s (%s); it is rewritten when a working tree gets a new identity\n", secrets.Printable(path), why)
}

// rememberWorkTree records the identity of the working tree that contains
// the working directory, as Resolve detected it, when the repository was
// not named by --repo or $DSTACK_SECRETS_REPO and this is not shell
// completion.
func (a *app) rememberWorkTree(detected secrets.RepositoryInfo) {
	if a.completing || a.repoArgument() != "" {
		return
	}
	a.remember(detected)
}

// remember records that the working tree of info has info.Identity, when
// the index does not know it yet. Failures only cost a hint later, so they
// are warnings.
func (a *app) remember(info secrets.RepositoryInfo) {
	if info.WorkTree == "" || info.Identity == "" {
		return
	}
	path, err := a.indexPath()
	if err != nil {
		return
	}
	idx := a.index(path)
	t := idx.WorkTrees[info.WorkTree]
	if t != nil && slices.Contains(t.Identities, info.Identity) {
		return
	}
	if t == nil {
		t = &indexTree{}
		idx.WorkTrees[info.WorkTree] = t
	}
	t.Identities = append(t.Identities, info.Identity)
	if len(t.Identities) > indexIdentities {
		t.Identities = t.Identities[len(t.Identities)-indexIdentities:]
	}
	t.Updated = time.Now().UTC()
	if len(idx.WorkTrees) > indexTrees {
		trees := make([]string, 0, len(idx.WorkTrees))
		for tree := range idx.WorkTrees {
			trees = append(trees, tree)
		}
		sort.Slice(trees, func(i, j int) bool {
			return idx.WorkTrees[trees[i]].Updated.After(idx.WorkTrees[trees[j]].Updated)
		})
		for _, tree := range trees[indexTrees:] {
			delete(idx.WorkTrees, tree)
		}
	}
	if err := writeIndex(path, idx); err != nil {
		fmt.Fprintf(a.Stderr, "dstack-secrets: warning: cannot update the repository index: %s\n", secrets.PrintableText(err.Error()))
	}
}

// recorded returns the identities the index knows for the working tree,
// most recent first.
func (a *app) recorded(workTree string) []string {
	path, err := a.indexPath()
	if err != nil || workTree == "" {
		return nil
	}
	t := a.index(path).WorkTrees[workTree]
	if t == nil {
		return nil
	}
	ids := slices.Clone(t.Identities)
	slices.Reverse(ids)
	return ids
}

// writeIndex replaces the index file in one step.
func writeIndex(path string, idx *repoIndex) error {
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+repoIndexFile+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
