package cloud

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The member list of a project (recipients mode) is a chain of signed
// statements, kept in the object <prefix>/<project>/members.json and
// embedded in every document of the project. Statement 1 (the genesis) is
// signed by the project's first member; each later statement by a member of
// the statement before it who can write. The hash of the genesis is the
// project ID, which members pin (option project_id, or the local pin that a
// client keeps of the longest chain it has verified), so that someone who
// can write to the bucket but holds no member key can neither start a chain
// of their own nor extend this one.

const (
	membersFormat  = "dstack-secrets/cloud-members/v1"
	purposeMembers = "members"
	maxChainLength = 10000
)

// membersFile is the member list object.
type membersFile struct {
	Format string            `json:"format"`
	Chain  []signedStatement `json:"chain"`
}

type signedStatement struct {
	Body []byte `json:"body"`
	Sig  []byte `json:"sig"`
}

// statement is one version of the member list.
type statement struct {
	Project string         `json:"project"`
	Epoch   int            `json:"epoch"`
	Prev    string         `json:"prev,omitempty"`
	Nonce   string         `json:"nonce,omitempty"`
	Members []memberRecord `json:"members"`
	By      string         `json:"by"`
	Time    string         `json:"time"`
}

type memberRecord struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
}

// chain is a member list whose signatures have been verified (it may still
// be untrusted: see trustChain).
type chain struct {
	file    membersFile
	stmts   []statement
	hashes  []string
	members [][]Member
}

func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// id is the project ID: the hash of the genesis statement.
func (c *chain) id() string { return c.hashes[0] }

// head is the hash of the newest statement.
func (c *chain) head() string { return c.hashes[len(c.hashes)-1] }

// epoch is the number of the newest statement.
func (c *chain) epoch() int { return len(c.stmts) }

// current is the member list now.
func (c *chain) current() []Member { return c.members[len(c.members)-1] }

// founder is the member who signed the genesis.
func (c *chain) founder() string { return c.stmts[0].By }

// find returns the current member with fingerprint fp.
func (c *chain) find(fp string) (Member, bool) {
	for _, m := range c.current() {
		if m.Fingerprint == fp {
			return m, true
		}
	}
	return Member{}, false
}

// upTo returns the chain as it was when its head was the statement with
// hash head, or nil when no statement of c has that hash.
func (c *chain) upTo(head string) *chain {
	for i, h := range c.hashes {
		if h == head {
			return &chain{
				file:    membersFile{Format: c.file.Format, Chain: c.file.Chain[:i+1]},
				stmts:   c.stmts[:i+1],
				hashes:  c.hashes[:i+1],
				members: c.members[:i+1],
			}
		}
	}
	return nil
}

// isPrefixOf reports whether c's statements are the first statements of d.
func (c *chain) isPrefixOf(d *chain) bool {
	if len(c.hashes) > len(d.hashes) {
		return false
	}
	for i, h := range c.hashes {
		if d.hashes[i] != h {
			return false
		}
	}
	return true
}

// chainCache remembers the last chains verified, so that reading the same
// member list again (it is embedded in every document) costs a comparison
// of bytes instead of a signature check per statement.
type chainCache struct {
	mu     sync.Mutex
	chains []*chain
}

const chainCacheSize = 4

// verify is verifyChain, answered from the cache when f is byte for byte a
// chain verified before.
func (cc *chainCache) verify(project string, f *membersFile) (*chain, error) {
	cc.mu.Lock()
	for _, c := range cc.chains {
		if sameChain(&c.file, f) {
			cc.mu.Unlock()
			return c, nil
		}
	}
	cc.mu.Unlock()
	c, err := verifyChain(project, f)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	cc.chains = append([]*chain{c}, cc.chains[:min(len(cc.chains), chainCacheSize-1)]...)
	cc.mu.Unlock()
	return c, nil
}

func sameChain(a, b *membersFile) bool {
	if a.Format != b.Format || len(a.Chain) != len(b.Chain) {
		return false
	}
	for i := range a.Chain {
		if !bytes.Equal(a.Chain[i].Body, b.Chain[i].Body) || !bytes.Equal(a.Chain[i].Sig, b.Chain[i].Sig) {
			return false
		}
	}
	return true
}

