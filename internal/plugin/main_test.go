//go:build unix

package plugin

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestMainByHand(t *testing.T) {
	reg := func() *secrets.Registry {
		t.Error("the registry was made for a command line that does not serve")
		return testRegistry()
	}
	var out, errb bytes.Buffer
	if code := runMain("fake", []string{"-h"}, reg, strings.NewReader(""), &out, &errb); code != 0 || !strings.Contains(out.String(), "Usage: dstack-secrets-fake serve-plugin") || !strings.Contains(out.String(), "go install ./cmd/...") {
		t.Errorf("-h: exit %d, %q", code, out.String())
	}
	for _, args := range [][]string{nil, {"list"}, {ServeArg, "x"}} {
		out.Reset()
		errb.Reset()
		if code := runMain("fake", args, reg, strings.NewReader(""), &out, &errb); code != 2 || out.Len() != 0 ||
			!strings.Contains(errb.String(), "dstack-secrets-fake: this program is started by dstack-secrets, with the single argument serve-plugin") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}

func TestMainServes(t *testing.T) {
	var out, errb bytes.Buffer
	// Input that ends at once: the greeting, then a clean exit.
	code := runMain("fake", []string{ServeArg}, testRegistry, strings.NewReader(""), &out, &errb)
	if code != 0 || !strings.HasPrefix(out.String(), `{"protocol":2,"backends":[{"name":"fake"},{"name":"file"}]}`) {
		t.Errorf("serve on empty input: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	out.Reset()
	code = runMain("fake", []string{ServeArg}, testRegistry, strings.NewReader("not json\n"), &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "dstack-secrets-fake: plugin: reading the requests:") {
		t.Errorf("serve on garbage: exit %d, stderr %q", code, errb.String())
	}
}
