package envfmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// dumpEnvVar makes the test binary, started as a child, print its
// environment as a JSON object and exit (see TestMain): it is the program
// that checks what a shell exported.
const dumpEnvVar = "ENVFMT_TEST_DUMP_ENV"

func TestMain(m *testing.M) {
	if os.Getenv(dumpEnvVar) == "1" {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			name, value, _ := strings.Cut(kv, "=")
			env[name] = value
		}
		if err := json.NewEncoder(os.Stdout).Encode(env); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var shells = []string{"bash", "dash", "zsh"}

// shellRun runs script in the shell sh with no rc files and a bare
// environment, and returns its standard output.
func shellRun(t *testing.T, sh, script string, args ...string) []byte {
	t.Helper()
	path := requireProgram(t, sh, "apt-get install -y "+sh)
	argv := []string{"-c", script, "sh"}
	if sh == "zsh" {
		argv = append([]string{"-f"}, argv...)
	}
	cmd := exec.Command(path, append(argv, args...)...)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Env = []string{"PATH=/usr/bin:/bin", dumpEnvVar + "=1", "SELF=" + self}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// stderr may echo script text, which holds values: report its size only.
		t.Fatalf("%s: %v (%d bytes on stderr)", sh, err, stderr.Len())
	}
	return out
}

