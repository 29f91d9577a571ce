//go:build !unix

package file

import "errors"

// readFD is not supported where descriptors are not numbers processes
// hand down (Windows).
func readFD(int) ([]byte, error) {
	return nil, errors.New("passphrase descriptors are supported on Unix only; use passphrase_command")
}
