package cloud

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
	gcsecrets "gocloud.dev/secrets"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/dstackai/dstack-secrets/internal/document"
	"github.com/dstackai/dstack-secrets/secrets"
)

// The object of one repository is an envelope, one line of JSON, then a
// newline, then the payload: the encrypted document of codec.go, raw. The
// envelope's body (JSON kept byte for byte, since it is what is signed)
// says whose secrets the object holds and pins the payload by its SHA-256.
//
//   - Recipients mode: the document is encrypted with age to every current
//     member (the payload is an age file), the body is signed by the member
//     who wrote it, and the envelope embeds the member list the writer used.
//   - KMS mode: the document's plaintext is sealed with XChaCha20-Poly1305 under a
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
	Format  string          `json:"format"`
	Body    json.RawMessage `json:"body"`
	Sig     []byte          `json:"sig,omitempty"`
	Members *membersFile    `json:"members,omitempty"`
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

	// Document is the format of the encrypted document (codec.go):
	// document.FormatV2; empty in objects of the first plaintext format.
	Document string `json:"document,omitempty"`

	PayloadSHA256 string `json:"payload_sha256"`
}

// parsedDoc is an object that decoded; nothing in it is verified yet
// except that the payload is the one the body names.
type parsedDoc struct {
	env     envelope
	body    docBody
	payload []byte
}

func payloadHash(p []byte) string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:])
}

// marshal returns the object's bytes.
func (d *parsedDoc) marshal() ([]byte, error) {
	head, err := json.Marshal(d.env)
	if err != nil {
		return nil, err
	}
	return append(append(head, '\n'), d.payload...), nil
}

// newDoc signs nothing: it frames body and payload (sig and members are
// set by the caller when there are any).
func newDoc(body docBody, payload []byte) (*parsedDoc, error) {
	body.PayloadSHA256 = payloadHash(payload)
	bodyJSON, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &parsedDoc{env: envelope{Format: docFormat, Body: bodyJSON}, body: body, payload: payload}, nil
}

// parseDoc decodes the envelope of an object; where names it for messages.
func parseDoc(data []byte, where string) (*parsedDoc, error) {
	var d parsedDoc
	head, payload, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || json.Unmarshal(head, &d.env) != nil || d.env.Format != docFormat {
		return nil, fmt.Errorf("%w: %s is not a dstack-secrets document (or it is damaged); it is left untouched: restore a previous version of the object (bucket versioning) or delete it", secrets.ErrCorrupt, where)
	}
	if err := json.Unmarshal(d.env.Body, &d.body); err != nil {
		return nil, fmt.Errorf("%w: the body of %s does not decode; it is left untouched: restore a previous version of the object (bucket versioning)", secrets.ErrCorrupt, where)
	}
	if payloadHash(payload) != d.body.PayloadSHA256 {
		return nil, fmt.Errorf("%w: the payload of %s is not the one its body names: it was altered or truncated; it is left untouched: restore a previous version of the object (bucket versioning)", secrets.ErrCorrupt, where)
	}
	d.payload = payload
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

// sealRecipients encrypts content to the current members of c, and signs
// the object as me.
func sealRecipients(scope secrets.Scope, seq uint64, c *chain, me *localIdentity, content *document.Document) ([]byte, error) {
	members := c.current()
	rcps := make([]age.Recipient, 0, len(members))
	body := newBody(scope, modeRecipient, seq)
	body.MembersHead, body.Signer, body.Document = c.head(), me.member.Fingerprint, document.FormatV2
	for _, m := range members {
		rcps = append(rcps, m.recipient)
		body.Recipients = append(body.Recipients, m.String())
	}
	var buf bytes.Buffer
	if err := content.Encrypt(&buf, rcps...); err != nil {
		return nil, fmt.Errorf("cloud backend: encrypting to the %d members: %w", len(rcps), err)
	}
	d, err := newDoc(body, buf.Bytes())
	if err != nil {
		return nil, err
	}
	if d.env.Sig, err = me.signFor(purposeDoc, d.env.Body); err != nil {
		return nil, err
	}
	embedded := c.file
	d.env.Members = &embedded
	return d.marshal()
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

// openRecipients decrypts a verified recipients-mode object as me: the
// document of repo it holds.
func (d *parsedDoc) openRecipients(me *localIdentity, repo, where string) (*document.Document, error) {
	if err := d.checkDocumentFormat(where); err != nil {
		return nil, err
	}
	if d.body.Document != "" {
		content, err := document.Decrypt(bytes.NewReader(d.payload), int64(len(d.payload)), me.ageID)
		if err != nil {
			return nil, d.recipientsError(me, where, err)
		}
		return content, nil
	}
	r, err := age.Decrypt(bytes.NewReader(d.payload), me.ageID)
	if err != nil {
		return nil, d.recipientsError(me, where, err)
	}
	plaintext, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be decrypted (damaged or truncated); restore a previous version of the object", secrets.ErrCorrupt, where)
	}
	content, err := decodeLegacy(plaintext, repo)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return content, nil
}

// recipientsError is the error of a payload that me cannot decrypt.
func (d *parsedDoc) recipientsError(me *localIdentity, where string, err error) error {
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return fmt.Errorf("%w: this identity (%s, %s) cannot decrypt %s: it was encrypted to %s; ask one of them to run `dstack-secrets share add` with your key (`dstack-secrets identity` prints it)", secrets.ErrAuth, me.member.Fingerprint, me.path, where, strings.Join(d.body.Recipients, ", "))
	}
	if errors.Is(err, secrets.ErrCorrupt) {
		// A *document.CorruptError: its detail never quotes content.
		return fmt.Errorf("%s cannot be decrypted or decoded; restore a previous version of the object: %w", where, err)
	}
	return fmt.Errorf("%w: %s cannot be decrypted (damaged); restore a previous version of the object", secrets.ErrCorrupt, where)
}

