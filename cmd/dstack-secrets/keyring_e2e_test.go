package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
)

// requireKeychainService skips (or, under scripts/test, fails) a test that
// needs what scripts/services/keychains.sh provides.
func requireKeychainService(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	msg := what + " is not available; run scripts/test, which starts the keychains"
	if os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func randomSuffix(t *testing.T) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// searchItems returns the Secret Service items with the given attributes.
func searchItems(t *testing.T, attrs map[string]string) []dbus.ObjectPath {
	t.Helper()
	conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var unlocked, locked []dbus.ObjectPath
	err = conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.SearchItems", 0, attrs).Store(&unlocked, &locked)
	if err != nil {
		t.Fatal(err)
	}
	return append(unlocked, locked...)
}

// TestMainKeyring runs add, list and delete with "backend: keyring" against
// the real gnome-keyring started by scripts/services/keychains.sh.
func TestMainKeyring(t *testing.T) {
	requireKeychainService(t, os.Getenv("DSTACK_SECRETS_TEST_KEYRING") == "1", "gnome-keyring on a private D-Bus session bus")
	pluginsInPath(t)
	enterRepo(t, "https://github.com/org/keyring-e2e.git")
	service := "dstack-secrets-test-e2e-" + randomSuffix(t)
	attrs := map[string]string{"service": service}
	t.Cleanup(func() {
		conn, err := dbus.Connect(os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
		if err != nil {
			return
		}
		defer conn.Close()
		for _, p := range searchItems(t, attrs) {
			conn.Object("org.freedesktop.secrets", p).Call("org.freedesktop.Secret.Item.Delete", 0)
		}
	})
	config := filepath.Join(os.Getenv("HOME"), ".dstack", "secrets.yml")
	if err := os.MkdirAll(filepath.Dir(config), 0o700); err != nil {
		t.Fatal(err)
	}
	yml := "projects:\n  desk:\n    backend: keyring\n    options:\n      keychains: [secret-service]\n      service: " + service + "\n"
	if err := os.WriteFile(config, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	if code, _, stderr := runMain(t, "", "add", "API_TOKEN", "s3cr3t value"); code != 0 {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runMain(t, "", "add", "OTHER", "x"); code != 0 {
		t.Fatalf("add: exit %d: %s", code, stderr)
	}
	if code, out, stderr := runMain(t, "", "list"); code != 0 || out != "API_TOKEN\nOTHER\n" {
		t.Fatalf("list: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	// The secret is an item of gnome-keyring, found by its attributes.
	items := searchItems(t, map[string]string{"service": service, "project": "desk",
		"repository": "github.com/org/keyring-e2e", "name": "API_TOKEN"})
	if len(items) != 1 {
		t.Fatalf("gnome-keyring holds %d items for API_TOKEN, want 1", len(items))
	}
	if code, _, stderr := runMain(t, "", "delete", "-y", "API_TOKEN"); code != 0 {
		t.Fatalf("delete: exit %d: %s", code, stderr)
	}
	if code, out, stderr := runMain(t, "", "list"); code != 0 || out != "OTHER\n" {
		t.Fatalf("list after delete: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	if code, _, stderr := runMain(t, "", "delete", "-y", "API_TOKEN"); code == 0 || !strings.Contains(stderr, "API_TOKEN") {
		t.Fatalf("delete of a missing secret: exit %d, stderr %q", code, stderr)
	}
	if n := len(searchItems(t, attrs)); n != 1 {
		t.Fatalf("gnome-keyring holds %d items of the test, want 1 (OTHER)", n)
	}
}

// TestNoDbusDaemonLeak is the test for 99designs/keyring issue #103: with
// dbus-x11's dbus-launch on the PATH and no session bus address, a program
// importing the unpatched module leaves a dbus-daemon behind. The test
// proves it can see that leak with a control program built against the
// unpatched module, then runs the CLI binary (and, for keyring projects,
// dstack-secrets-keyring beside it, which imports the module) in the same
// conditions and requires that no process outlives them. Processes are recognised by a unique variable in their
// environment, which every descendant inherits.
func TestNoDbusDaemonLeak(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	launchDir := os.Getenv("DSTACK_SECRETS_TEST_DBUS_LAUNCH_DIR")
	if launchDir == "" {
		if p, err := exec.LookPath("dbus-launch"); err == nil {
			launchDir = filepath.Dir(p)
		}
	}
	requireKeychainService(t, launchDir != "", "dbus-launch (from the dbus-x11 package, unpacked by scripts/services/keychains.sh)")
	if _, err := os.Stat(filepath.Join(launchDir, "dbus-launch")); err != nil {
		t.Fatalf("no dbus-launch in %s: %v", launchDir, err)
	}
	tmp := t.TempDir()

	// The CLI, built as users build it, with the program of the keyring
	// backend beside it.
	cli := filepath.Join(tmp, "dstack-secrets")
	goBuild(t, ".", nil, "-o", tmp+string(filepath.Separator), ".", "../dstack-secrets-keyring")

	// The control: a program importing the unpatched module, built in a
	// module with our requirements but without our replace directive.
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctl := filepath.Join(tmp, "control")
	src := filepath.Join(tmp, "controlsrc")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gomod = regexp.MustCompile(`(?m)^module .*$`).ReplaceAll(gomod, []byte("module leakcontrol"))
	gomod = regexp.MustCompile(`(?m)^replace github.com/99designs/keyring .*$`).ReplaceAll(gomod, nil)
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(src, "go.mod"), gomod)
	writeFile(t, filepath.Join(src, "go.sum"), gosum)
	writeFile(t, filepath.Join(src, "main.go"), []byte("package main\n\nimport \"github.com/99designs/keyring\"\n\nfunc main() { println(len(keyring.AvailableBackends())) }\n"))
	goBuild(t, src, []string{"GOFLAGS=-mod=mod"}, "-o", ctl, ".")

	home := t.TempDir()
	repo := filepath.Join(t.TempDir(), "repo")
	if err := os.MkdirAll(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"))
	writeFile(t, filepath.Join(repo, ".git", "config"), []byte("[remote \"origin\"]\n\turl = https://github.com/org/leak.git\n"))
	keyringConfig := filepath.Join(home, "keyring.yml")
	writeFile(t, keyringConfig, []byte("projects:\n  desk:\n    backend: keyring\n"))

	leaked := runWatched(t, ctl, nil, repo, home, launchDir)
	daemons := 0
	for _, p := range leaked {
		if p.comm == "dbus-daemon" {
			daemons++
		}
	}
	if daemons == 0 {
		t.Fatalf("the control program importing the unpatched 99designs/keyring left no dbus-daemon behind (left %v): this test cannot see the leak here, so it proves nothing", leaked)
	}
	t.Logf("control (unpatched 99designs/keyring): %d process(es) left behind: %v", len(leaked), leaked)

	runs := []struct {
		name string
		args []string
		env  []string
	}{
		{"help", []string{"-h"}, nil},
		{"file backend list", []string{"list"}, nil},
		{"file backend add", []string{"add", "TOKEN", "value"}, nil},
		{"keyring backend list", []string{"list"}, []string{"DSTACK_SECRETS_CONFIG=" + keyringConfig}},
		{"keyring backend add", []string{"add", "TOKEN", "value"}, []string{"DSTACK_SECRETS_CONFIG=" + keyringConfig}},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			if left := runWatched(t, cli, r.args, repo, home, launchDir, r.env...); len(left) > 0 {
				t.Errorf("dstack-secrets %s left %d process(es) behind: %v", strings.Join(r.args, " "), len(left), left)
			}
		})
	}
}

type proc struct {
	pid  int
	comm string
}

func goBuild(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runWatched runs bin in dir with dbus-launch on the PATH and no session
// bus (no DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR or DISPLAY), waits for
// it, and returns the processes it left behind. They are killed when the
// test ends.
func runWatched(t *testing.T, bin string, args []string, dir, home, launchDir string, extraEnv ...string) []proc {
	t.Helper()
	marker := "DSTACK_SECRETS_LEAK_MARKER=" + randomSuffix(t)
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "DISPLAY", "WAYLAND_DISPLAY", "PATH", "HOME", "DSTACK_SECRETS_CONFIG":
		default:
			env = append(env, kv)
		}
	}
	env = append(env, marker, "HOME="+home, "PATH="+launchDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	env = append(env, extraEnv...)
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // the exit status does not matter here, what remains does
	t.Logf("%s %s: %s", filepath.Base(bin), strings.Join(args, " "), strings.TrimSpace(out.String()))
	var left []proc
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(environ, []byte("\x00"+marker+"\x00")) && !bytes.HasPrefix(environ, []byte(marker+"\x00")) {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		left = append(left, proc{pid: pid, comm: strings.TrimSpace(string(comm))})
		t.Cleanup(func() {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		})
	}
	return left
}
