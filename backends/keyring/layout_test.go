package keyring

import (
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

func TestDecodeNameRejectsForeignKeys(t *testing.T) {
	for _, key := range []string{"", "1ABC", "A.0123.1", "a-", "a-zz", "API_TOKEN.ab.0", "dir/NAME", "a-80-1", "WITH SPACE"} {
		if n, ok := decodeName(key); ok {
			t.Errorf("decodeName(%q) = %q, want rejection", key, n)
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

func TestChunkHead(t *testing.T) {
	for _, data := range []string{"plain value", chunkMagic, chunkMagic + "n:0:s", chunkMagic + "n:x:s", chunkMagic + "n:2"} {
		if _, ok := parseChunkHead([]byte(data)); ok {
			t.Errorf("parseChunkHead(%q) accepted a malformed head", data)
		}
	}
	h, ok := parseChunkHead([]byte(chunkMagic + "abcd:3:ff"))
	if !ok || h.nonce != "abcd" || h.n != 3 || h.sum != "ff" {
		t.Errorf("parseChunkHead = %+v, %v", h, ok)
	}
}

func TestEncodeNameDocumented(t *testing.T) {
	if got := encodeName("api_token"); got != "api_token-ef8" {
		t.Errorf("encodeName(api_token) = %q; docs/keyring.md says api_token-ef8", got)
	}
}
