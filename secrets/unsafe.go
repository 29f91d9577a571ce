package secrets

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Names that take over a process.
//
// Secrets reach programs as environment variables, and some variables make
// a program load or run code chosen by whoever sets them: LD_PRELOAD loads
// a library into every dynamically linked program, BASH_ENV is a script
// every non-interactive bash runs first, NODE_OPTIONS=--require=... runs a
// module in every node process. A secret of such a name, stored by anyone
// who can write the project's store (a shared Vault path, for instance),
// would run code on every teammate's "run". So these names are refused when
// a secret is written and when a child process is prepared, unless the
// project's configuration allows them by name:
//
//	projects:
//	  main:
//	    backend: vault
//	    allow_unsafe_names: [PATH]
//
// The deny list (unsafeNames, unsafePrefixes) is documented in
// docs/security.md; TestUnsafeNamesDocumented keeps the two in step.

// unsafeNames maps each denied variable to what it does, for messages.
// It is built on first use: most commands never look at it.
var unsafeNames = sync.OnceValue(func() map[string]string {
	return map[string]string{
		// Shells.
		"BASH_ENV":       "a script every non-interactive bash runs first",
		"ENV":            "a script sh, dash and interactive shells run first",
		"ZDOTDIR":        "the directory zsh reads its startup files from",
		"SHELLOPTS":      "bash options (with PS4, xtrace runs commands)",
		"BASHOPTS":       "bash options",
		"PROMPT_COMMAND": "a command bash runs before every prompt",
		"PS0":            "a bash prompt, expanded with command substitution",
		"PS1":            "the shell prompt, expanded with command substitution",
		"PS2":            "a shell prompt, expanded with command substitution",
		"PS3":            "a shell prompt, expanded with command substitution",
		"PS4":            "the bash trace prompt, expanded with command substitution",
		"IFS":            "how the shell splits words",
		"PATH":           "where programs are looked up",
		"CDPATH":         "where the shell's cd looks for directories",
		// The dynamic loader and the C library.
		"GCONV_PATH":     "where glibc loads character set converters (shared libraries) from",
		"GLIBC_TUNABLES": "glibc settings of every program",
		"OPENSSL_CONF":   "an OpenSSL configuration, which can load engines (shared libraries)",
		// Interpreters and runtimes.
		"NODE_OPTIONS":      "options of every node process (--require runs a module)",
		"NODE_PATH":         "where node looks for modules",
		"PYTHONSTARTUP":     "a file interactive python runs first",
		"PYTHONPATH":        "where python imports modules from",
		"PYTHONHOME":        "where python finds its standard library",
		"PYTHONWARNINGS":    "python warning filters, which import the modules they name",
		"PYTHONBREAKPOINT":  "the function python's breakpoint() imports and calls",
		"PYTHONINSPECT":     "makes python enter interactive mode after the script",
		"PERL5OPT":          "options of every perl process (-M loads a module)",
		"PERL5LIB":          "where perl loads modules from",
		"PERLLIB":           "where perl loads modules from",
		"PERL5DB":           "the debugger perl loads",
		"RUBYOPT":           "options of every ruby process (-r loads a library)",
		"RUBYLIB":           "where ruby loads libraries from",
		"JAVA_TOOL_OPTIONS": "options of every JVM (-javaagent loads code)",
		"_JAVA_OPTIONS":     "options of every JVM (-javaagent loads code)",
		"JDK_JAVA_OPTIONS":  "options of the java launcher (-javaagent loads code)",
		"CLASSPATH":         "where Java loads classes from",
		"GOFLAGS":           "flags of every go command (-toolexec runs a program)",
		"RUSTC_WRAPPER":     "a program cargo runs instead of rustc",
		// Programs that run other programs.
		"GIT_SSH_COMMAND":   "the command git runs to connect over SSH",
		"GIT_SSH":           "the program git runs to connect over SSH",
		"GIT_PROXY_COMMAND": "a command git runs to connect",
		"GIT_ASKPASS":       "a program git runs to ask for credentials",
		"GIT_EXEC_PATH":     "where git finds its sub-commands",
		"GIT_EDITOR":        "the editor git runs",
		"GIT_PAGER":         "the pager git runs",
		"GIT_EXTERNAL_DIFF": "a program git diff runs",
		"GIT_TEMPLATE_DIR":  "templates (hooks) git init copies",
		"GIT_CONFIG":        "a git configuration file (core.sshCommand, hooks, ...)",
		"GIT_CONFIG_GLOBAL": "a git configuration file (core.sshCommand, hooks, ...)",
		"GIT_CONFIG_SYSTEM": "a git configuration file (core.sshCommand, hooks, ...)",
		"GIT_CONFIG_COUNT":  "git configuration given in the environment",
		"SSH_ASKPASS":       "a program ssh runs to ask for passwords",
		"EDITOR":            "the editor programs run",
		"VISUAL":            "the editor programs run",
		"PAGER":             "the pager programs run",
		"MANPAGER":          "the pager man runs",
		"LESSOPEN":          "a command less runs on every file",
		"LESSCLOSE":         "a command less runs after every file",
		"BROWSER":           "the browser programs run",
	}
})

