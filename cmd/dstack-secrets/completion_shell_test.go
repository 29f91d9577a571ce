//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// moduleRoot is the checkout's root, relative to this package.
const moduleRoot = "../.."

// requireServices reports whether a missing program fails a test (CI)
// rather than skipping it.
func requireServices() bool { return os.Getenv("DSTACK_SECRETS_TEST_REQUIRE_SERVICES") == "1" }

// needProgram returns the path of a program the test runs, or skips (fails
// in CI) when it is not installed.
func needProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if requireServices() {
			t.Fatalf("%s is not installed (DSTACK_SECRETS_TEST_REQUIRE_SERVICES=1): scripts/services/peers.sh installs the Debian package %s", name, pkg)
		}
		t.Skipf("%s is not installed; install it (apt-get install %s) to run this test", name, pkg)
	}
	return p
}

// readmeInstall returns the install command that the README gives for a
// checkout: the line of a code block that runs "go install ./...".
func readmeInstall(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^(?:\$ )?(go install \./cmd/(?:\.\.\.|dstack-secrets(?: \./cmd/dstack-secrets-[a-z]+)*))\s*(?:#.*)?$`).FindSubmatch(data)
	if line == nil {
		t.Fatalf("README.md has no line 'go install ./cmd/...' in a code block")
	}
	return string(line[1])
}

// installFromReadme runs the README's install command in the checkout, as
// a newcomer who cloned the repository would, with GOBIN pointing to a
// temporary directory, and returns that directory (holding
// dstack-secrets and the programs of the vault, keyring and cloud
// backends).
func installFromReadme(t *testing.T) string {
	t.Helper()
	needProgram(t, "go", "golang")
	bin := t.TempDir()
	cmd := exec.Command("sh", "-c", readmeInstall(t))
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", readmeInstall(t), err, out)
	}
	for _, program := range []string{"dstack-secrets", "dstack-secrets-vault", "dstack-secrets-keyring", "dstack-secrets-cloud"} {
		if _, err := os.Stat(filepath.Join(bin, program)); err != nil {
			t.Fatalf("the README's install command did not install %s: %v", program, err)
		}
	}
	return bin
}

// TestReadmeInstallAndVersion installs the CLI the way the README says and
// checks that --version reports what the build recorded (go version -m):
// the git revision when the go command stamped one, else a development
// build. The go command stamps a build only in a checkout whose .git is a
// directory (not a linked worktree) when -buildvcs is not false; when the
// README's build was not stamped but the checkout allows it, a build with
// -buildvcs=true checks the revision against git rev-parse HEAD.
func TestReadmeInstallAndVersion(t *testing.T) {
	bin := filepath.Join(installFromReadme(t), "dstack-secrets")
	version := checkVersion(t, bin)
	if strings.Contains(version, "revision ") {
		return
	}
	if !strings.Contains(version, "(devel)") {
		t.Errorf("an unstamped build does not say (devel): %q", version)
	}
	if fi, err := os.Stat(filepath.Join(moduleRoot, ".git")); err != nil || !fi.IsDir() {
		t.Logf("the checkout is not a plain git clone (no .git directory; a linked worktree has a .git file): the go command records no revision")
		return
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Logf("no git: the go command records no revision")
		return
	}
	stamped := filepath.Join(t.TempDir(), "dstack-secrets")
	cmd := exec.Command("go", "build", "-o", stamped, "./cmd/dstack-secrets")
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly -buildvcs=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -buildvcs=true: %v\n%s", err, out)
	}
	head, err := exec.Command("git", "-C", moduleRoot, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	if v := checkVersion(t, stamped); !strings.Contains(v, "revision "+string(head[:12])) {
		t.Errorf("--version %q does not name the checkout's revision %s", v, head[:12])
	}
}

// checkVersion runs --version and version of bin, checks that they agree
// with each other and with the build information that go version -m reads
// from the binary, and returns the line.
func checkVersion(t *testing.T, bin string) string {
	t.Helper()
	version, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || !bytes.Equal(out, version) {
		t.Errorf("version %q differs from --version %q (%v)", out, version, err)
	}
	v := strings.TrimSuffix(string(version), "\n")
	if !strings.HasPrefix(v, "dstack-secrets version ") || strings.Contains(v, "\n") {
		t.Fatalf("--version: %q", version)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	recorded := map[string]string{}
	for _, line := range strings.Split(string(info), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			recorded["mod"] = f[2]
		case len(f) == 2 && f[0] == "build":
			k, val, _ := strings.Cut(f[1], "=")
			recorded[k] = val
		}
	}
	if rev := recorded["vcs.revision"]; rev != "" && !strings.Contains(v, "revision "+rev[:12]) {
		t.Errorf("--version %q does not show the recorded revision %s", v, rev)
	}
	if rev := recorded["vcs.revision"]; rev == "" && strings.Contains(v, "revision") {
		t.Errorf("--version %q shows a revision the build did not record", v)
	}
	if mod := recorded["mod"]; !strings.Contains(v, "version "+mod+" ") {
		t.Errorf("--version %q does not show the recorded module version %s", v, mod)
	}
	return v
}

