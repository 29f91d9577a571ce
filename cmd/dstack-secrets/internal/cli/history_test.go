package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/dstackai/dstack-secrets/secrets"
)

// vaultHarness is a harness whose default project "team" is on the Vault
// dev server of scripts/services/vault.sh, in layout, under a fresh
// prefix (returned).
func vaultHarness(t *testing.T, layout string) (*harness, string) {
	addr, token := os.Getenv("DSTACK_SECRETS_TEST_VAULT_ADDR"), os.Getenv("DSTACK_SECRETS_TEST_VAULT_TOKEN")
	requireService(t, addr != "" && token != "", "the Vault dev server", "vault.sh")
	h := newHarness(t)
	h.vars["VAULT_ADDR"], h.vars["VAULT_TOKEN"] = addr, token
	prefix := "cli-history-" + randomID(t)
	h.useConfig("default_project: team\nprojects:\n  team:\n    backend: vault\n    options:\n      prefix: " + prefix + "\n      layout: " + layout + "\n")
	return h, prefix
}

func TestHistoryAndRollback(t *testing.T) {
	for _, layout := range []string{"entry", "bundle"} {
		t.Run(layout, func(t *testing.T) {
			h, _ := vaultHarness(t, layout)
			values := []string{"first " + marker, "second " + marker, "third " + marker}
			h.want(h.run("", "add", "TOKEN", values[0]), 0, "")
			for _, v := range values[1:] {
				h.want(h.run("", "add", "-y", "TOKEN", v), 0, "")
				h.want(h.run("", "add", "-y", "OTHER", v), 0, "")
			}
			r := h.run("", "history", "TOKEN")
			if r.code != 0 || strings.Contains(r.stdout, marker) {
				t.Fatalf("history: exit %d, stderr %q, values shown: %v", r.code, r.stderr, strings.Contains(r.stdout, marker))
			}
			lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
			if len(lines) != 4 || !strings.HasPrefix(lines[0], "VERSION  WRITTEN") || !strings.HasSuffix(lines[1], "current") {
				t.Fatalf("history of 3 versions printed:\n%s", r.stdout)
			}
			var vs []versionJSON
			r = h.run("", "history", "--json", "TOKEN")
			if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil || len(vs) != 3 || !vs[2].Current || vs[0].Time == "" {
				t.Fatalf("history --json: %q, %v", r.stdout, err)
			}
			first := vs[0].Version
			if r := h.run("", "get", "--version", itoa(first), "TOKEN"); r.code != 0 || r.stdout != values[0] {
				t.Fatalf("get --version %d: exit %d, stderr %q, value mismatch", first, r.code, r.stderr)
			}
			h.want(h.run("", "rollback", "--to", itoa(first), "TOKEN"), 0, "Rolled back TOKEN in project \"team\" (repository github.com/org/repo) to the value of version "+itoa(first))
			if r := h.run("", "get", "TOKEN"); r.stdout != values[0] {
				t.Fatalf("after rollback get prints something else")
			}
			h.want(h.run("", "rollback", "--to", itoa(first), "TOKEN"), 0, "already has the value of version")
			h.want(h.run("", "rollback", "--to", "999", "TOKEN"), 1, "version 999 of \"TOKEN\"")
			h.want(h.run("", "get", "--version", "999", "TOKEN"), 1, "version 999")
			h.want(h.run("", "rollback", "TOKEN"), 2, "rollback: missing --to VERSION")
			h.want(h.run("", "get", "--version", "-1", "TOKEN"), 2, "numbered from 1")
			h.want(h.run("", "history", "NEVER"), 1, `secret not found: "NEVER"`)
			// A deleted secret comes back.
			h.want(h.run("", "delete", "-y", "OTHER"), 0, "")
			if layout == "bundle" {
				r := h.run("", "history", "--json", "OTHER")
				if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil || len(vs) != 3 || !vs[2].Deleted {
					t.Fatalf("history of a deleted secret: %q, %v", r.stdout, err)
				}
				h.want(h.run("", "rollback", "--to", itoa(vs[1].Version), "OTHER"), 0, "Rolled back OTHER")
				if r := h.run("", "get", "OTHER"); r.stdout != values[2] {
					t.Fatalf("a deleted secret rolled back: get prints something else")
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHistoryNotSupported(t *testing.T) {
	h := newHarness(t)
	h.want(h.run("", "add", "TOKEN", marker), 0, "")
	for _, args := range [][]string{{"history", "TOKEN"}, {"get", "--version", "1", "TOKEN"}, {"rollback", "--to", "1", "TOKEN"}} {
		r := h.run("", args...)
		h.want(r, 1, "not supported by backend file")
		if r.stdout != "" {
			t.Errorf("%q printed %q", args, r.stdout)
		}
	}
}

// TestForeignEntryWarning: list and export skip an entry another tool
// wrote, with one warning naming it; get of it explains.
func TestForeignEntryWarning(t *testing.T) {
	h, prefix := vaultHarness(t, "entry")
	h.want(h.run("", "add", "OURS", "v"), 0, "")
	cfg := api.DefaultConfig()
	cfg.Address = h.vars["VAULT_ADDR"]
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(h.vars["VAULT_TOKEN"])
	if _, err := c.KVv2("secret").Put(context.Background(), prefix+"/team/github.com/org/repo/OTHER", map[string]any{"password": "p"}); err != nil {
		t.Fatal(err)
	}
	r := h.run("", "list")
	if r.code != 0 || r.stdout != "OURS\n" || strings.Count(r.stderr, "dstack-secrets: warning: skipped OTHER") != 1 {
		t.Fatalf("list with a foreign entry: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = h.run("", "export", "--format", "json")
	if r.code != 0 || strings.Contains(r.stdout, "OTHER") || strings.Count(r.stderr, "warning: skipped OTHER") != 1 {
		t.Fatalf("export with a foreign entry: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	h.want(h.run("", "get", "OTHER"), 1, `has no string field "value"`)
}

// TestTimeoutFlag: --timeout bounds the retries against a Vault that is
// down, and the error names the node.
func TestTimeoutFlag(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	h := newHarness(t)
	h.vars["VAULT_TOKEN"] = "t"
	h.useConfig("default_project: team\nprojects:\n  team:\n    backend: vault\n    options:\n      address: " + dead + "\n      kv_version: 2\n")
	start := time.Now()
	h.want(h.run("", "--timeout", "1s", "list"), 1, "cannot reach Vault at "+dead)
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("list with --timeout 1s against a dead Vault took %v", took)
	}
	// Retrying for longer says so once, on stderr.
	r := h.run("", "--timeout", "3s", "list")
	h.want(r, 1, "cannot reach Vault at "+dead)
	if n := strings.Count(r.stderr, "dstack-secrets: warning: Vault at "+dead+" does not answer (dial tcp"); n != 1 {
		t.Errorf("a 3 s retry against a dead Vault warned %d times, want once: %q", n, r.stderr)
	}
	h.want(h.run("", "list", "--timeout", "soon"), 2, "invalid value")
}

func TestCommandName(t *testing.T) {
	for args, want := range map[string]string{
		"run -- env":                 "run",
		"--project p --repo r run x": "run",
		"--timeout=5s import f":      "import",
		"--config run list":          "list",
		"-h":                         "",
		"":                           "",
		"--bogus run":                "",
	} {
		if got := CommandName(strings.Fields(args)); got != want {
			t.Errorf("CommandName(%q) = %q, want %q", args, got, want)
		}
	}
}

// TestCopyBetweenLayouts moves a repository's secrets from the entry
// layout to the bundle layout and back with copy, byte for byte.
func TestCopyBetweenLayouts(t *testing.T) {
	h, prefix := vaultHarness(t, "entry")
	h.useConfig("default_project: team\nprojects:\n" +
		"  team:\n    backend: vault\n    options:\n      prefix: " + prefix + "\n" +
		"  team-bundle:\n    backend: vault\n    options:\n      prefix: " + prefix + "-bundle\n      layout: bundle\n" +
		"  back:\n    backend: vault\n    options:\n      prefix: " + prefix + "-back\n")
	want := trickyWithMarker()
	src := h.openProject("team", nil)
	if err := secrets.SetMany(context.Background(), src, want, false); err != nil {
		t.Fatal(err)
	}
	h.want(h.run("", "copy", "--to-project", "team-bundle"), 0, "Copied 17 secrets")
	h.want(h.run("", "copy", "--from-project", "team-bundle", "--to-project", "back"), 0, "Copied 17 secrets")
	for _, p := range []string{"team-bundle", "back"} {
		got := h.allOf(p)
		if len(got) != len(want) {
			t.Fatalf("%s holds %d secrets, want %d", p, len(got), len(want))
		}
		for n, v := range want {
			if got[n] != v {
				t.Errorf("%s: %s differs after the copy", p, n)
			}
		}
	}
}
