package cloud

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/dstackai/dstack-secrets/secrets"
)

// pinStore keeps, on this machine, the longest member list of a project
// this client has verified and trusted (recipients mode). Later member
// lists must continue it: a list that was rolled back (to re-add a removed
// member) or replaced is refused. The pin of a project is one JSON file,
// 0600 in a 0700 directory; it holds public keys only.
type pinStore struct {
	path    string
	bucket  string
	project string
	mu      sync.Mutex // serialises save

	cacheMu  sync.Mutex
	cacheKey string // modification time and size of the file cached
	cache    *chain
}

// PinDir is the directory of the pins under ~/.dstack/secrets.
const PinDir = "cloud-pins"

type pinFile struct {
	Bucket  string      `json:"bucket"`
	Project string      `json:"project"`
	Members membersFile `json:"members"`
}

// newPinStore returns the pin of project in the bucket location bucketID
// (provider, bucket and prefix).
func newPinStore(opts *Options, bucketID, project string) (*pinStore, error) {
	home, err := opts.Env.Home()
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(bucketID + "\x00" + project))
	name := project + "-" + hex.EncodeToString(sum[:8]) + ".json"
	return &pinStore{path: filepath.Join(home, ".dstack", "secrets", PinDir, name), bucket: bucketID, project: project}, nil
}

// load returns the pinned chain, or nil when there is none.
// The verified chain is cached for as long as the file keeps its
// modification time and size.
func (p *pinStore) load() (*chain, error) {
	fi, err := os.Stat(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cloud backend: cannot read the member-list pin %s: %w", p.path, err)
	}
	key := fmt.Sprintf("%d/%d", fi.ModTime().UnixNano(), fi.Size())
	p.cacheMu.Lock()
	if p.cache != nil && p.cacheKey == key {
		c := p.cache
		p.cacheMu.Unlock()
		return c, nil
	}
	p.cacheMu.Unlock()
	data, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cloud backend: cannot read the member-list pin %s: %w", p.path, err)
	}
	var f pinFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%w: the member-list pin %s is damaged; delete it only if you know the member list in the bucket is genuine", secrets.ErrCorrupt, p.path)
	}
	c, err := verifyChain(p.project, &f.Members)
	if err != nil {
		return nil, fmt.Errorf("the member-list pin %s: %w", p.path, err)
	}
	p.cacheMu.Lock()
	p.cache, p.cacheKey = c, key
	p.cacheMu.Unlock()
	return c, nil
}

// save pins c unless the pin already holds a chain at least as long.
func (p *pinStore) save(c *chain) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old, err := p.load()
	if err == nil && old != nil && old.epoch() >= c.epoch() {
		return nil
	}
	data, err := json.MarshalIndent(pinFile{Bucket: p.bucket, Project: p.project, Members: c.file}, "", " ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(p.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cloud backend: cannot create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".pin.tmp-*")
	if err != nil {
		return fmt.Errorf("cloud backend: cannot write the member-list pin in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p.path)
	}
	if err != nil {
		return fmt.Errorf("cloud backend: cannot write the member-list pin %s: %w", p.path, err)
	}
	return nil
}