// completionFixture is a home with a configuration of two projects and a
// repository with secrets in both, for completing in real shells.
type completionFixture struct {
	bin, home, repo, solo string
	env                   []string
}

// markerValue is the value of every secret: completion must never show it.
const markerValue = "VALUE-8c1f-never-completed"

func newCompletionFixture(t *testing.T) *completionFixture {
	t.Helper()
	f := &completionFixture{bin: installFromReadme(t), home: t.TempDir(), repo: filepath.Join(t.TempDir(), "repo")}
	os.MkdirAll(filepath.Join(f.repo, ".git"), 0o755)
	os.WriteFile(filepath.Join(f.repo, ".git", "HEAD"), []byte("ref: refs/heads/main\n"), 0o644)
	os.WriteFile(filepath.Join(f.repo, ".git", "config"), []byte("[remote \"origin\"]\n\turl = https://github.com/org/completion\n"), 0o644)
	os.WriteFile(filepath.Join(f.repo, "secrets.env"), []byte("A=b\n"), 0o600)
	cfg := filepath.Join(f.home, ".dstack", "secrets.yml")
	os.MkdirAll(filepath.Dir(cfg), 0o700)
	os.WriteFile(cfg, []byte("default_project: laptop\nprojects:\n  laptop:\n    backend: file\n  team:\n    backend: file\n    options:\n      dir: "+filepath.Join(f.home, "team")+"\n"), 0o600)
	f.solo = filepath.Join(f.home, "solo.yml")
	os.WriteFile(f.solo, []byte("projects:\n  solo:\n    backend: file\n"), 0o600)
	f.env = []string{"HOME=" + f.home, "PATH=" + f.bin + ":/usr/local/bin:/usr/bin:/bin", "TERM=xterm", "LANG=C", "LC_ALL=C"}
	for _, add := range [][]string{{"add", "TOKEN", markerValue}, {"add", "DB_PASSWORD", markerValue}, {"--project", "team", "add", "TEAM_KEY", markerValue}} {
		cmd := exec.Command(filepath.Join(f.bin, "dstack-secrets"), add...)
		cmd.Dir, cmd.Env = f.repo, f.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%q: %v: %s", add, err, out)
		}
	}
	return f
}

// completionCases are typed into each shell, followed by one TAB; the line
// must then read want. They complete a command, flags, flag values (bash
// splits --flag=value at '=' itself) and secret names, which follow the
// --project on the line.
func (f *completionFixture) completionCases() []struct{ typed, want string } {
	return []struct{ typed, want string }{
		{"dstack-secrets lis", "dstack-secrets list "},
		{"dstack-secrets completion zs", "dstack-secrets completion zsh "},
		{"dstack-secrets list --js", "dstack-secrets list --json "},
		{"dstack-secrets run --no-ov", "dstack-secrets run --no-override "},
		{"dstack-secrets get TO", "dstack-secrets get TOKEN "},
		{"dstack-secrets delete -y TOKEN DB", "dstack-secrets delete -y TOKEN DB_PASSWORD "},
		{"dstack-secrets --project te", "dstack-secrets --project team "},
		{"dstack-secrets list --project=te", "dstack-secrets list --project=team "},
		{"dstack-secrets --config=" + f.solo + " list --project=", "dstack-secrets --config=" + f.solo + " list --project=solo "},
		{"dstack-secrets --project team get TE", "dstack-secrets --project team get TEAM_KEY "},
		{"dstack-secrets get --project=team TE", "dstack-secrets get --project=team TEAM_KEY "},
		{"dstack-secrets import secr", "dstack-secrets import secrets.env "},
		{"dstack-secrets --config=secr", "dstack-secrets --config=secrets.env "},
	}
}

// interactiveShell is a shell running on a pseudo-terminal. Its startup
// file loads the completion script and binds Ctrl-X Ctrl-D to a function
// that writes the line being edited to dump: the test types a command, a
// TAB and Ctrl-X Ctrl-D, and reads what the real line editor holds after
// completing (no screen scraping).
type interactiveShell struct {
	t      *testing.T
	ptmx   *os.File
	dump   string
	mu     sync.Mutex
	screen bytes.Buffer
}

func startShell(t *testing.T, f *completionFixture, dump string, argv []string, env []string) *interactiveShell {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a safety net, not a timing assertion
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = f.repo
	cmd.Env = append(append([]string{}, f.env...), env...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 200})
	if err != nil {
		cancel()
		t.Fatalf("start %s: %v", argv[0], err)
	}
	s := &interactiveShell{t: t, ptmx: ptmx, dump: dump}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := bufio.NewReader(ptmx)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			s.mu.Lock()
			s.screen.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ptmx.Write([]byte("\x15exit\r"))
		waited := make(chan struct{})
		go func() { cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-waited
		}
		cancel()
		ptmx.Close()
		<-done
		if strings.Contains(s.text(), markerValue) {
			t.Errorf("%s showed a secret value on the terminal", argv[0])
		}
	})
	if got := s.waitDump(); got != "READY" {
		t.Fatalf("%s did not start: dump %q, screen %q", argv[0], got, s.text())
	}
	return s
}

func (s *interactiveShell) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen.String()
}

