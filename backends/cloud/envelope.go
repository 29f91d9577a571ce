package cloud

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	gcsecrets "gocloud.dev/secrets"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The object of one repository is an envelope: a JSON object whose body
// (itself JSON) says whose secrets it holds and carries the encrypted
// plaintext of codec.go.
//
//   - Recipients mode: the plaintext is encrypted with age to every current
//     member, the body is signed by the member who wrote it, and the
//     envelope embeds the member list the writer used.
//   - KMS mode: the plaintext is sealed with XChaCha20-Poly1305 under a
//     fresh random data key, bound to the project and repository, and the
//     data key is wrapped by the KMS key (gocloud.dev/secrets).

const (
	docFormat     = "dstack-secrets/cloud/v1"
	purposeDoc    = "document"
	modeRecipient = "recipients"
	modeKMS       = "kms"
	// maxObjectSize bounds what is read from the bucket.
	maxObjectSize = 64 << 20
)

type envelope struct {
	Format  string       `json:"format"`
	Body    []byte       `json:"body"`
	Sig     []byte       `json:"sig,omitempty"`
	Members *membersFile `json:"members,omitempty"`
}

type docBody struct {
	Project    string `json:"project"`
	Repository string `json:"repository"`
	Mode       string `json:"mode"`
	Seq        uint64 `json:"seq"`
	Time       string `json:"time"`

	MembersHead string   `json:"members_head,omitempty"`
	Recipients  []string `json:"recipients,omitempty"`
	Signer      string   `json:"signer,omitempty"`

	KMS        string `json:"kms,omitempty"`
	WrappedKey []byte `json:"wrapped_key,omitempty"`

	Payload []byte `json:"payload"`
}

// parsedDoc is an envelope that decoded; nothing in it is verified yet.
type parsedDoc struct {
	env  envelope
	body docBody
}

// parseDoc decodes the envelope of an object; where names it for messages.
func parseDoc(data []byte, where string) (*parsedDoc, error) {
	var d parsedDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d.env); err != nil || d.env.Format != docFormat {
		return nil, fmt.Errorf("%w: %s is not a dstack-secrets document (or it is damaged); it is left untouched: restore a previous version of the object (bucket versioning) or delete it", secrets.ErrCorrupt, where)
	}
	if err := json.Unmarshal(d.env.Body, &d.body); err != nil {
		return nil, fmt.Errorf("%w: the body of %s does not decode; it is left untouched: restore a previous version of the object (bucket versioning)", secrets.ErrCorrupt, where)
	}
	return &d, nil
}

// checkScope verifies that the document belongs where it was found: a
// document copied from another repository is refused.
func (d *parsedDoc) checkScope(scope secrets.Scope, where string) error {
	if d.body.Project != scope.Project || d.body.Repository != scope.Repository {
		return fmt.Errorf("%w: %s holds the secrets of project %q, repository %s, not of %v: it was copied or moved there; it is not trusted", secrets.ErrCorrupt, where, d.body.Project, d.body.Repository, scope)
	}
	return nil
}

func newBody(scope secrets.Scope, mode string, seq uint64) docBody {
	return docBody{Project: scope.Project, Repository: scope.Repository, Mode: mode, Seq: seq, Time: time.Now().UTC().Format(time.RFC3339Nano)}
}

