package keyring

import (
	"encoding/binary"
	"strings"

	"golang.org/x/sys/unix"
)

// keyctlScopes returns the scopes whose keyrings are linked in the kernel
// keyring scope ("user", "usersession" or "session") under a description
// that starts with prefix ("<service>/<project>/"): what follows the
// prefix is the scope's segment.
func keyctlScopes(scope, prefix string) ([]string, error) {
	parent := map[string]int{
		"user":        unix.KEY_SPEC_USER_KEYRING,
		"usersession": unix.KEY_SPEC_USER_SESSION_KEYRING,
		"session":     unix.KEY_SPEC_SESSION_KEYRING,
	}[scope]
	var buf []byte
	for {
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, parent, buf, 0)
		if err != nil {
			return nil, err
		}
		if n <= len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, n)
	}
	var out []string
	for i := 0; i+4 <= len(buf); i += 4 {
		id := int(int32(binary.NativeEndian.Uint32(buf[i:])))
		desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		if err != nil {
			continue // unlinked meanwhile, or not ours to see
		}
		// "type;uid;gid;perm;description"
		f := strings.SplitN(desc, ";", 5)
		if len(f) != 5 || f[0] != "keyring" {
			continue
		}
		if seg, ok := strings.CutPrefix(f[4], prefix); ok && seg != "" && !strings.Contains(seg, "/") {
			out = append(out, seg)
		}
	}
	return out, nil
}
