package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/dstackai/dstack-secrets/secrets"
)

// Where the passphrase of passphrase mode comes from: a command, a file
// descriptor, the environment or a terminal prompt.

// shortPassphrase is the length, in characters, under which a passphrase
// that encrypts a store gets a warning.
const shortPassphrase = 12

// maxPassphrase bounds what is read of a passphrase command's output or a
// passphrase descriptor.
const maxPassphrase = 64 << 10

// checkPassphraseSources checks PassphraseCommand and PassphraseFD.
func (o *Options) checkPassphraseSources() error {
	cmd, fd := len(o.PassphraseCommand) > 0, o.PassphraseFD != 0
	switch {
	case (cmd || fd) && !o.Passphrase:
		return fmt.Errorf("%w: file backend: passphrase_command and passphrase_fd need passphrase: true", secrets.ErrInvalidConfig)
	case cmd && fd:
		return fmt.Errorf("%w: file backend: give passphrase_command or passphrase_fd, not both", secrets.ErrInvalidConfig)
	case cmd && o.PassphraseCommand[0] == "":
		return fmt.Errorf("%w: file backend: passphrase_command starts with an empty program name; give the program and its arguments, e.g. [pass, show, dstack]", secrets.ErrInvalidConfig)
	case fd && o.PassphraseFD < 3:
		return fmt.Errorf("%w: file backend: passphrase_fd %d is not a descriptor of 3 or more (0, 1 and 2 are the standard streams); open one for the command, e.g. passphrase_fd: 3 with 3<passphrase-file", secrets.ErrInvalidConfig, o.PassphraseFD)
	}
	return nil
}

// passphraseSource returns the PassphraseFunc of o's options and
// environment. A descriptor is read now, before the process can open
// another file under its number, and closed.
func (o *Options) passphraseSource(project string) (func(ctx context.Context, confirm bool) (string, error), error) {
	if len(o.PassphraseCommand) > 0 {
		argv := append([]string(nil), o.PassphraseCommand...)
		if strings.HasPrefix(argv[0], "~/") {
			var err error
			if argv[0], err = secrets.ExpandHome(o.Env, argv[0]); err != nil {
				return nil, err
			}
		}
		return func(ctx context.Context, _ bool) (string, error) { return commandPassphrase(ctx, argv) }, nil
	}
	fd, source := o.PassphraseFD, "passphrase_fd"
	if fd == 0 {
		v := o.Env.Value(PassphraseFDEnvVar)
		if v == "" {
			return envPassphrase(o.Env, project), nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 3 {
			return nil, fmt.Errorf("%w: %s=%s is not a file descriptor of 3 or more (0, 1 and 2 are the standard streams); open one for the command, e.g. %s=3 with 3<passphrase-file", secrets.ErrInvalidConfig, PassphraseFDEnvVar, secrets.Printable(v), PassphraseFDEnvVar)
		}
		fd, source = n, PassphraseFDEnvVar
	}
	p, err := fdPassphrase(fd, source)
	return func(context.Context, bool) (string, error) { return p, err }, nil
}

// commandPassphrase runs argv and returns its output less one final
// newline. Its output is never part of an error.
func commandPassphrase(ctx context.Context, argv []string) (string, error) {
	prog := secrets.Printable(argv[0])
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out capBuffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("%w: passphrase_command: %s was not found; give its full path or install it", secrets.ErrAuth, prog)
	case ctx.Err() != nil:
		return "", ctx.Err()
	case errors.As(err, &exitErr):
		return "", fmt.Errorf("%w: passphrase_command %s failed (%v); its output is not shown: run it yourself to see why", secrets.ErrAuth, prog, exitErr.ProcessState)
	case err != nil:
		return "", fmt.Errorf("%w: passphrase_command %s could not run: %v", secrets.ErrAuth, prog, err)
	case out.over:
		return "", fmt.Errorf("%w: passphrase_command %s printed more than %d KiB; it should print the passphrase alone", secrets.ErrAuth, prog, maxPassphrase/1024)
	}
	p := trimNewline(out.b.String())
	if p == "" {
		return "", fmt.Errorf("%w: passphrase_command %s printed no passphrase", secrets.ErrAuth, prog)
	}
	return p, nil
}

// capBuffer keeps the first maxPassphrase+1 bytes written to it.
type capBuffer struct {
	b    bytes.Buffer
	over bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := maxPassphrase - c.b.Len(); len(p) > room {
		c.over = true
		c.b.Write(p[:max(room, 0)])
		return len(p), nil
	}
	return c.b.Write(p)
}

// trimNewline removes one final "\n" or "\r\n".
func trimNewline(s string) string {
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		return strings.TrimSuffix(t, "\r")
	}
	return s
}

// fdPassphrases holds what each descriptor gave: a descriptor is read
// once per process (it is closed after), so every store opened with it
// gets the same passphrase, as with DSTACK_SECRETS_PASSPHRASE.
var fdPassphrases struct {
	sync.Mutex
	m map[int]fdResult
}

type fdResult struct {
	p   string
	err error
}

// fdPassphrase reads the passphrase from descriptor fd (named by source
// in messages) and closes it, or returns what an earlier call read.
func fdPassphrase(fd int, source string) (string, error) {
	fdPassphrases.Lock()
	defer fdPassphrases.Unlock()
	if r, ok := fdPassphrases.m[fd]; ok {
		return r.p, r.err
	}
	data, err := readFD(fd)
	var r fdResult
	switch {
	case err != nil:
		r.err = fmt.Errorf("%w: cannot read the passphrase from file descriptor %d (%s): %v; open it for the command, e.g. 3<passphrase-file", secrets.ErrAuth, fd, source, err)
	case len(data) > maxPassphrase:
		r.err = fmt.Errorf("%w: file descriptor %d (%s) holds more than %d KiB; it should hold the passphrase alone", secrets.ErrAuth, fd, source, maxPassphrase/1024)
	default:
		if r.p = trimNewline(string(data)); r.p == "" {
			r.err = fmt.Errorf("%w: file descriptor %d (%s) gave no passphrase", secrets.ErrAuth, fd, source)
		}
	}
	if fdPassphrases.m == nil {
		fdPassphrases.m = map[int]fdResult{}
	}
	fdPassphrases.m[fd] = r
	return r.p, r.err
}

// envPassphrase returns the PassphraseFunc that reads
// DSTACK_SECRETS_PASSPHRASE from env, else asks at env's terminal prompt
// (twice when a store is created).
func envPassphrase(env secrets.Env, project string) func(ctx context.Context, confirm bool) (string, error) {
	return func(ctx context.Context, confirm bool) (string, error) {
		if p := env.Value(PassphraseEnvVar); p != "" {
			return p, nil
		}
		if env.Prompt == nil {
			return "", fmt.Errorf("%w: project %q uses a passphrase: set %s or run in a terminal to be asked for it (or give it through %s or passphrase_command in the project's options)", secrets.ErrAuth, project, PassphraseEnvVar, PassphraseFDEnvVar)
		}
		p, err := env.Prompt(ctx, fmt.Sprintf("Passphrase for project %q: ", project))
		if err != nil || !confirm {
			return p, err
		}
		again, err := env.Prompt(ctx, "Repeat the passphrase: ")
		if err != nil {
			return "", err
		}
		if again != p {
			return "", fmt.Errorf("%w: the two passphrases differ; nothing was written", secrets.ErrAuth)
		}
		return p, nil
	}
}
