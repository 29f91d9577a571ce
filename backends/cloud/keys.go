package cloud

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Member is one member of a project in recipients mode: a public key that
// documents are encrypted to and, for a member who can write, a key that
// verifies the member's signatures.
type Member struct {
	// Key is the member key in its canonical text form, as Identity prints
	// it and ShareAdd accepts it: an SSH public key ("ssh-ed25519 AAAA..."
	// or "ssh-rsa AAAA...", without comment), a dstack member key
	// ("age1...:ed25519:..."; the age recipient and the signing key of an
	// age identity), or a bare age recipient ("age1..."), which can read
	// but not write.
	Key string `json:"key"`
	// Name is a label for people (the SSH key's comment, or the one given
	// to ShareAdd); not authenticated beyond the member list's signature.
	Name string `json:"name,omitempty"`
	// Fingerprint identifies the key in messages: "SHA256:" and the
	// unpadded base64 of a SHA-256 hash (for SSH keys, the same as
	// ssh-keygen -l).
	Fingerprint string `json:"fingerprint"`
	// CanWrite reports whether the key can sign documents.
	CanWrite bool `json:"can_write"`

	recipient age.Recipient
	verify    func(msg, sig []byte) error
}

// String describes the member for messages: fingerprint and name.
func (m Member) String() string {
	if m.Name != "" {
		return m.Fingerprint + " (" + m.Name + ")"
	}
	return m.Fingerprint
}

// memberKeySep separates the age recipient from the signing key in a dstack
// member key.
const memberKeySep = ":ed25519:"

// ParseMemberKey parses a member key: an SSH ed25519 or RSA public key in
// authorized_keys form (the comment becomes Name), a dstack member key
// "age1...:ed25519:BASE64URL" as Identity prints it, or a bare age X25519
// recipient "age1..." (a member who can read but not write).
func ParseMemberKey(text string) (Member, error) {
	text = strings.TrimSpace(text)
	switch {
	case strings.HasPrefix(text, "age1"):
		return parseAgeMember(text)
	case strings.HasPrefix(text, "ssh-ed25519 "), strings.HasPrefix(text, "ssh-rsa "):
		return parseSSHMember(text)
	case text == "":
		return Member{}, fmt.Errorf("%w: the member key is empty", secrets.ErrInvalidConfig)
	case strings.Contains(text, "SECRET-KEY") || strings.Contains(text, "PRIVATE KEY"):
		// Never repeat a private key in a message.
		return Member{}, fmt.Errorf("%w: that is a private key; give the member's public key (the identity command prints it)", secrets.ErrInvalidConfig)
	}
	return Member{}, fmt.Errorf("%w: %q is not a member key: give an SSH public key (ssh-ed25519 or ssh-rsa, as in ~/.ssh/id_ed25519.pub), a dstack member key (age1...%s..., printed by the identity command) or an age recipient (age1..., read-only)", secrets.ErrInvalidConfig, shorten(text), memberKeySep)
}

func parseAgeMember(text string) (Member, error) {
	rcpText, sigText, hasSig := strings.Cut(text, memberKeySep)
	rcp, err := age.ParseX25519Recipient(rcpText)
	if err != nil {
		return Member{}, fmt.Errorf("%w: %q is not a valid age recipient: %v", secrets.ErrInvalidConfig, shorten(rcpText), err)
	}
	m := Member{Key: rcp.String(), recipient: rcp}
	if hasSig {
		pub, err := base64.RawURLEncoding.DecodeString(sigText)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return Member{}, fmt.Errorf("%w: the signing key of member key %q is not a base64url ed25519 public key", secrets.ErrInvalidConfig, shorten(text))
		}
		pk := ed25519.PublicKey(pub)
		m.Key += memberKeySep + base64.RawURLEncoding.EncodeToString(pub)
		m.CanWrite = true
		m.verify = func(msg, sig []byte) error {
			if !ed25519.Verify(pk, msg, sig) {
				return errBadSignature
			}
			return nil
		}
	}
	sum := sha256.Sum256([]byte(m.Key))
	m.Fingerprint = "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
	return m, nil
}

func parseSSHMember(text string) (Member, error) {
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(text))
	if err != nil {
		return Member{}, fmt.Errorf("%w: %q is not a valid SSH public key: %v", secrets.ErrInvalidConfig, shorten(text), err)
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return Member{}, fmt.Errorf("%w: give one SSH public key per member, not several", secrets.ErrInvalidConfig)
	}
	return sshMember(pub, comment)
}

// sshMember returns the member of an SSH public key.
func sshMember(pub ssh.PublicKey, comment string) (Member, error) {
	var rcp age.Recipient
	var err error
	switch pub.Type() {
	case ssh.KeyAlgoED25519:
		rcp, err = agessh.NewEd25519Recipient(pub)
	case ssh.KeyAlgoRSA:
		rcp, err = agessh.NewRSARecipient(pub)
	default:
		return Member{}, fmt.Errorf("%w: SSH key type %s is not supported; use ssh-ed25519 or ssh-rsa", secrets.ErrInvalidConfig, pub.Type())
	}
	if err != nil {
		return Member{}, fmt.Errorf("%w: SSH key %s: %v", secrets.ErrInvalidConfig, ssh.FingerprintSHA256(pub), err)
	}
	key := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	return Member{
		Key:         key,
		Name:        strings.TrimSpace(comment),
		Fingerprint: ssh.FingerprintSHA256(pub),
		CanWrite:    true,
		recipient:   rcp,
		verify: func(msg, sigBytes []byte) error {
			var sig ssh.Signature
			if err := ssh.Unmarshal(sigBytes, &sig); err != nil {
				return errBadSignature
			}
			// SHA-1 RSA signatures ("ssh-rsa") are refused.
			if sig.Format == ssh.KeyAlgoRSA {
				return errBadSignature
			}
			if err := pub.Verify(msg, &sig); err != nil {
				return errBadSignature
			}
			return nil
		},
	}, nil
}

var errBadSignature = errors.New("the signature does not verify")

// signatureContext separates the signatures of this package from any other
// use of the same keys: what is signed is the context, a purpose and the
// data.
const signatureContext = "dstack-secrets cloud v1\x00"

func signedMessage(purpose string, data []byte) []byte {
	msg := make([]byte, 0, len(signatureContext)+len(purpose)+1+len(data))
	msg = append(msg, signatureContext...)
	msg = append(msg, purpose...)
	msg = append(msg, 0)
	return append(msg, data...)
}

// verifySig checks that m signed data for purpose.
func (m Member) verifySig(purpose string, data, sig []byte) error {
	if m.verify == nil {
		return fmt.Errorf("member %s cannot sign (a read-only age recipient)", m)
	}
	return m.verify(signedMessage(purpose, data), sig)
}

// shorten cuts text for messages about keys (which are public, but long).
func shorten(text string) string {
	if len(text) > 60 {
		return text[:57] + "..."
	}
	return text
}
