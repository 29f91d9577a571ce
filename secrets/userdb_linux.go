package secrets

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The user and group database on Linux, for the messages and the private
// group rule of the ownership checks (ownership.go), without package
// os/user: with cgo, os/user links the C library, and every command of
// the CLI would pay for the dynamic loader and cgo's start-up (about half
// a millisecond, a fifth of "dstack-secrets list"). /etc/passwd and
// /etc/group are read as os/user's pure-Go lookup reads them; a user or
// group they do not have (LDAP, SSSD) is looked up with getent, which
// asks the system's name services as the C library would. Neither is on
// the path of a command that succeeds.

// lookupUser returns the name and primary group of the user uid.
func lookupUser(uid int) (name, gid string, ok bool) {
	id := strconv.Itoa(uid)
	f := findEntry("/etc/passwd", "passwd", id, 2)
	if len(f) < 4 {
		return "", "", false
	}
	return f[0], f[3], true
}

// lookupGroupName returns the name of the group gid.
func lookupGroupName(gid int) (string, bool) {
	f := findEntry("/etc/group", "group", strconv.Itoa(gid), 2)
	if len(f) < 3 {
		return "", false
	}
	return f[0], true
}

// findEntry returns the fields of the entry of file (database db, for
// getent) whose field number idField is id.
func findEntry(file, db, id string, idField int) []string {
	if data, err := os.ReadFile(file); err == nil {
		if f := matchEntry(data, id, idField); f != nil {
			return f
		}
	}
	out, err := exec.Command("getent", db, id).Output()
	if err != nil {
		return nil
	}
	return matchEntry(out, id, idField)
}

// matchEntry finds the line of data (in the colon-separated format of
// /etc/passwd and /etc/group) whose field idField is id.
func matchEntry(data []byte, id string, idField int) []string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) > idField && f[idField] == id {
			return f
		}
	}
	return nil
}
