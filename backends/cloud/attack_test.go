package cloud

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// team sets up a project in a fresh bucket of srv: alice created it (first
// write) and added bob; mallory can write to the bucket but holds no member
// key.
type team struct {
	alice, bob, mallory Options
	aliceID, malloryID  *localIdentity
	raw                 *project // bucket access as mallory has it
	projectID           string
}

const secretValue = "the-real-database-password"

func newTeam(t *testing.T, srv cloudtest.Server) *team {
	t.Helper()
	base := newBucket(t, srv)
	tm := &team{alice: person(t, base), bob: person(t, base), mallory: person(t, base)}
	tm.aliceID, tm.malloryID = identityT(t, tm.alice), identityT(t, tm.mallory)
	mustSet(t, openT(t, testScope, tm.alice), "DB_PASSWORD", secretValue)
	bobKey := identityT(t, tm.bob).member.Key
	rep, err := ShareAdd(ctxT(t), testScope.Project, bobKey, "bob", tm.alice)
	if err != nil {
		t.Fatal(err)
	}
	tm.projectID = rep.ProjectID
	tm.bob.ProjectID = rep.ProjectID
	tm.raw = projectT(t, tm.mallory)
	return tm
}

// checkRefused reads and writes as who and expects both to fail with an
// error wrapping want; the planted value never comes back.
func checkRefused(t *testing.T, who string, opts Options, want error, planted string) {
	t.Helper()
	s := openT(t, testScope, opts)
	v, err := s.Get(ctxT(t), "DB_PASSWORD")
	if err == nil {
		if v == planted {
			t.Fatalf("%s trusted a value planted by a non-member", who)
		}
	}
	werr := s.Set(ctxT(t), "NEW_SECRET", "written after the attack")
	for _, e := range []error{err, werr} {
		if e != nil && !errors.Is(e, want) {
			t.Errorf("%s: got %v, want an error wrapping %v", who, e, want)
		}
		checkNoValue(t, e, secretValue, planted)
	}
	if err == nil && werr == nil {
		t.Errorf("%s: the attack went unnoticed", who)
	}
}