// waitDump waits for the dump file, then returns its content without the
// final newline and removes it.
func (s *interactiveShell) waitDump() string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := os.ReadFile(s.dump)
		if err == nil && bytes.HasSuffix(data, []byte("\n")) {
			os.Remove(s.dump)
			return strings.TrimSuffix(string(data), "\n")
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the shell never wrote its line; screen: %q", s.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// complete types typed, a TAB and the dump key, returns the line, and
// clears it (Ctrl-U).
func (s *interactiveShell) complete(typed string) string {
	s.t.Helper()
	// Keys typed before the line editor runs would go through the
	// terminal's canonical mode (Ctrl-D there ends the read): wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for !lineEditing(s.ptmx) {
		if time.Now().After(deadline) {
			s.t.Fatalf("the shell's line editor never started; screen: %q", s.text())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.ptmx.Write([]byte(typed + "\t\x18\x04")); err != nil {
		s.t.Fatal(err)
	}
	line := s.waitDump()
	if _, err := s.ptmx.Write([]byte("\x15")); err != nil {
		s.t.Fatal(err)
	}
	return line
}

func (f *completionFixture) check(t *testing.T, s *interactiveShell) {
	t.Helper()
	for _, tc := range f.completionCases() {
		if got := s.complete(tc.typed); got != tc.want {
			t.Errorf("%q + TAB gives %q, want %q", tc.typed, got, tc.want)
		}
	}
}

// TestCompletionInBash loads "completion bash" into an interactive bash
// (without the bash-completion package) through process substitution, as
// the help says, and completes with readline.
func TestCompletionInBash(t *testing.T) {
	bash := needProgram(t, "bash", "bash")
	f := newCompletionFixture(t)
	dir := t.TempDir()
	dump := filepath.Join(dir, "line")
	rc := filepath.Join(dir, "bashrc")
	os.WriteFile(rc, []byte(`PS1='$ '
source <(dstack-secrets completion bash)
__dump() { printf '%s\n' "$READLINE_LINE" > "$DUMP.tmp" && mv "$DUMP.tmp" "$DUMP"; }
bind -x '"\C-x\C-d": __dump'
echo READY > "$DUMP"
`), 0o600)
	s := startShell(t, f, dump, []string{bash, "--noprofile", "--rcfile", rc, "-i"}, []string{"DUMP=" + dump})
	f.check(t, s)
}

// TestCompletionInZsh loads "completion zsh" into an interactive zsh with
// the real completion system (compinit), both ways the help gives:
// sourced, and autoloaded as _dstack-secrets from $fpath.
func TestCompletionInZsh(t *testing.T) {
	zsh := needProgram(t, "zsh", "zsh")
	f := newCompletionFixture(t)
	script, err := exec.Command(filepath.Join(f.bin, "dstack-secrets"), "completion", "zsh").Output()
	if err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]string{
		"sourced":  "autoload -Uz compinit && compinit -u -d \"$ZDOTDIR/.zcompdump\"\nsource <(dstack-secrets completion zsh)\n",
		"autoload": "fpath=(\"$ZDOTDIR/functions\" $fpath)\nautoload -Uz compinit && compinit -u -d \"$ZDOTDIR/.zcompdump\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "functions"), 0o755)
			os.WriteFile(filepath.Join(dir, "functions", "_dstack-secrets"), script, 0o644)
			dump := filepath.Join(dir, "line")
			os.WriteFile(filepath.Join(dir, ".zshrc"), []byte(`PS1='$ '
bindkey -e
`+load+`__dump() { print -r -- "$BUFFER" > "$DUMP.tmp" && mv "$DUMP.tmp" "$DUMP"; }
zle -N __dump
bindkey '^X^D' __dump
echo READY > "$DUMP"
`), 0o600)
			// -d: no global startup files; ZDOTDIR: our .zshrc only.
			s := startShell(t, f, dump, []string{zsh, "-d", "-i"}, []string{"ZDOTDIR=" + dir, "DUMP=" + dump})
			f.check(t, s)
		})
	}
}

// TestCompletionInFish loads "completion fish" into fish and asks fish's
// own completion machinery (complete -C, which runs the completions of a
// command line as a TAB would) for the candidates.
func TestCompletionInFish(t *testing.T) {
	fish := needProgram(t, "fish", "fish")
	f := newCompletionFixture(t)
	script := filepath.Join(t.TempDir(), "dstack-secrets.fish")
	out, err := exec.Command(filepath.Join(f.bin, "dstack-secrets"), "completion", "fish").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(script, out, 0o644)
	for _, tc := range f.completionCases() {
		// fish lists the candidates of the last token; the expected line's
		// last word is the one candidate.
		words := strings.Fields(tc.want)
		want := words[len(words)-1]
		cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, tc.typed)
		cmd.Dir, cmd.Env = f.repo, f.env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("fish: %v", err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			cand, _, _ := strings.Cut(line, "\t")
			got = append(got, cand)
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("fish completes %q to %q, want %q", tc.typed, got, want)
		}
		if strings.Contains(string(out), markerValue) {
			t.Errorf("fish showed a secret value")
		}
	}
}
