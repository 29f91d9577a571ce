package secrets

import (
	"os"
	"os/user"
	"strconv"
	"testing"
)

// TestUserDatabaseMatchesOSUser compares the lookups of the ownership
// checks with package os/user for the users and groups of this system.
func TestUserDatabaseMatchesOSUser(t *testing.T) {
	for _, uid := range []int{0, os.Getuid(), 65534} {
		u, err := user.LookupId(strconv.Itoa(uid))
		name, gid, ok := lookupUser(uid)
		if (err == nil) != ok || err == nil && (u.Username != name || u.Gid != gid) {
			t.Errorf("uid %d: lookupUser = %q, %q, %v; os/user: %+v, %v", uid, name, gid, ok, u, err)
		}
	}
	for _, gid := range []int{0, os.Getgid(), 65534} {
		g, err := user.LookupGroupId(strconv.Itoa(gid))
		name, ok := lookupGroupName(gid)
		if (err == nil) != ok || err == nil && g.Name != name {
			t.Errorf("gid %d: lookupGroupName = %q, %v; os/user: %+v, %v", gid, name, ok, g, err)
		}
	}
	if _, _, ok := lookupUser(2147480000); ok {
		t.Errorf("a uid nobody has was found")
	}
}

func TestMatchEntry(t *testing.T) {
	data := []byte("# comment\n\nroot:x:0:0:root:/root:/bin/sh\n+nis\nalice:x:1000:1000::/home/alice:/bin/sh\n")
	if f := matchEntry(data, "1000", 2); len(f) != 7 || f[0] != "alice" {
		t.Errorf("matchEntry 1000 = %q", f)
	}
	if f := matchEntry(data, "1", 2); f != nil {
		t.Errorf("matchEntry 1 = %q", f)
	}
}
