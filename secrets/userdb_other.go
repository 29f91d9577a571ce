//go:build !linux

package secrets

import (
	"os/user"
	"strconv"
)

// lookupUser returns the name and primary group of the user uid (see
// userdb_linux.go for Linux).
func lookupUser(uid int) (name, gid string, ok bool) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", "", false
	}
	return u.Username, u.Gid, true
}

// lookupGroupName returns the name of the group gid.
func lookupGroupName(gid int) (string, bool) {
	g, err := user.LookupGroupId(strconv.Itoa(gid))
	if err != nil {
		return "", false
	}
	return g.Name, true
}