// TestShellEvalInRealShells evals the shell format in bash, dash and zsh,
// by command substitution and by sourcing, and compares every variable
// byte for byte twice: as the shell holds it (printf '%s' into a file) and
// as a child process receives it (the test binary dumping os.Environ).
func TestShellEvalInRealShells(t *testing.T) {
	vars := randomVars(42, 200)
	maps.Copy(vars, trickyVars())
	var doc bytes.Buffer
	if err := Shell().Write(&doc, vars, Options{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets.sh")
	if err := os.WriteFile(file, doc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var dump strings.Builder
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		fmt.Fprintf(&dump, "printf '%%s' \"$%s\" > \"$2/%s\" || exit 1\n", name, name)
	}
	for _, sh := range shells {
		for _, mode := range []string{`eval "$(cat "$1")"`, `. "$1"`} {
			t.Run(sh+"/"+strings.Fields(mode)[0], func(t *testing.T) {
				out := t.TempDir()
				env := shellRun(t, sh, mode+" || exit 1\n"+dump.String()+`exec "$SELF"`, file, out)
				var child map[string]string
				if err := json.Unmarshal(env, &child); err != nil {
					t.Fatalf("the child's environment dump is not JSON (%d bytes)", len(env))
				}
				inShell := map[string]string{}
				for name := range vars {
					b, err := os.ReadFile(filepath.Join(out, name))
					if err != nil {
						t.Fatal(err)
					}
					inShell[name] = string(b)
					if _, ok := child[name]; !ok {
						t.Fatalf("%s: not exported to the child", name)
					}
				}
				compareVars(t, sh+" variables", inShell, vars)
				for name := range child {
					if _, ok := vars[name]; !ok {
						delete(child, name)
					}
				}
				compareVars(t, sh+" child environment", child, vars)
			})
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":          "''",
		"abc":       "'abc'",
		"'":         `\'`,
		"it's":      `'it'\''s'`,
		"''":        `\'\'`,
		"'a'":       `\''a'\'`,
		"$x `y` \\": "'$x `y` \\'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestShellRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, value, want string
	}{
		{"UID", marker, "reserve"},
		{"RANDOM", marker, "reserve"},
		{"path", marker, "reserve"},
		{"_", marker, "reserve"},
		{"OK", marker + "\x00", "NUL"},
	} {
		var buf bytes.Buffer
		err := Shell().Write(&buf, map[string]string{"A": "1", tc.name: tc.value}, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name+":") {
			t.Fatalf("%s: error %v, want one naming it and %q", tc.name, err, tc.want)
		}
		checkNoValue(t, err)
		if buf.Len() != 0 {
			t.Fatal("partial write")
		}
	}
}

// TestShellReservedNamesComplete exports a test value under every special
// parameter the installed bash, dash and zsh report (and a fixed list of
// known ones) and checks that every name whose value does not reach a
// child process intact is in ShellReservedNames.
func TestShellReservedNamesComplete(t *testing.T) {
	candidates := map[string]bool{}
	for _, n := range strings.Fields(`PATH HOME IFS PS1 PS4 ENV BASH_ENV CDPATH FPATH MANPATH MAILPATH
		MODULE_PATH FIGNORE PSVAR WATCH TERM LANG LC_ALL PWD OLDPWD OPTARG POSIXLY_CORRECT TMOUT
		HISTFILE HISTFILESIZE BASH_XTRACEFD BASH_COMPAT BASH_ARGV0 PIPESTATUS BASH_REMATCH KEYTIMEOUT
		LISTMAX ZLE_RPROMPT_INDENT PERIOD LOGCHECK REPORTTIME DIRSTACKSIZE BAUD COMP_WORDBREAKS`) {
		candidates[n] = true
	}
	for _, n := range ShellReservedNames {
		candidates[n] = true
	}
	for _, n := range strings.Fields(string(shellRun(t, "zsh", `for k in ${(k)parameters}; do [[ ${parameters[$k]} == *special* ]] && print -r -- $k; done; exit 0`))) {
		candidates[n] = true
	}
	for _, n := range strings.Fields(string(shellRun(t, "bash", `compgen -v`))) {
		candidates[n] = true
	}
	names := slices.Sorted(maps.Keys(candidates))
	names = slices.DeleteFunc(names, func(n string) bool { return !ValidName(n) })
	const value = "a b'c\"d$e`f\\g\nh\ri✓:x::"
	var script strings.Builder
	for _, n := range names {
		// Each name in a subshell; printenv shows what a child gets.
		// $2 is ShellQuote(value): "$2" puts it into the eval'd text as it is.
		fmt.Fprintf(&script, "( eval \"export %s=$2\" 2>/dev/null; /usr/bin/printenv %s > \"$1/%s\" ) 2>/dev/null\n", n, n, n)
	}
	for _, sh := range shells {
		out := t.TempDir()
		shellRun(t, sh, script.String()+"exit 0", out, ShellQuote(value))
		var missing []string
		for _, n := range names {
			b, _ := os.ReadFile(filepath.Join(out, n))
			if string(b) != value+"\n" && !slices.Contains(ShellReservedNames, n) {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s does not export these names as written; add them to ShellReservedNames: %s", sh, strings.Join(missing, " "))
		}
	}
	if len(names) < 150 {
		t.Fatalf("only %d candidate names; the shells listed too few", len(names))
	}
}

func TestShellRead(t *testing.T) {
	ok := map[string]map[string]string{
		"":                                     {},
		"# comment\n\nexport A='1'\n":          {"A": "1"},
		"export A=\\''x'\\'\nexport B=''\n":    {"A": "'x'", "B": ""},
		"export A='multi\nline'\nexport B='2'": {"A": "multi\nline", "B": "2"},
		"export A=\n":                          {"A": ""},
	}
	for in, want := range ok {
		got, err := Shell().Read([]byte(in))
		if err != nil {
			t.Fatalf("Read(%q): %v", in, err)
		}
		compareVars(t, "shell", got, want)
	}
	for in, want := range map[string]string{
		"A='" + marker + "'\n":                      "line 1: expected export NAME='value'",
		"export A=" + marker + "\n":                 "line 1: A: unexpected text",
		"export A='x'\nexport B='" + marker:         "line 2: B: the single-quoted value is not closed",
		"export A='x'\nexport A='" + marker + "'\n": "line 2: A: assigned more than once (also on line 1)",
		"export A='\n\n'\nexport 1='x'\n":           "line 4: expected export",
		"export A='" + marker + "\xff'":             "line 1: not valid UTF-8",
		"export A='x' # " + marker:                  "line 1: A: unexpected text",
	} {
		_, err := Shell().Read([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Read: error %v, want %q", err, want)
		}
		checkNoValue(t, err)
	}
}
