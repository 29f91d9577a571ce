package keyring

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/dstackai/dstack-secrets/secrets"
)

// scopeSegment turns a repository identity into one path segment that every
// keychain accepts: the identity with every byte outside [A-Za-z0-9._-]
// replaced by '_' (shortened to 64 bytes, for people reading the keychain),
// then '-' and 16 hex digits of its SHA-256, which keeps identities that
// differ only in the replaced bytes, in the cut part or in letter case
// apart.
func scopeSegment(repository string) string {
	var b strings.Builder
	for i := 0; i < len(repository) && b.Len() < 64; i++ {
		c := repository[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == '.' && b.Len() > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	sum := sha256.Sum256([]byte(repository))
	return b.String() + "-" + hex.EncodeToString(sum[:8])
}

// scopePath is "<project>/<scopeSegment(repository)>": where the secrets of
// one scope live under a keychain's service name or prefix.
func scopePath(scope secrets.Scope) string {
	return scope.Project + "/" + scopeSegment(scope.Repository)
}

// encodeName maps a secret name to the key stored in a key-value keychain.
// Some keychains compare keys without regard to letter case (Windows
// Credential Manager; pass on a case-insensitive file system), so names
// that differ only in case must give keys that differ in more than case.
// A name without lower-case letters (the usual API_TOKEN) is its own key;
// any other name gets '-' and a hex bit mask of its lower-case positions
// (trailing zero digits dropped): "lower_Case" gives "lower_Case-f9c", and
// "a" and "A" give "a-8" and "A". The longest key (200
// bytes of name plus '-' and 50 hex digits) still fits a file name with
// pass's ".gpg" suffix (255 bytes). Names never contain '-' or '.', so
// keys of other programs and chunk keys never decode as names.
func encodeName(name string) string {
	mask := make([]byte, (len(name)+7)/8)
	lower := false
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'a' <= c && c <= 'z' {
			mask[i/8] |= 0x80 >> (i % 8)
			lower = true
		}
	}
	if !lower {
		return name
	}
	return name + "-" + strings.TrimRight(hex.EncodeToString(mask), "0")
}

// decodeName reverses encodeName, also for a key whose letter case the
// keychain folded; ok is false for keys that encodeName cannot have given
// (most of other programs' items, chunk keys of lower-case names). Whether
// the name is a valid secret name is not checked here: a key such as a
// chunk key of an upper-case name ("API_TOKEN.<nonce>.0") decodes to an
// invalid name, which the store Open returns leaves out of List.
func decodeName(key string) (name string, ok bool) {
	// Rebuild the name from the mask, then require the exact encoding.
	base, maskHex, hasMask := strings.Cut(key, "-")
	if !hasMask {
		base = strings.ToUpper(base)
	} else {
		if len(maskHex)%2 == 1 {
			maskHex += "0"
		}
		mask, err := hex.DecodeString(strings.ToLower(maskHex))
		if err != nil {
			return "", false
		}
		b := []byte(base)
		for i := range b {
			if c := b[i]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
				if i/8 < len(mask) && mask[i/8]&(0x80>>(i%8)) != 0 {
					b[i] = c | 0x20
				} else {
					b[i] = c &^ 0x20
				}
			}
		}
		base = string(b)
	}
	if !strings.EqualFold(encodeName(base), key) {
		return "", false
	}
	return base, true
}
