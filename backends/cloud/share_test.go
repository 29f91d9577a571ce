package cloud

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// sshKeyFile writes a fresh SSH private key (ed25519 or rsa) with its .pub
// beside it, 0600, and returns the options that use it as identity_file.
func sshKeyFile(t *testing.T, base Options, kind, passphrase string) Options {
	t.Helper()
	var priv any
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	}
	var block *pem.Block
	var err error
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, kind+"@test", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(priv, kind+"@test")
	}
	if err != nil {
		t.Fatal(err)
	}
	o := person(t, base)
	dir := filepath.Join(o.Env.HomeDir, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_"+kind)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + kind + "@test\n"
	if err := os.WriteFile(path+".pub", []byte(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	o.IdentityFile = "~/.ssh/id_" + kind
	return o
}

// TestShare: the first writer is the first member; members added with an
// age member key, an SSH ed25519 key and an SSH RSA key read and write;
// a removed member reads nothing new and cannot write, and the report
// names what they could read.
func TestShare(t *testing.T) {
	forEachServer(t, func(t *testing.T, srv cloudtest.Server) {
		base := newBucket(t, srv)
		alice := person(t, base)
		bob := person(t, base)
		carol := sshKeyFile(t, base, "ed25519", "")
		dave := sshKeyFile(t, base, "rsa", "")
		other := secrets.Scope{Project: testScope.Project, Repository: "/home/alice/local-only repo"}

		if _, err := ShareList(ctxT(t), testScope.Project, alice); !errors.Is(err, secrets.ErrNotFound) {
			t.Fatalf("ShareList of a project without members: %v", err)
		}
		mustSet(t, openT(t, testScope, alice), "DB_PASSWORD", "pw")
		mustSet(t, openT(t, other, alice), "LOCAL_TOKEN", "tok")
		list, err := ShareList(ctxT(t), testScope.Project, alice)
		if err != nil {
			t.Fatal(err)
		}
		aliceID := identityT(t, alice).member
		if len(list.Members) != 1 || list.Members[0].Fingerprint != aliceID.Fingerprint || list.Version != 1 {
			t.Fatalf("after the first write, members = %v (version %d), want alice alone", list.Members, list.Version)
		}

		// Not a member yet: bob cannot read.
		_, err = openT(t, testScope, bob).Get(ctxT(t), "DB_PASSWORD")
		if !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), "project_id") {
			t.Fatalf("bob before being added: %v", err)
		}
		for _, who := range []*Options{&bob, &carol, &dave} {
			m, err := Identity(ctxT(t), *who)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := ShareAdd(ctxT(t), testScope.Project, m.Key, "", alice)
			if err != nil {
				t.Fatalf("ShareAdd %s: %v", m, err)
			}
			if !rep.Changed || len(rep.Rewritten) != 2 {
				t.Fatalf("ShareAdd %s: changed %v, rewrote %v; want both repositories", m, rep.Changed, rep.Rewritten)
			}
			who.ProjectID = rep.ProjectID
		}
		for name, who := range map[string]Options{"bob": bob, "carol (ssh-ed25519)": carol, "dave (ssh-rsa)": dave} {
			s := openT(t, testScope, who)
			if v, err := s.Get(ctxT(t), "DB_PASSWORD"); err != nil || v != "pw" {
				t.Fatalf("%s reads DB_PASSWORD: err %v, value matches %v", name, err, v == "pw")
			}
			mustSet(t, s, "WRITTEN_BY_"+strings.ToUpper(strings.Fields(name)[0]), "x")
		}
		if v, err := openT(t, other, dave).Get(ctxT(t), "LOCAL_TOKEN"); err != nil || v != "tok" {
			t.Fatalf("dave reads the local-only repository: %v", err)
		}
		// Adding again changes nothing.
		if rep, err := ShareAdd(ctxT(t), testScope.Project, identityT(t, bob).member.Key, "", carol); err != nil || rep.Changed {
			t.Fatalf("ShareAdd of a member: changed %v, %v", rep.Changed, err)
		}

		bobID := identityT(t, bob).member
		rep, err := ShareRemove(ctxT(t), testScope.Project, bobID.Key, dave)
		if err != nil {
			t.Fatal(err)
		}
		wantExposed := map[string][]string{
			testScope.Repository: {"DB_PASSWORD", "WRITTEN_BY_BOB", "WRITTEN_BY_CAROL", "WRITTEN_BY_DAVE"},
			other.Repository:     {"LOCAL_TOKEN"},
		}
		if len(rep.Exposed) != 2 || !slices.Equal(rep.Exposed[testScope.Repository], wantExposed[testScope.Repository]) || !slices.Equal(rep.Exposed[other.Repository], wantExposed[other.Repository]) {
			t.Fatalf("ShareRemove exposed = %v, want %v", rep.Exposed, wantExposed)
		}
		if len(rep.Members) != 3 || rep.Version != 5 {
			t.Fatalf("after removing bob: %d members, version %d", len(rep.Members), rep.Version)
		}
		s := openT(t, testScope, bob)
		if _, err := s.Get(ctxT(t), "DB_PASSWORD"); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), identityT(t, alice).member.Fingerprint) {
			t.Fatalf("removed bob reading: %v (want an error naming the recipients)", err)
		}
		if err := s.Set(ctxT(t), "BOB_AGAIN", "x"); !errors.Is(err, secrets.ErrAuth) && !errors.Is(err, secrets.ErrPermission) {
			t.Fatalf("removed bob writing: %v", err)
		}
		// Nobody removes themselves; the last writer cannot be removed; a
		// non-member cannot add.
		if _, err := ShareRemove(ctxT(t), testScope.Project, aliceID.Fingerprint, alice); !errors.Is(err, secrets.ErrInvalidConfig) {
			t.Fatalf("alice removing herself: %v", err)
		}
		if _, err := ShareRemove(ctxT(t), testScope.Project, aliceID.Fingerprint, dave); err != nil {
			t.Fatal(err)
		}
		if _, err := ShareRemove(ctxT(t), testScope.Project, identityT(t, carol).member.Fingerprint, dave); err != nil {
			t.Fatal(err)
		}
		if _, err := ShareRemove(ctxT(t), testScope.Project, identityT(t, dave).member.Fingerprint, dave); !errors.Is(err, secrets.ErrInvalidConfig) {
			t.Fatalf("removing the last member: %v", err)
		}
		if v, err := openT(t, testScope, dave).Get(ctxT(t), "DB_PASSWORD"); err != nil || v != "pw" {
			t.Fatalf("the last member reads after all the changes: %v", err)
		}
		if _, err := ShareAdd(ctxT(t), testScope.Project, bobID.Key, "", bob); !errors.Is(err, secrets.ErrPermission) {
			t.Fatalf("a removed member adding themselves back: %v", err)
		}
	})
}

