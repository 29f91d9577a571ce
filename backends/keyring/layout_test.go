package keyring

import (
	"context"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/secrets"
)

func TestEncodeName(t *testing.T) {
	tests := []struct{ name, key string }{
		{"API_TOKEN", "API_TOKEN"},
		{"_X1", "_X1"},
		{"a", "a-8"},
		{"lower_Case", "lower_Case-f9c"},
		{"aB", "aB-8"},
		{"Ab", "Ab-4"},
		{strings.Repeat("n", secrets.MaxNameLength), strings.Repeat("n", secrets.MaxNameLength) + "-" + strings.Repeat("f", 50)},
	}
	for _, tc := range tests {
		key := encodeName(tc.name)
		if key != tc.key {
			t.Errorf("encodeName(%q) = %q, want %q", tc.name, key, tc.key)
		}
		if len(key)+len(".gpg") > 255 {
			t.Errorf("encodeName(%q) is %d bytes: too long for a pass file name", tc.name, len(key))
		}
		for _, stored := range []string{key, strings.ToUpper(key), strings.ToLower(key)} {
			got, ok := decodeName(stored)
			if !ok || got != tc.name {
				t.Errorf("decodeName(%q) = %q, %v; want %q (the keychain may fold case)", stored, got, ok, tc.name)
			}
		}
	}
}

func TestEncodeNameCaseInsensitiveUnique(t *testing.T) {
	names := []string{"a", "A", "ab", "aB", "Ab", "AB", "a_b", "A_B", "x1", "X1", "lower_case", "LOWER_CASE", "Lower_case"}
	seen := map[string]string{}
	for _, n := range names {
		k := strings.ToUpper(encodeName(n))
		if prev, dup := seen[k]; dup {
			t.Errorf("names %q and %q give keys equal without regard to case (%q)", prev, n, k)
		}
		seen[k] = n
	}
}

// TestDecodeNameForeignKeys checks that keys encodeName does not give
// decode to nothing or to an invalid name, which secrets.Wrap leaves out
// of List: never to a secret that could be read.
func TestDecodeNameForeignKeys(t *testing.T) {
	for _, key := range []string{"", "1ABC", "A.0123.1", "a-", "a-zz", "API_TOKEN.ab.0", "a-8.0123.0", "dir/NAME", "a-80-1", "WITH SPACE", "FOO-AB"} {
		if n, ok := decodeName(key); ok && secrets.ValidateName(n) == nil {
			t.Errorf("decodeName(%q) = %q, a valid name; want rejection or an invalid name", key, n)
		}
	}
}

func TestScopeSegment(t *testing.T) {
	repos := []string{"github.com/org/repo", "github.com/org/repo2", "github.com/Org/Repo", "github.com/org/repo/sub",
		"/home/user/github.com/org/repo", "github.com_org_repo", strings.Repeat("x", 200) + "/a", strings.Repeat("x", 200) + "/b"}
	seen := map[string]string{}
	for _, r := range repos {
		s := scopeSegment(r)
		if strings.ContainsAny(s, "/\\:") || strings.HasPrefix(s, ".") || len(s) > 64+17 {
			t.Errorf("scopeSegment(%q) = %q: not one short file-name-safe segment", r, s)
		}
		if prev, dup := seen[strings.ToLower(s)]; dup {
			t.Errorf("repositories %q and %q share segment %q", prev, r, s)
		}
		seen[strings.ToLower(s)] = r
	}
	if got := scopeSegment("github.com/org/repo"); !strings.HasPrefix(got, "github.com_org_repo-") {
		t.Errorf("scopeSegment keeps no readable part: %q", got)
	}
}

func TestEncodeNameDocumented(t *testing.T) {
	if got := encodeName("api_token"); got != "api_token-ef8" {
		t.Errorf("encodeName(api_token) = %q; docs/keyring.md says api_token-ef8", got)
	}
}

// TestListLeavesOutForeignItems puts items other programs could have
// written next to ours in the real file keychain: List shows only the
// secrets.
func TestListLeavesOutForeignItems(t *testing.T) {
	m, s := openFileModule(t)
	ctx := context.Background()
	if err := s.Set(ctx, "OURS", "v"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"WITH SPACE", "1ABC", "dir/NAME", "a-zz", "API_TOKEN.ab.0", "my-app-token"} {
		if err := m.ring.Set(m.item(key, key, []byte("foreign"))); err != nil {
			t.Fatalf("storing foreign item %q: %v", key, err)
		}
	}
	names, err := s.List(ctx)
	if err != nil || strings.Join(names, ",") != "OURS" {
		t.Errorf("List = %v, %v; want [OURS]", names, err)
	}
}