// TestAttackPlantRecipient: someone with write access to the bucket but no
// member key tries to become a recipient, so that members encrypt the
// next writes to them. Every variant is refused, and no document is ever
// encrypted to the attacker.
func TestAttackPlantRecipient(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv cloudtest.Server) {
		t.Run("NewChain", func(t *testing.T) {
			// A member list of the attacker's own, listing the members
			// and the attacker, replaces the real one.
			tm := newTeam(t, srv)
			real, ver := rawMembers(t, tm.raw)
			// (Longer than the real one, so that it would win if
			// continuity were not checked.)
			members := append(real.current(), tm.malloryID.member)
			var forgedChain *chain
			for range real.epoch() + 1 {
				f, err := newStatement(testScope.Project, forgedChain, members, tm.malloryID)
				if err != nil {
					t.Fatal(err)
				}
				if forgedChain, err = verifyChain(testScope.Project, f); err != nil {
					t.Fatal(err)
				}
			}
			rawPut(t, tm.raw, membersKey(testScope.Project), mustJSON(t, forgedChain.file), ver)
			checkWrites(t, tm, "alice", tm.alice)
			checkWrites(t, tm, "bob", tm.bob)
			// A newcomer without project_id is not fooled either.
			carol := person(t, tm.alice)
			_, err := ShareList(ctxT(t), testScope.Project, carol)
			if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "project_id") {
				t.Errorf("a newcomer accepted an unpinned member list: %v", err)
			}
		})
		t.Run("ExtendChain", func(t *testing.T) {
			// The attacker appends a statement adding themselves, signed
			// with their own key.
			tm := newTeam(t, srv)
			real, ver := rawMembers(t, tm.raw)
			forged, err := newStatement(testScope.Project, real, append(real.current(), tm.malloryID.member), tm.malloryID)
			if err != nil {
				t.Fatal(err)
			}
			rawPut(t, tm.raw, membersKey(testScope.Project), mustJSON(t, forged), ver)
			checkWrites(t, tm, "alice", tm.alice)
			_, err = ShareList(ctxT(t), testScope.Project, tm.bob)
			if !errors.Is(err, secrets.ErrCorrupt) || !strings.Contains(err.Error(), "not a member") {
				t.Errorf("ShareList accepted a statement signed by a non-member: %v", err)
			}
		})
		t.Run("EmbeddedChain", func(t *testing.T) {
			// The attacker swaps the member list embedded in the
			// repository's document for one that lists them.
			tm := newTeam(t, srv)
			key := repoKey(testScope)
			data, ver := rawGet(t, tm.raw, key)
			d, err := parseDoc(data, key)
			if err != nil {
				t.Fatal(err)
			}
			real, err := verifyChain(testScope.Project, d.env.Members)
			if err != nil {
				t.Fatal(err)
			}
			forged, err := newStatement(testScope.Project, real, append(real.current(), tm.malloryID.member), tm.malloryID)
			if err != nil {
				t.Fatal(err)
			}
			d.env.Members = forged
			rawPut(t, tm.raw, key, marshalT(t, d), ver)
			checkRefused(t, "alice", tm.alice, secrets.ErrCorrupt, "")
			checkRefused(t, "bob", tm.bob, secrets.ErrCorrupt, "")
			checkNotEncryptedTo(t, tm)
		})
		t.Run("Rollback", func(t *testing.T) {
			// After bob is removed, the attacker puts back the older,
			// genuinely signed member list that still lists bob.
			tm := newTeam(t, srv)
			old, _ := rawGet(t, tm.raw, membersKey(testScope.Project))
			if _, err := ShareRemove(ctxT(t), testScope.Project, identityT(t, tm.bob).member.Fingerprint, tm.alice); err != nil {
				t.Fatal(err)
			}
			_, ver := rawGet(t, tm.raw, membersKey(testScope.Project))
			rawPut(t, tm.raw, membersKey(testScope.Project), old, ver)
			mustSet(t, openT(t, testScope, tm.alice), "AFTER_ROLLBACK", "v")
			data, _ := rawGet(t, tm.raw, repoKey(testScope))
			d, err := parseDoc(data, "")
			if err != nil {
				t.Fatal(err)
			}
			bobFP := identityT(t, tm.bob).member.Fingerprint
			if slices.ContainsFunc(d.body.Recipients, func(r string) bool { return strings.HasPrefix(r, bobFP) }) {
				t.Fatal("after the rollback, a write was encrypted to the removed member")
			}
			// The write also put the current member list back.
			c, _ := rawMembers(t, tm.raw)
			if _, ok := c.find(bobFP); ok {
				t.Error("the rolled-back member list was left in place")
			}
		})
	})
}

// checkWrites checks that who still writes with the genuine member list
// (the pinned one), so that nothing gets encrypted to the attacker.
func checkWrites(t *testing.T, tm *team, who string, opts Options) {
	t.Helper()
	s := openT(t, testScope, opts)
	err := s.Set(ctxT(t), "AFTER_ATTACK_"+strings.ToUpper(who), "v")
	if err != nil && !errors.Is(err, secrets.ErrAuth) && !errors.Is(err, secrets.ErrCorrupt) {
		t.Errorf("%s: unexpected error: %v", who, err)
	}
	checkNotEncryptedTo(t, tm)
}

// checkNotEncryptedTo fails when the repository's document lists the
// attacker as a recipient.
func checkNotEncryptedTo(t *testing.T, tm *team) {
	t.Helper()
	data, _ := rawGet(t, tm.raw, repoKey(testScope))
	d, err := parseDoc(data, "")
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(d.body.Recipients, func(r string) bool { return strings.HasPrefix(r, tm.malloryID.member.Fingerprint) }) {
		t.Fatal("a member encrypted the secrets to the attacker")
	}
	if _, err := d.openRecipients(tm.malloryID, testScope.Repository, ""); err == nil {
		t.Fatal("the attacker can decrypt the document")
	}
}

