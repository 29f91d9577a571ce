package cloud

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestRepositoriesObjects: Repositories counts the objects of repositories
// only (other objects under the project are not repositories), and an
// object that does not verify fails the listing, naming it, with no value
// in the message.
func TestRepositoriesObjects(t *testing.T) {
	srv := cloudtest.S3(t)
	opts := person(t, newBucket(t, srv))
	s := openT(t, testScope, opts)
	mustSet(t, s, "DB_PASSWORD", secretValue)
	local := secrets.Scope{Project: testScope.Project, Repository: "/srv/app"}
	mustSet(t, openT(t, local, opts), "A", "1")
	mustSet(t, openT(t, local, opts), "B", "2")
	p := projectT(t, opts)
	for _, key := range []string{"team/repos/notes.txt", "team/other.age", "team/repos/.age", "teams/repos/x.org/y/z.age"} {
		rawPut(t, p, key, []byte("not a document"), version{})
	}
	got, err := secrets.Repositories(ctxT(t), s)
	if want := map[string]int{testScope.Repository: 1, "/srv/app": 2}; err != nil || !maps.Equal(got, want) {
		t.Fatalf("Repositories = %v, %v; want %v", got, err, want)
	}

	// A damaged object of another repository fails the listing.
	bad := secrets.Scope{Project: testScope.Project, Repository: "example.org/broken/repo"}
	rawPut(t, p, repoKey(bad), []byte(secretValue), version{})
	_, err = secrets.Repositories(ctxT(t), s)
	if !errors.Is(err, secrets.ErrCorrupt) || !strings.Contains(err.Error(), repoKey(bad)) {
		t.Errorf("Repositories with a damaged object: got %v, want a damaged-document error naming it", err)
	}
	checkNoValue(t, err, secretValue)
}
