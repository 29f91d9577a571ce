package secrets

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Ownership checks, as OpenSSH (StrictModes) and git (safe.directory) do
// them: a file another user can write decides where secrets go, and a
// repository another user owns decides, through its origin remote, whose
// secrets run hands out.

// userName describes a uid for messages: "uid 1000 (alice)".
func userName(uid int) string {
	if name, _, ok := lookupUser(uid); ok && name != "" {
		return fmt.Sprintf("uid %d (%s)", uid, Printable(name))
	}
	return fmt.Sprintf("uid %d", uid)
}

// privateGroup reports whether gid is the user's own group (a user private
// group: the user's primary group, named like the user), whose write
// permission gives nobody else access. Debian's OpenSSH accepts
// group-writable files in that case too, and umask 002 makes them.
func privateGroup(uid, gid int) bool {
	name, ugid, ok := lookupUser(uid)
	if !ok || ugid != strconv.Itoa(gid) {
		return false
	}
	g, ok := lookupGroupName(gid)
	return ok && g == name
}

// checkConfigFile refuses a configuration file that someone other than the
// user (or root) owns or can write, or whose directory someone else can
// write (and so replace the file). The error wraps ErrPermission and says
// the fix.
func checkConfigFile(path string, fi fs.FileInfo) error {
	uid, gid, ok := fileOwner(fi)
	if !ok {
		return nil
	}
	me, _ := currentUser()
	p := Printable(path)
	if uid != me && uid != 0 {
		return fmt.Errorf("%w: configuration file %s is owned by %s, not by you (%s) or root, and it decides where your secrets go; take it over (chown %d %s) or use a file of your own", ErrPermission, p, userName(uid), userName(me), me, p)
	}
	mode := fi.Mode().Perm()
	if mode&0o002 != 0 || mode&0o020 != 0 && !privateGroup(uid, gid) {
		return fmt.Errorf("%w: configuration file %s can be written by other users (mode %04o), who could send your secrets elsewhere; run: chmod go-w %s", ErrPermission, p, mode, p)
	}
	dir := filepath.Dir(path)
	dfi, err := os.Stat(dir)
	if err != nil {
		return nil
	}
	duid, dgid, ok := fileOwner(dfi)
	if !ok {
		return nil
	}
	dmode := dfi.Mode()
	sticky := dmode&fs.ModeSticky != 0
	switch {
	case duid != me && duid != 0:
		return fmt.Errorf("%w: the directory %s of configuration file %s is owned by %s, who could replace the file; keep the configuration in a directory of yours", ErrPermission, Printable(dir), p, userName(duid))
	case !sticky && (dmode.Perm()&0o002 != 0 || dmode.Perm()&0o020 != 0 && !privateGroup(duid, dgid)):
		return fmt.Errorf("%w: the directory %s of configuration file %s can be written by other users (mode %04o), who could replace the file; run: chmod go-w %s", ErrPermission, Printable(dir), p, dmode.Perm(), Printable(dir))
	}
	return nil
}

// checkRepositoryOwner refuses a repository whose working tree, .git file
// or git directory is owned by another user, unless git's safe.directory
// (in the global or system git configuration) lists the working tree or
// "*". It mirrors git's rule (git 2.35.2 and later): root may also use
// the repositories of the user it runs for under sudo (SUDO_UID).
func checkRepositoryOwner(top, dotgit, gitDir string) error {
	me, _ := currentUser()
	if me < 0 {
		return nil
	}
	for _, p := range []string{top, dotgit, gitDir} {
		fi, err := os.Lstat(p)
		if err != nil {
			continue
		}
		uid, _, ok := fileOwner(fi)
		if !ok || uid == me {
			continue
		}
		if me == 0 {
			if s, err := strconv.Atoi(os.Getenv("SUDO_UID")); err == nil && uid == s {
				continue
			}
		}
		if safeDirectory(top) {
			return nil
		}
		return fmt.Errorf("%w: detected dubious ownership in repository at %s: %s is owned by %s, but the current user is %s; its origin remote decides whose secrets are used. If you trust it, add an exception as for git: git config --global --add safe.directory %s", ErrPermission, Printable(top), Printable(p), userName(uid), userName(me), Printable(top))
	}
	return nil
}

