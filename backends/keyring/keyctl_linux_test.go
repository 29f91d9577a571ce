package keyring_test

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// unlinkKeyrings unlinks the kernel keyrings a test created in the user
// keyring (their descriptions start with the test's service name).
func unlinkKeyrings(t testing.TB, service string) {
	buf := make([]byte, 1<<16)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, unix.KEY_SPEC_USER_KEYRING, buf, 0)
	if err != nil {
		t.Errorf("cleanup: reading the user keyring: %v", err)
		return
	}
	for i := 0; i+4 <= min(n, len(buf)); i += 4 {
		id := int(int32(uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16 | uint32(buf[i+3])<<24))
		desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		if err != nil {
			continue
		}
		f := strings.SplitN(desc, ";", 5)
		if len(f) == 5 && f[0] == "keyring" && strings.HasPrefix(f[4], service+"/") {
			if _, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0); err != nil {
				t.Errorf("cleanup: unlinking keyring %d: %v", id, err)
			}
		}
	}
}