// TestIdentity: the generated identity is created once, 0600 in a 0700
// directory; its member key parses back; a key readable by others and
// private keys given as member keys are refused; an encrypted SSH key
// needs its passphrase.
func TestIdentity(t *testing.T) {
	o := person(t, Options{})
	m1, err := Identity(ctxT(t), o)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Identity(ctxT(t), o)
	if err != nil || m1.Key != m2.Key {
		t.Fatalf("a second Identity gave another key (%v)", err)
	}
	path := filepath.Join(o.Env.HomeDir, ".dstack", "secrets", DefaultIdentityFile)
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("identity file mode: %v %v", fi.Mode(), err)
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("identity directory mode %v", di.Mode())
	}
	back, err := ParseMemberKey(m1.Key)
	if err != nil || back.Fingerprint != m1.Fingerprint || !back.CanWrite {
		t.Fatalf("the member key does not parse back: %v", err)
	}
	os.Chmod(path, 0o644)
	if _, err := Identity(ctxT(t), o); !errors.Is(err, secrets.ErrPermission) {
		t.Fatalf("a world-readable identity: %v", err)
	}
	data, _ := os.ReadFile(path)
	if _, err := ParseMemberKey(string(data)); err == nil || strings.Contains(err.Error(), "AGE-SECRET-KEY") {
		t.Fatalf("a private key as member key: %v", err)
	}
	enc := sshKeyFile(t, Options{}, "ed25519", "correct horse")
	if _, err := Identity(ctxT(t), enc); !errors.Is(err, secrets.ErrAuth) || !strings.Contains(err.Error(), SSHPassphraseEnvVar) {
		t.Fatalf("an encrypted SSH key without passphrase: %v", err)
	}
	enc.Env.Getenv = func(k string) string {
		if k == SSHPassphraseEnvVar {
			return "correct horse"
		}
		return ""
	}
	m, err := Identity(ctxT(t), enc)
	if err != nil || !strings.HasPrefix(m.Key, "ssh-ed25519 ") || m.Name != "ed25519@test" {
		t.Fatalf("an encrypted SSH key with its passphrase: %v %v", m, err)
	}
	enc.Env.Getenv = func(string) string { return "wrong" }
	if _, err := Identity(ctxT(t), enc); !errors.Is(err, secrets.ErrAuth) {
		t.Fatalf("a wrong passphrase: %v", err)
	}
	for _, bad := range []string{"", "age1notakey", "ssh-dss AAAA", "age1" + strings.Repeat("q", 58) + memberKeySep + "!!"} {
		if _, err := ParseMemberKey(bad); !errors.Is(err, secrets.ErrInvalidConfig) {
			t.Errorf("ParseMemberKey(%q): %v", bad, err)
		}
	}
}
