package keyring

import (
	"errors"
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dstackai/dstack-secrets/secrets"
)

// keyctlMaxData is the largest payload of a kernel "user" key.
const keyctlMaxData = 32767

// probeKeyctl checks that the kernel keyring of scope can be used, so that
// a container that blocks the keyctl system calls gets a clear error.
func probeKeyctl(scope string) error {
	ids := map[string]int{
		"user":        unix.KEY_SPEC_USER_KEYRING,
		"usersession": unix.KEY_SPEC_USER_SESSION_KEYRING,
		"session":     unix.KEY_SPEC_SESSION_KEYRING,
	}
	_, err := unix.KeyctlGetKeyringID(ids[scope], true)
	if err == nil {
		return nil
	}
	why := err.Error()
	if errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EPERM) {
		why += "; containers often block the keyctl system calls"
	}
	return fmt.Errorf("keychain keyctl: the kernel %s keyring is not usable (%s); choose another keychain or use \"backend: file\": %w", scope, why, secrets.ErrUnavailable)
}
