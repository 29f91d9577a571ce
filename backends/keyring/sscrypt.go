package keyring

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/godbus/dbus/v5"
	"golang.org/x/crypto/hkdf"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The Secret Service's encrypted transfer of values.
//
// With the "plain" session algorithm a value crosses the D-Bus session bus
// in clear, where any process allowed to eavesdrop (dbus-monitor, a bus
// configured for it) reads it. The specification's one encrypted algorithm,
// which libsecret (and so secret-tool, Seahorse, Python's SecretStorage)
// uses, is "dh-ietf1024-sha256-aes128-cbc-pkcs7":
//
//   - OpenSession sends the client's Diffie-Hellman public key in the
//     1024-bit MODP group of RFC 2409 (Second Oakley Group, generator 2) as
//     big-endian bytes, and gets the service's back.
//   - Both sides compute the shared secret, written big-endian and padded
//     with leading zeros to the prime's 128 bytes, and derive the 16-byte
//     AES key with HKDF-SHA256 without salt (RFC 5869: 32 zero bytes) and
//     without info.
//   - Each value travels AES-128-CBC encrypted with PKCS#7 padding; the
//     Secret's parameters hold the random 16-byte IV.
//
// This follows libsecret's secret-session.c and egg-dh.c (the zero padding
// of the shared secret included), which gnome-keyring shares.
const ssAlgorithm = "dh-ietf1024-sha256-aes128-cbc-pkcs7"

// ietf1024Prime is the prime of RFC 2409's 1024-bit MODP group.
var ietf1024Prime, _ = new(big.Int).SetString(
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
		"29024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
		"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"+
		"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
		"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"+
		"FFFFFFFFFFFFFFFF", 16)

// ietf1024Generator is the group's generator.
var ietf1024Generator = big.NewInt(2)

// dhKeyPair is the client's key pair of a session being opened.
type dhKeyPair struct {
	private *big.Int
	public  []byte
}

// newDHKeyPair makes a random key pair in the IETF 1024-bit group.
func newDHKeyPair() (*dhKeyPair, error) {
	// A private exponent in [2, p-2].
	limit := new(big.Int).Sub(ietf1024Prime, big.NewInt(3))
	x, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, err
	}
	x.Add(x, big.NewInt(2))
	y := new(big.Int).Exp(ietf1024Generator, x, ietf1024Prime)
	return &dhKeyPair{private: x, public: y.Bytes()}, nil
}

// sessionKey derives the AES key from the service's public key.
func (k *dhKeyPair) sessionKey(peer []byte) ([]byte, error) {
	y := new(big.Int).SetBytes(peer)
	pMinus1 := new(big.Int).Sub(ietf1024Prime, big.NewInt(1))
	if y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(pMinus1) >= 0 {
		return nil, errors.New("the Secret Service sent an invalid Diffie-Hellman public key")
	}
	shared := new(big.Int).Exp(y, k.private, ietf1024Prime)
	ikm := make([]byte, (ietf1024Prime.BitLen()+7)/8)
	shared.FillBytes(ikm) // big-endian, zero-padded to the prime's length
	key := make([]byte, 16)
	if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, nil, nil), key); err != nil {
		return nil, err
	}
	clear(ikm)
	return key, nil
}

// ssEncrypt encrypts a value for the session key: the IV (the Secret's
// parameters) and the ciphertext.
func ssEncrypt(key, value []byte) (iv, ciphertext []byte, err error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, nil, err
	}
	iv = make([]byte, aes.BlockSize)
	if _, err := rand.Read(iv); err != nil {
		return nil, nil, err
	}
	pad := aes.BlockSize - len(value)%aes.BlockSize
	padded := make([]byte, len(value)+pad)
	copy(padded, value)
	copy(padded[len(value):], bytes.Repeat([]byte{byte(pad)}, pad))
	ciphertext = make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ciphertext, padded)
	clear(padded)
	return iv, ciphertext, nil
}

// ssDecrypt decrypts a value the service sent. Errors say nothing of the
// content.
func ssDecrypt(key, iv, ciphertext []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if len(iv) != aes.BlockSize || len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("the Secret Service sent an encrypted value of %d bytes with a %d-byte IV, which %s cannot produce", len(ciphertext), len(iv), ssAlgorithm)
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ciphertext)
	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > aes.BlockSize || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		clear(plain)
		return nil, errors.New("the Secret Service sent a value that does not decrypt with the session key (bad padding)")
	}
	return plain[:len(plain)-pad], nil
}

// openSession opens an encrypted session (sscrypt.go), so that values
// cross the bus AES-encrypted. Only a service that answers NotSupported
// for that algorithm gets a plain session, in which values cross the bus
// in clear; warn (when not nil) is told so.
func (s *secretService) openSession(ctx context.Context, warn func(string)) error {
	kp, err := newDHKeyPair()
	if err != nil {
		return fmt.Errorf("keychain %s: opening an encrypted session: %v", SecretService, err)
	}
	svc := s.conn.Object(ssBusName, ssPath)
	var out dbus.Variant
	err = svc.CallWithContext(ctx, ssService+".OpenSession", 0, ssAlgorithm, dbus.MakeVariant(kp.public)).Store(&out, &s.session)
	if err == nil {
		peer, ok := out.Value().([]byte)
		if !ok {
			return fmt.Errorf("keychain %s: opening an encrypted session: the service answered with a %s instead of its public key: %w", SecretService, out.Signature(), secrets.ErrUnavailable)
		}
		if s.key, err = kp.sessionKey(peer); err != nil {
			return fmt.Errorf("keychain %s: opening an encrypted session: %v: %w", SecretService, err, secrets.ErrUnavailable)
		}
		return nil
	}
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.NotSupported" {
		return ssError("opening an encrypted session", err)
	}
	if err := svc.CallWithContext(ctx, ssService+".OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&out, &s.session); err != nil {
		return ssError("opening a session", err)
	}
	if warn != nil {
		warn(fmt.Sprintf("keychain %s: the Secret Service does not support encrypted sessions (%s), so secret values cross the D-Bus session bus in clear", SecretService, ssAlgorithm))
	}
	return nil
}