// TestAttackPlantValues: someone with write access to the bucket but no
// member key writes values that members would then run with. age lets
// anyone encrypt to the members' public keys, so the signature is what
// stops it.
func TestAttackPlantValues(t *testing.T) {
	const planted = "https://attacker.example/exfiltrate"
	forEachServer(t, func(t *testing.T, srv cloudtest.Server) {
		t.Run("SignedByNonMember", func(t *testing.T) {
			tm := newTeam(t, srv)
			key := repoKey(testScope)
			data, ver := rawGet(t, tm.raw, key)
			d, err := parseDoc(data, key)
			if err != nil {
				t.Fatal(err)
			}
			c, err := verifyChain(testScope.Project, d.env.Members)
			if err != nil {
				t.Fatal(err)
			}
			content := newDocument(testScope.Repository, map[string]string{"DB_PASSWORD": planted})
			forged, err := sealRecipients(testScope, d.body.Seq+1, c, tm.malloryID, content)
			if err != nil {
				t.Fatal(err)
			}
			rawPut(t, tm.raw, key, forged, ver)
			checkRefused(t, "alice", tm.alice, secrets.ErrAuth, planted)
			checkRefused(t, "bob", tm.bob, secrets.ErrAuth, planted)
			if _, err := secrets.GetAll(ctxT(t), openT(t, testScope, tm.alice)); err == nil || !strings.Contains(err.Error(), "not a member") {
				t.Errorf("GetAll: want a not-a-member error, got %v", err)
			}
		})
		t.Run("AlteredPayload", func(t *testing.T) {
			// A member's signature kept over a changed body.
			tm := newTeam(t, srv)
			key := repoKey(testScope)
			data, ver := rawGet(t, tm.raw, key)
			d, _ := parseDoc(data, key)
			c, _ := verifyChain(testScope.Project, d.env.Members)
			content := newDocument(testScope.Repository, map[string]string{"DB_PASSWORD": planted})
			other, err := sealRecipients(testScope, d.body.Seq+1, c, tm.malloryID, content)
			if err != nil {
				t.Fatal(err)
			}
			od, _ := parseDoc(other, key)
			od.body.Signer = d.body.Signer
			od.env.Body = mustJSON(t, od.body)
			od.env.Sig = d.env.Sig
			rawPut(t, tm.raw, key, marshalT(t, od), ver)
			checkRefused(t, "alice", tm.alice, secrets.ErrAuth, planted)
		})
		t.Run("CopiedFromAnotherRepository", func(t *testing.T) {
			// A genuine document of another repository (say, a test
			// repository with harmless values) moved over this one.
			tm := newTeam(t, srv)
			other := secrets.Scope{Project: testScope.Project, Repository: "github.com/org/sandbox"}
			mustSet(t, openT(t, other, tm.alice), "DB_PASSWORD", planted)
			data, _ := rawGet(t, tm.raw, repoKey(other))
			_, ver := rawGet(t, tm.raw, repoKey(testScope))
			rawPut(t, tm.raw, repoKey(testScope), data, ver)
			checkRefused(t, "alice", tm.alice, secrets.ErrCorrupt, planted)
		})
		t.Run("KMSMode", func(t *testing.T) {
			// In KMS mode a writer needs the KMS key: a document made
			// with another key, or moved from another repository, is
			// refused.
			vault := cloudtest.VaultServer(t)
			opts := newBucket(t, srv)
			opts.KMS, opts.Env = vault.TransitKey(t)
			mustSet(t, openT(t, testScope, opts), "DB_PASSWORD", secretValue)
			other := secrets.Scope{Project: testScope.Project, Repository: "github.com/org/sandbox"}
			mustSet(t, openT(t, other, opts), "DB_PASSWORD", planted)
			p := projectT(t, opts)
			moved, _ := rawGet(t, p, repoKey(other))
			_, ver := rawGet(t, p, repoKey(testScope))
			rawPut(t, p, repoKey(testScope), moved, ver)
			checkRefused(t, "the KMS user", opts, secrets.ErrCorrupt, planted)

			attacker := opts
			attacker.KMS, _ = vault.TransitKey(t) // a key of the attacker's
			mustSet(t, openT(t, secrets.Scope{Project: "evil", Repository: testScope.Repository}, attacker), "DB_PASSWORD", planted)
			pa := projectT(t, attacker)
			evil, _ := rawGet(t, pa, repoKey(secrets.Scope{Project: "evil", Repository: testScope.Repository}))
			d, _ := parseDoc(evil, "")
			d.body.Project = testScope.Project
			d.env.Body = mustJSON(t, d.body)
			_, ver = rawGet(t, p, repoKey(testScope))
			rawPut(t, p, repoKey(testScope), marshalT(t, d), ver)
			checkRefused(t, "the KMS user", opts, secrets.ErrAuth, planted)
		})
	})
}