// verifyChain checks the structure and every signature of f, a member list
// of project.
func verifyChain(project string, f *membersFile) (*chain, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: the member list of project %q is not valid: %s", secrets.ErrCorrupt, project, fmt.Sprintf(format, args...))
	}
	if f.Format != membersFormat {
		return nil, bad("unknown format %q", f.Format)
	}
	if len(f.Chain) == 0 || len(f.Chain) > maxChainLength {
		return nil, bad("it has %d statements", len(f.Chain))
	}
	c := &chain{file: *f}
	for i, ss := range f.Chain {
		var st statement
		if err := json.Unmarshal(ss.Body, &st); err != nil {
			return nil, bad("statement %d does not decode", i+1)
		}
		if st.Project != project {
			return nil, bad("statement %d belongs to project %q", i+1, st.Project)
		}
		if st.Epoch != i+1 {
			return nil, bad("statement %d says it is number %d", i+1, st.Epoch)
		}
		if (i == 0 && st.Prev != "") || (i > 0 && st.Prev != c.hashes[i-1]) {
			return nil, bad("statement %d does not follow statement %d", i+1, i)
		}
		members, err := parseRecords(st.Members)
		if err != nil {
			return nil, bad("statement %d: %v", i+1, err)
		}
		// Who may sign: a writer of the previous list, or, for the
		// genesis, a writer of its own list.
		signers := members
		if i > 0 {
			signers = c.members[i-1]
		}
		var by *Member
		for j := range signers {
			if signers[j].Fingerprint == st.By && signers[j].CanWrite {
				by = &signers[j]
			}
		}
		if by == nil {
			return nil, bad("statement %d is signed by %s, who was not a member allowed to change the list; someone with write access to the bucket may have planted it", i+1, st.By)
		}
		if err := by.verifySig(purposeMembers, ss.Body, ss.Sig); err != nil {
			return nil, bad("the signature of statement %d by %s does not verify; the list was altered", i+1, by)
		}
		c.stmts = append(c.stmts, st)
		c.hashes = append(c.hashes, bodyHash(ss.Body))
		c.members = append(c.members, members)
	}
	return c, nil
}

func parseRecords(recs []memberRecord) ([]Member, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("no members")
	}
	seen := map[string]bool{}
	writers := 0
	out := make([]Member, 0, len(recs))
	for _, r := range recs {
		m, err := ParseMemberKey(r.Key)
		if err != nil {
			return nil, err
		}
		m.Name = r.Name
		if seen[m.Fingerprint] {
			return nil, fmt.Errorf("member %s is listed twice", m.Fingerprint)
		}
		seen[m.Fingerprint] = true
		if m.CanWrite {
			writers++
		}
		out = append(out, m)
	}
	if writers == 0 {
		return nil, fmt.Errorf("no member can write")
	}
	return out, nil
}

// newStatement signs the member list that follows prev (nil: a genesis)
// with members.
func newStatement(project string, prev *chain, members []Member, me *localIdentity) (*membersFile, error) {
	st := statement{Project: project, By: me.member.Fingerprint, Time: time.Now().UTC().Format(time.RFC3339)}
	f := &membersFile{Format: membersFormat}
	if prev == nil {
		nonce := make([]byte, 16)
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		st.Epoch, st.Nonce = 1, hex.EncodeToString(nonce)
	} else {
		st.Epoch, st.Prev = prev.epoch()+1, prev.head()
		f.Chain = append(f.Chain, prev.file.Chain...)
	}
	for _, m := range members {
		st.Members = append(st.Members, memberRecord{Key: m.Key, Name: m.Name})
	}
	body, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	sig, err := me.signFor(purposeMembers, body)
	if err != nil {
		return nil, err
	}
	f.Chain = append(f.Chain, signedStatement{Body: body, Sig: sig})
	return f, nil
}

// trustChain decides whether candidate, a verified member list read from
// the bucket, can be trusted, given the chain trusted so far (the local pin
// or a chain already accepted in this operation; nil when there is none),
// the configured project ID and this identity's fingerprint. It returns the
// longer of the two, which is the member list to use.
//
// A candidate is trusted when it agrees with what was trusted before (one
// is a prefix of the other: nothing was rolled back or replaced), when its
// project ID is the configured one, or, with neither, when its genesis was
// signed by this identity (the first writer of a project trusts its own
// signature).
func trustChain(project, where string, candidate, trusted *chain, projectID, me string) (*chain, error) {
	if candidate == nil {
		return trusted, nil
	}
	if projectID != "" && candidate.id() != projectID {
		return nil, fmt.Errorf("%w: the member list of project %q at %s has project ID %s, but project_id in the configuration is %s: the list was replaced (by someone with write access to the bucket?) or project_id is wrong; it is not trusted", secrets.ErrAuth, project, where, candidate.id(), projectID)
	}
	if trusted != nil {
		if !trusted.isPrefixOf(candidate) && !candidate.isPrefixOf(trusted) {
			return nil, fmt.Errorf("%w: the member list of project %q at %s (version %d) does not continue the one this client trusted before (version %d, project ID %s): it was replaced or rolled back; it is not trusted (restore the previous version of the object, or ask a member)", secrets.ErrAuth, project, where, candidate.epoch(), trusted.epoch(), trusted.id())
		}
		if trusted.epoch() >= candidate.epoch() {
			return trusted, nil
		}
		return candidate, nil
	}
	if projectID == "" && candidate.founder() != me {
		return nil, fmt.Errorf("%w: the member list of project %q at %s (project ID %s, created by %s) is not pinned on this machine: ask a member for the project ID and add `project_id: <ID>` to the options of project %q (only after a member confirms it: someone with write access to the bucket could have planted this list)", secrets.ErrAuth, project, where, candidate.id(), candidate.founder(), project)
	}
	return candidate, nil
}
