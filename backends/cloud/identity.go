package cloud

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/dstackai/dstack-secrets/secrets"
)

// SSHPassphraseEnvVar supplies the passphrase of an encrypted SSH private
// key given as identity_file, when there is no terminal to ask at.
const SSHPassphraseEnvVar = "DSTACK_SECRETS_SSH_PASSPHRASE"

// localIdentity is the key of whoever runs the process: it decrypts
// documents and signs what it writes.
type localIdentity struct {
	member Member
	ageID  age.Identity
	sign   func(msg []byte) ([]byte, error)
	path   string
}

// signFor signs data for purpose (see signedMessage).
func (id *localIdentity) signFor(purpose string, data []byte) ([]byte, error) {
	return id.sign(signedMessage(purpose, data))
}

// identityPath is the identity file of opts: identity_file, or the
// generated default under the home directory.
func identityPath(opts *Options) (path string, isDefault bool, err error) {
	if opts.IdentityFile != "" {
		p, err := secrets.ExpandHome(opts.Env, opts.IdentityFile)
		return p, false, err
	}
	home, err := opts.Env.Home()
	if err != nil {
		return "", false, err
	}
	return filepath.Join(home, ".dstack", "secrets", DefaultIdentityFile), true, nil
}

// DefaultIdentityFile is the name of the generated identity file in
// ~/.dstack/secrets.
const DefaultIdentityFile = "cloud-identity.key"

// loadIdentity reads the identity of opts. The default identity is created
// when it does not exist yet; a configured identity_file must exist.
func loadIdentity(ctx context.Context, opts *Options) (*localIdentity, error) {
	path, isDefault, err := identityPath(opts)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && isDefault {
		if err := generateIdentity(path); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: cloud backend: identity_file %s does not exist; fix the option, or remove it to use a generated identity", secrets.ErrAuth, path)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("%w: cloud backend: cannot read identity file %s: %v", secrets.ErrPermission, path, err)
	case err != nil:
		return nil, fmt.Errorf("cloud backend: cannot read identity file %s: %w", path, err)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%w: identity file %s is accessible by group or others (mode %04o); run: chmod 600 %s", secrets.ErrPermission, path, fi.Mode().Perm(), path)
		}
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return loadSSHIdentity(ctx, opts, path, data)
	}
	return loadAgeIdentity(path, data)
}

func loadAgeIdentity(path string, data []byte) (*localIdentity, error) {
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is neither an age identity file nor an SSH private key (%v)", secrets.ErrAuth, path, err)
	}
	var x *age.X25519Identity
	for _, id := range ids {
		if xi, ok := id.(*age.X25519Identity); ok {
			x = xi
			break
		}
	}
	if x == nil {
		return nil, fmt.Errorf("%w: %s holds no age X25519 identity (AGE-SECRET-KEY-1...)", secrets.ErrAuth, path)
	}
	priv, err := signingKey(x)
	if err != nil {
		return nil, err
	}
	pub := priv.Public().(ed25519.PublicKey)
	m, err := parseAgeMember(x.Recipient().String() + memberKeySep + base64.RawURLEncoding.EncodeToString(pub))
	if err != nil {
		return nil, err
	}
	return &localIdentity{
		member: m,
		ageID:  x,
		path:   path,
		sign:   func(msg []byte) ([]byte, error) { return ed25519.Sign(priv, msg), nil },
	}, nil
}

// signingKey derives the ed25519 signing key of an age identity, so that
// one age key file both decrypts and signs (age X25519 keys cannot sign).
func signingKey(x *age.X25519Identity) (ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, []byte(x.String()), nil, "dstack-secrets cloud signing key v1", ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("cloud backend: deriving the signing key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

func loadSSHIdentity(ctx context.Context, opts *Options, path string, data []byte) (*localIdentity, error) {
	raw, err := ssh.ParseRawPrivateKey(data)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		pass := opts.Env.Value(SSHPassphraseEnvVar)
		if pass == "" && opts.Env.Prompt != nil {
			pass, err = opts.Env.Prompt(ctx, fmt.Sprintf("Passphrase for SSH key %s: ", path))
			if err != nil {
				return nil, err
			}
		}
		if pass == "" {
			return nil, fmt.Errorf("%w: SSH key %s is encrypted: set %s or run in a terminal to be asked for its passphrase", secrets.ErrAuth, path, SSHPassphraseEnvVar)
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(data, []byte(pass))
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("%w: wrong passphrase for SSH key %s", secrets.ErrAuth, path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a usable SSH private key: %v", secrets.ErrAuth, path, err)
	}
	var ageID age.Identity
	var sign func(msg []byte) ([]byte, error)
	switch k := raw.(type) {
	case *ed25519.PrivateKey:
		raw = *k
		ageID, err = agessh.NewEd25519Identity(*k)
	case ed25519.PrivateKey:
		ageID, err = agessh.NewEd25519Identity(k)
	case *rsa.PrivateKey:
		ageID, err = agessh.NewRSAIdentity(k)
	default:
		return nil, fmt.Errorf("%w: SSH key %s is a %T; use an ed25519 or RSA key", secrets.ErrAuth, path, raw)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: SSH key %s: %v", secrets.ErrAuth, path, err)
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: SSH key %s: %v", secrets.ErrAuth, path, err)
	}
	sign = func(msg []byte) ([]byte, error) {
		var sig *ssh.Signature
		var err error
		if as, ok := signer.(ssh.AlgorithmSigner); ok && signer.PublicKey().Type() == ssh.KeyAlgoRSA {
			sig, err = as.SignWithAlgorithm(rand.Reader, msg, ssh.KeyAlgoRSASHA256)
		} else {
			sig, err = signer.Sign(rand.Reader, msg)
		}
		if err != nil {
			return nil, fmt.Errorf("cloud backend: signing with SSH key %s: %w", path, err)
		}
		return ssh.Marshal(sig), nil
	}
	comment := filepath.Base(path)
	if pubData, err := os.ReadFile(path + ".pub"); err == nil {
		if _, c, _, _, err := ssh.ParseAuthorizedKey(pubData); err == nil && c != "" {
			comment = c
		}
	}
	m, err := sshMember(signer.PublicKey(), comment)
	if err != nil {
		return nil, err
	}
	return &localIdentity{member: m, ageID: ageID, sign: sign, path: path}, nil
}

// generateIdentity writes a new age identity to path unless one appears
// there first (os.Link does not replace an existing file, so concurrent
// first users agree on one key). The directory is created 0700, the file
// 0600.
func generateIdentity(path string) error {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return fmt.Errorf("cloud backend: cannot generate an identity: %w", err)
	}
	priv, err := signingKey(id)
	if err != nil {
		return err
	}
	memberKey := id.Recipient().String() + memberKeySep + base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	content := fmt.Sprintf("# dstack-secrets cloud identity (age X25519; the ed25519 signing key is derived from it), created %s\n# member key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), memberKey, id)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cloud backend: cannot create %s for the identity: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".identity.tmp-*")
	if err != nil {
		return fmt.Errorf("cloud backend: cannot create the identity file in %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(content)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cloud backend: cannot write the identity file %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cloud backend: cannot install the identity file %s: %w", path, err)
	}
	return nil
}