// safeDirectory reports whether git's safe.directory setting, read from
// the configuration files git reads it from (system, global; never the
// repository's own), allows the repository at top: "*", the path itself,
// or a path ending in "/*" that top is under. An empty value clears the
// list, as in git. include directives are not followed.
func safeDirectory(top string) bool {
	var values []string
	for _, f := range gitConfigFiles() {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		values = append(values, gitConfigValues(data, "safe", "directory")...)
	}
	if v := os.Getenv("GIT_CONFIG_COUNT"); v != "" {
		n, _ := strconv.Atoi(v)
		for i := range n {
			if strings.EqualFold(os.Getenv(fmt.Sprintf("GIT_CONFIG_KEY_%d", i)), "safe.directory") {
				values = append(values, os.Getenv(fmt.Sprintf("GIT_CONFIG_VALUE_%d", i)))
			}
		}
	}
	allowed := false
	for _, v := range values {
		switch {
		case v == "":
			allowed = false
		case v == "*":
			allowed = true
		default:
			if strings.HasPrefix(v, "~/") {
				if home, err := os.UserHomeDir(); err == nil {
					v = filepath.Join(home, v[2:])
				}
			}
			if prefix, ok := strings.CutSuffix(v, "/*"); ok {
				if pathUnder(top, prefix) {
					allowed = true
				}
			} else if samePath(top, v) {
				allowed = true
			}
		}
	}
	return allowed
}

// gitConfigFiles lists the files git reads safe.directory from.
func gitConfigFiles() []string {
	var files []string
	if os.Getenv("GIT_CONFIG_NOSYSTEM") == "" {
		if f := os.Getenv("GIT_CONFIG_SYSTEM"); f != "" {
			files = append(files, f)
		} else {
			files = append(files, "/etc/gitconfig")
		}
	}
	if f := os.Getenv("GIT_CONFIG_GLOBAL"); f != "" {
		return append(files, f)
	}
	xdg := os.Getenv("XDG_CONFIG_HOME")
	home, _ := os.UserHomeDir()
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	if xdg != "" {
		files = append(files, filepath.Join(xdg, "git", "config"))
	}
	if home != "" {
		files = append(files, filepath.Join(home, ".gitconfig"))
	}
	return files
}

func samePath(a, b string) bool {
	a, b = filepath.Clean(a), filepath.Clean(b)
	if a == b {
		return true
	}
	if rb, err := filepath.EvalSymlinks(b); err == nil {
		return a == rb
	}
	return false
}

func pathUnder(p, prefix string) bool {
	prefix = filepath.Clean(prefix)
	if rp, err := filepath.EvalSymlinks(prefix); err == nil {
		prefix = rp
	}
	return p == prefix || strings.HasPrefix(p, prefix+string(filepath.Separator))
}

// CheckOwnership refuses, as OpenSSH's StrictModes does, a file or
// directory through which secrets are kept (a store directory, a key file,
// a lock file) when a user other than the current one or root owns it, or
// when others, or a group other than the user's private group, can write
// it: such a user could read or change the secrets through it. fi
// describes path (from Stat, or Stat of an open file); what names it in
// the message ("store directory"). The error wraps ErrPermission and gives
// the command that fixes the problem. Where the system reports no owners
// (Windows) it reports nil.
func CheckOwnership(what, path string, fi fs.FileInfo) error {
	uid, gid, ok := fileOwner(fi)
	if !ok {
		return nil
	}
	me, _ := currentUser()
	p := Printable(path)
	if uid != me && uid != 0 {
		return fmt.Errorf("%w: %s %s is owned by %s, not by you (%s) or root, who could tamper with your secrets through it; if it is yours, take it over (chown %d %s), else use one of your own", ErrPermission, what, p, userName(uid), userName(me), me, p)
	}
	mode := fi.Mode().Perm()
	if mode&0o002 != 0 || mode&0o020 != 0 && !privateGroup(uid, gid) {
		return fmt.Errorf("%w: %s %s can be written by other users (mode %04o), who could tamper with your secrets through it; run: chmod go-w %s", ErrPermission, what, p, mode, p)
	}
	return nil
}
