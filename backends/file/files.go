package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"github.com/dstackai/dstack-secrets/secrets"
)

// The files of a store (its directory, store file, key file and lock file)
// are checked as OpenSSH's StrictModes checks a user's files: owned by the
// user or root, and writable by nobody else (secrets.CheckOwnership).
//
// The store file, the default key file and the lock file are never
// followed when they are symbolic links: such a link is refused, so that
// no file outside the store directory is read, replaced by a rename or
// created. The store directory itself may be a link (its target is
// checked), and so may an identity_file given explicitly: the user named
// that path, and its target is checked as the key file.

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

// openChecked opens the file what at path for reading, refusing a
// symbolic link unless follow is true, anything but a regular file, and a
// file another user owns or can write. A missing file (with follow, a
// link to a missing file too) is an error wrapping fs.ErrNotExist.
func openChecked(what, path string, follow bool) (*os.File, fs.FileInfo, error) {
	stat, flag := os.Lstat, os.O_RDONLY|oNoFollow
	if follow {
		stat, flag = os.Stat, os.O_RDONLY
	}
	// Checked before opening, so that neither a FIFO (open would block)
	// nor a link is opened.
	fi, err := stat(path)
	if err != nil {
		return nil, nil, err
	}
	if err := checkKind(what, path, fi); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		if isLinkLoop(err) {
			return nil, nil, symlinkError(what, path)
		}
		return nil, nil, err
	}
	// The checks that matter are on the file that was opened.
	if fi, err = f.Stat(); err == nil {
		if err = checkKind(what, path, fi); err == nil {
			err = secrets.CheckOwnership(what, path, fi)
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// checkKind refuses a symbolic link and anything but a regular file.
func checkKind(what, path string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return symlinkError(what, path)
	case !fi.Mode().IsRegular():
		kind := "a directory"
		if !fi.IsDir() {
			kind = "not a regular file (" + fi.Mode().Type().String() + ")"
		}
		return fmt.Errorf("%w: %s %s is %s; move it away", secrets.ErrCorrupt, what, secrets.Printable(path), kind)
	}
	return nil
}

// symlinkError refuses a link where a store keeps its own file.
func symlinkError(what, path string) error {
	target, err := os.Readlink(path)
	if err != nil {
		target = "?"
	}
	return fmt.Errorf("%w: %s %s is a symbolic link (to %s); links in the store directory are not followed, so that no file elsewhere is read, replaced or created: put the file itself in its place, or set the dir option to the directory the files are in", secrets.ErrPermission, what, secrets.Printable(path), secrets.Printable(target))
}

// lockFlag is how the lock file is opened: created 0600 if missing, never
// through a symbolic link, read-only where flock allows it.
func lockFlag() int {
	switch runtime.GOOS {
	case "aix", "solaris", "illumos":
		return os.O_CREATE | os.O_RDWR | oNoFollow
	}
	return os.O_CREATE | os.O_RDONLY | oNoFollow
}