// sealRecipients encrypts plaintext to the current members of c, and signs
// the document as me.
func sealRecipients(scope secrets.Scope, seq uint64, c *chain, me *localIdentity, plaintext []byte) ([]byte, error) {
	members := c.current()
	rcps := make([]age.Recipient, 0, len(members))
	body := newBody(scope, modeRecipient, seq)
	body.MembersHead, body.Signer = c.head(), me.member.Fingerprint
	for _, m := range members {
		rcps = append(rcps, m.recipient)
		body.Recipients = append(body.Recipients, m.String())
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rcps...)
	if err != nil {
		return nil, fmt.Errorf("cloud backend: encrypting to the %d members: %w", len(rcps), err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	body.Payload = buf.Bytes()
	bodyJSON, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	sig, err := me.signFor(purposeDoc, bodyJSON)
	if err != nil {
		return nil, err
	}
	members2 := c.file
	return json.Marshal(envelope{Format: docFormat, Body: bodyJSON, Sig: sig, Members: &members2})
}

// verifySigner checks that the document was signed by a current member of
// c (the trusted member list) who can write.
func (d *parsedDoc) verifySigner(c *chain, where string) error {
	m, ok := c.find(d.body.Signer)
	if !ok || !m.CanWrite {
		return fmt.Errorf("%w: %s is signed by %s, who is not a member of project %q allowed to write: someone with write access to the bucket may have planted it, or it was written by a removed member; it is not trusted (restore a previous version of the object, or have a member rewrite the secrets)", secrets.ErrAuth, where, d.body.Signer, d.body.Project)
	}
	if err := m.verifySig(purposeDoc, d.env.Body, d.env.Sig); err != nil {
		return fmt.Errorf("%w: the signature of %s by %s does not verify: the object was altered after it was written; it is not trusted (restore a previous version of the object)", secrets.ErrAuth, where, m)
	}
	return nil
}

// openRecipients decrypts a verified recipients-mode document as me.
func (d *parsedDoc) openRecipients(me *localIdentity, where string) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(d.body.Payload), me.ageID)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, fmt.Errorf("%w: this identity (%s, %s) cannot decrypt %s: it was encrypted to %s; ask one of them to run `dstack-secrets share add` with your key (`dstack-secrets identity` prints it)", secrets.ErrAuth, me.member.Fingerprint, me.path, where, strings.Join(d.body.Recipients, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be decrypted (damaged); restore a previous version of the object", secrets.ErrCorrupt, where)
	}
	plaintext, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be decrypted (damaged or truncated); restore a previous version of the object", secrets.ErrCorrupt, where)
	}
	return plaintext, nil
}

// kmsAAD binds a KMS-mode payload to its project and repository.
func kmsAAD(scope secrets.Scope) []byte {
	return []byte(signatureContext + "kms\x00" + scope.Project + "\x00" + scope.Repository)
}

// sealKMS encrypts plaintext under a fresh data key wrapped by keeper.
func sealKMS(ctx context.Context, keeper *gcsecrets.Keeper, kmsURL string, scope secrets.Scope, seq uint64, plaintext []byte) ([]byte, error) {
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	wrapped, err := keeper.Encrypt(ctx, key)
	if err != nil {
		return nil, kmsError(ctx, "wrap the data key with", kmsURL, err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	body := newBody(scope, modeKMS, seq)
	body.KMS, body.WrappedKey = redactURL(kmsURL), wrapped
	body.Payload = aead.Seal(nonce, nonce, plaintext, kmsAAD(scope))
	bodyJSON, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{Format: docFormat, Body: bodyJSON})
}

// openKMS decrypts a KMS-mode document.
func (d *parsedDoc) openKMS(ctx context.Context, keeper *gcsecrets.Keeper, kmsURL string, scope secrets.Scope, where string) ([]byte, error) {
	key, err := keeper.Decrypt(ctx, d.body.WrappedKey)
	if err != nil {
		return nil, kmsError(ctx, fmt.Sprintf("unwrap the data key of %s (wrapped by %s) with", where, d.body.KMS), kmsURL, err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("%w: the data key of %s has the wrong size", secrets.ErrCorrupt, where)
	}
	p := d.body.Payload
	if len(p) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: the payload of %s is truncated; restore a previous version of the object", secrets.ErrCorrupt, where)
	}
	plaintext, err := aead.Open(nil, p[:aead.NonceSize()], p[aead.NonceSize():], kmsAAD(scope))
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not authenticate under its data key: it was altered or damaged; it is not trusted (restore a previous version of the object)", secrets.ErrCorrupt, where)
	}
	return plaintext, nil
}