// kmsAAD binds a KMS-mode payload to its project and repository.
func kmsAAD(scope secrets.Scope) []byte {
	return []byte(signatureContext + "kms\x00" + scope.Project + "\x00" + scope.Repository)
}

// sealKMS encrypts content under a fresh data key wrapped by keeper.
func sealKMS(ctx context.Context, keeper *gcsecrets.Keeper, kmsURL string, scope secrets.Scope, seq uint64, content *document.Document) ([]byte, error) {
	plaintext, err := content.Encode()
	if err != nil {
		return nil, err
	}
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
	body.KMS, body.WrappedKey, body.Document = redactURL(kmsURL), wrapped, document.FormatV2
	d, err := newDoc(body, aead.Seal(nonce, nonce, plaintext, kmsAAD(scope)))
	if err != nil {
		return nil, err
	}
	return d.marshal()
}

// openKMS decrypts a KMS-mode object: the document of scope's repository
// it holds.
func (d *parsedDoc) openKMS(ctx context.Context, keeper *gcsecrets.Keeper, kmsURL string, scope secrets.Scope, where string) (*document.Document, error) {
	if err := d.checkDocumentFormat(where); err != nil {
		return nil, err
	}
	key, err := keeper.Decrypt(ctx, d.body.WrappedKey)
	if err != nil {
		return nil, kmsError(ctx, fmt.Sprintf("unwrap the data key of %s (wrapped by %s) with", where, d.body.KMS), kmsURL, err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("%w: the data key of %s has the wrong size", secrets.ErrCorrupt, where)
	}
	p := d.payload
	if len(p) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: the payload of %s is truncated; restore a previous version of the object", secrets.ErrCorrupt, where)
	}
	plaintext, err := aead.Open(nil, p[:aead.NonceSize()], p[aead.NonceSize():], kmsAAD(scope))
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not authenticate under its data key: it was altered or damaged; it is not trusted (restore a previous version of the object)", secrets.ErrCorrupt, where)
	}
	var content *document.Document
	if d.body.Document == "" {
		content, err = decodeLegacy(plaintext, scope.Repository)
	} else {
		content, err = document.Parse(plaintext)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return content, nil
}
