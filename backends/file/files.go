package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The files of a store (its directory, store file, key file and lock file)
// are checked as OpenSSH's StrictModes checks a user's files: owned by the
// user or root, and writable by nobody else (secrets.CheckOwnership).

// checkDir refuses a store directory that another user owns or can write.
// A directory that does not exist yet passes: the first write creates it
// 0700.
func (s *Store) checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return s.ioError("read the directory of", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: the store directory %s is not a directory; set the dir option to a directory", secrets.ErrInvalidConfig, secrets.Printable(dir))
	}
	return secrets.CheckOwnership("store directory", dir, fi)
}
