package cloud

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/dstackai/dstack-secrets/backends/cloud/cloudtest"
	"github.com/dstackai/dstack-secrets/secrets"
)

// TestAgeCLIRecoversObject follows docs/cloud.md's recovery recipe for
// recipients mode with the real age, jq and tail programs: the object,
// downloaded as it is, minus its first line (the envelope) is an age file
// that every member decrypts with their own key (the generated age
// identity, or an SSH key), and its plaintext is the store document of
// docs/file-format.md.
func TestAgeCLIRecoversObject(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the recipe is a POSIX shell pipeline")
	}
	ageBin, jqBin := program(t, "age"), program(t, "jq")
	srv := cloudtest.S3(t)
	base := newBucket(t, srv)
	alice := person(t, base)
	carol := sshKeyFile(t, base, "ed25519", "")
	want := map[string]string{
		"MULTI_LINE": "line one\nline two\r\n\ttab",
		"QUOTED":     `she said "hi" \ back`,
		"UNICODE":    "héllo ✓ 日本 \u2028",
		"HTML":       "<b>&amp;</b>",
		"TOKEN":      "tok_0123456789",
	}
	if err := secrets.SetMany(ctxT(t), openT(t, testScope, alice), want, false); err != nil {
		t.Fatal(err)
	}
	key, err := Identity(ctxT(t), carol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ShareAdd(ctxT(t), testScope.Project, key.Key, "carol", alice); err != nil {
		t.Fatal(err)
	}
	data, _ := rawGet(t, projectT(t, alice), repoKey(testScope))
	object := filepath.Join(t.TempDir(), "repo.age")
	if err := os.WriteFile(object, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for who, idFile := range map[string]string{
		"alice (generated age identity)": filepath.Join(alice.Env.HomeDir, ".dstack", "secrets", DefaultIdentityFile),
		"carol (SSH ed25519 key)":        filepath.Join(carol.Env.HomeDir, ".ssh", "id_ed25519"),
	} {
		// The recipe: tail -n +2 OBJECT | age -d -i KEY | jq ...
		decrypt := func(filter ...string) []byte {
			t.Helper()
			args := append([]string{"-c", `tail -n +2 "$1" | "$2" -d -i "$3" | "$4" "${@:5}"`, "sh", object, ageBin, idFile, jqBin}, filter...)
			cmd := exec.Command("bash", args...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: the recipe failed: %v (%s)", who, err, strings.TrimSpace(stderr.String()))
			}
			return out
		}
		var doc struct {
			Format       string                       `json:"format"`
			Repositories map[string]map[string]string `json:"repositories"`
		}
		if err := json.Unmarshal(decrypt("."), &doc); err != nil {
			t.Fatalf("%s: the recipe gave no JSON: %v", who, err)
		}
		if doc.Format != "dstack-secrets/file/v2" || len(doc.Repositories) != 1 {
			t.Errorf("%s: format %s, %d repositories; want dstack-secrets/file/v2 and 1", who, doc.Format, len(doc.Repositories))
		}
		sameValues(t, who+": .repositories[$r]", doc.Repositories[testScope.Repository], want)
		names := strings.Fields(string(decrypt("-r", ".repositories[] | keys[]")))
		if !slices.Equal(names, secrets.SortedNames(want)) {
			t.Errorf("%s: the names recipe gave %q", who, names)
		}
		var one string
		if err := json.Unmarshal(decrypt("--arg", "n", "QUOTED", ".repositories[][$n]"), &one); err != nil || one != want["QUOTED"] {
			t.Errorf("%s: the one-value recipe: mismatch (%v)", who, err)
		}
	}
}

// program returns the path of a program the recipes use; see
// backends/file's program.
func program(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatalf("%s is not installed (scripts/services/agecli.sh installs it)", name)
	}
	t.Skipf("%s is not installed; install it with: apt-get install age jq (or run scripts/test)", name)
	return ""
}