// unsafePrefixes are families of denied variables.
var unsafePrefixes = map[string]string{
	"LD_":         "the dynamic loader (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT load shared libraries)",
	"DYLD_":       "the macOS dynamic loader (DYLD_INSERT_LIBRARIES loads libraries)",
	"GIT_CONFIG_": "git configuration given in the environment (GIT_CONFIG_KEY_n, GIT_CONFIG_VALUE_n)",
	"NPM_CONFIG_": "npm settings (script-shell, node-options, ...)",
	"BASH_FUNC_":  "exported bash functions",
}

// UnsafeName reports whether a secret called name would change how the
// programs that get it load or run code (LD_PRELOAD, BASH_ENV, PATH,
// NODE_OPTIONS, ...), and if so what the variable does. Names are compared
// without regard to letter case: Windows ignores it, and shells tie some
// lower-case names to the variables. The deny list is documented in
// docs/security.md.
//
// Such names are refused when a secret is written through a store returned
// by Wrap (Set, Create, SetMany: add, import and copy) and by ChildValues
// (run, Environ, PrepareCmd), unless the store's Info.AllowUnsafeNames
// lists them (the project configuration's allow_unsafe_names).
func UnsafeName(name string) (what string, unsafe bool) {
	upper := strings.ToUpper(name)
	if what, ok := unsafeNames()[upper]; ok {
		return what, true
	}
	for p, what := range unsafePrefixes {
		if strings.HasPrefix(upper, p) {
			return what, true
		}
	}
	return "", false
}

// unsafeNameError explains why a secret called name is refused.
func unsafeNameError(name, what string) error {
	return fmt.Errorf("%w: %s sets %s, so a secret of this name would take over the commands that \"run\" starts; choose another name, or allow it for this project with \"allow_unsafe_names: [%s]\" in the configuration (see docs/security.md)", ErrUnsafeName, name, what, name)
}

// checkWritable refuses a write of name when it is an unsafe name that
// the store does not allow.
func (c *checked) checkWritable(name string) error {
	if what, unsafe := UnsafeName(name); unsafe && !c.allowed(name) {
		return unsafeNameError(name, what)
	}
	return nil
}

// allowed reports whether the store's Info allows the unsafe name.
func (c *checked) allowed(name string) bool {
	c.allowMu.Lock()
	defer c.allowMu.Unlock()
	return slices.Contains(c.info.AllowUnsafeNames, name)
}

// allow adds names to the store's allowed unsafe names.
func (c *checked) allow(names []string) {
	c.allowMu.Lock()
	defer c.allowMu.Unlock()
	for _, n := range names {
		if !slices.Contains(c.info.AllowUnsafeNames, n) {
			c.info.AllowUnsafeNames = append(slices.Clip(c.info.AllowUnsafeNames), n)
		}
	}
}

// ValidateAllowedUnsafeNames checks the names of an allow_unsafe_names
// list: each must be a valid secret name on the deny list of UnsafeName
// (so that a typo does not pass unnoticed). The error wraps
// ErrInvalidConfig.
func ValidateAllowedUnsafeNames(names []string) error {
	for _, n := range names {
		if err := ValidateName(n); err != nil {
			return fmt.Errorf("%w: allow_unsafe_names: %w", ErrInvalidConfig, err)
		}
		if _, unsafe := UnsafeName(n); !unsafe {
			return fmt.Errorf("%w: allow_unsafe_names: %s is not an unsafe name, so there is nothing to allow; list only names that are refused (see docs/security.md)", ErrInvalidConfig, n)
		}
	}
	return nil
}

// ChildValues returns every secret of s (GetAll) for the environment of a
// child process, after checking that none of them takes over the process:
// when the store holds a name that UnsafeName refuses and the store's
// Info.AllowUnsafeNames does not allow, nothing is returned and the error
// (wrapping ErrUnsafeName) names the variables and the fix. Such secrets
// can only have been written by another tool or an older version, since
// the store refuses to write them. Environ and PrepareCmd use it; so does
// the CLI's run.
func ChildValues(ctx context.Context, s Store) (map[string]string, error) {
	c := asChecked(s)
	values, err := c.GetAll(ctx)
	if err != nil {
		return nil, err
	}
	var bad []string
	var what string
	for _, name := range SortedNames(values) {
		if w, unsafe := UnsafeName(name); unsafe && !c.allowed(name) {
			bad = append(bad, name)
			if what == "" {
				what = w
			}
		}
	}
	switch len(bad) {
	case 0:
		return values, nil
	case 1:
		return nil, fmt.Errorf("%w: %s holds the secret %s, which sets %s and so would take over the command; the command was not started. Delete it (dstack-secrets delete %s) if nobody meant to store it, or allow it for this project with \"allow_unsafe_names: [%s]\" in the configuration (see docs/security.md)", ErrUnsafeName, c.where(""), bad[0], what, bad[0], bad[0])
	}
	return nil, fmt.Errorf("%w: %s holds the secrets %s, which change how programs load or run code (%s sets %s) and so would take over the command; the command was not started. Delete them if nobody meant to store them, or allow them for this project with \"allow_unsafe_names: [%s]\" in the configuration (see docs/security.md)", ErrUnsafeName, c.where(""), NameList(bad), bad[0], what, strings.Join(bad, ", "))
}

// UnsafeNameList returns the deny list of UnsafeName, sorted: the variable
// names, and the families of variables written as their prefix and '*'
// (LD_*).
func UnsafeNameList() []string {
	list := SortedNames(unsafeNames())
	for p := range unsafePrefixes {
		list = append(list, p+"*")
	}
	slices.Sort(list)
	return list
}
