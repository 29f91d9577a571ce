// Package childio runs the command of `dstack-secrets run` with its output
// passed through a secret-masking filter (package redact).
//
// Without a terminal, the command's standard output and standard error are
// pipes whose bytes are masked on their way to ours (one filter each, or
// one pipe and filter for both when they are the same writer or files open
// on the same file, as after 2>&1); its standard input is ours.
//
// When our standard output is a terminal (an *os.File for which
// term.IsTerminal is true), the command is started on a new
// pseudo-terminal instead, in a new session with the pseudo-terminal as its
// controlling terminal, so that it still sees a terminal: colours, progress
// bars, line editing and password prompts keep working. Its output (and its
// standard error when ours is a terminal too) comes out of the
// pseudo-terminal and is masked on its way to our terminal. When our
// standard input is a terminal whose foreground process group is ours, it
// is put in raw mode while the command runs and every byte typed is passed
// to the pseudo-terminal, whose own line discipline then does the echo,
// line editing and Ctrl-C for the command; the mode is restored when the
// command ends, whatever the way (exit, signal, cancelled context). Window
// size changes (SIGWINCH) are passed on to the pseudo-terminal. Otherwise
// (standard input not a terminal, or we run in the background) the command
// reads our standard input directly.
//
// With nothing to mask (a nil Redactor, or one without values), the
// command gets our standard streams as they are, as exec.Cmd would give
// them: no pseudo-terminal, no copy.
//
// A pseudo-terminal exists on unix systems only; elsewhere, or when one
// cannot be opened, pipes are used.
//
// On a pseudo-terminal, the command's process group is orphaned (its
// parent is in another session), so the kernel discards the stop signals
// of its terminal: Ctrl-Z does not suspend it (nor run). A command that
// does job control itself (a shell) still can.
package childio

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"reflect"
	"syscall"
	"time"

	"github.com/dstackai/dstack-secrets/redact"
)

// Options are the streams of a command and the masking of its output.
type Options struct {
	// Redactor masks the command's output; nil masks nothing.
	Redactor *redact.Redactor
	// Stdin, Stdout and Stderr are our standard streams (nil: the null
	// device, as in exec.Cmd).
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// NoTTY never starts the command on a pseudo-terminal.
	NoTTY bool
	// Start starts the prepared command; nil means cmd.Start. The CLI
	// passes nocore.Start, which gives the command back the core-dump
	// limit that dstack-secrets itself gave up.
	Start func(cmd *exec.Cmd) error
	// Exiting says that the process exits once Run returns: Run then
	// leaves its signal handlers installed instead of restoring the
	// previous disposition of each forwarded signal. Restoring costs a
	// round trip per signal with the Go runtime's signal-mask thread (a
	// goroutine locked to its own thread), 7 of them on unix, which was
	// about a tenth of what "dstack-secrets run -- /bin/true" cost. A
	// signal received after Run returns is then ignored, not fatal.
	Exiting bool
}

// start starts cmd with opts.Start, or cmd.Start when it is nil.
func (o Options) start(cmd *exec.Cmd) error {
	if o.Start != nil {
		return o.Start(cmd)
	}
	return cmd.Start()
}

// StartError is returned when the command could not be started; Err is
// exec.Cmd.Start's error.
type StartError struct{ Err error }

func (e *StartError) Error() string { return "starting the command: " + e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Child is a started command.
type Child struct {
	cmd     *exec.Cmd
	tty     *ttyRun // nil when the command runs on pipes
	closers []io.Closer
}

// Start starts cmd with its standard streams connected to those of opts
// through the filter; cmd's own Stdin, Stdout and Stderr must be unset
// (its other fields, WaitDelay included, are used as they are, except that
// on a pseudo-terminal SysProcAttr's Setsid, Setctty and Ctty are set and
// Setpgid and Foreground cleared). A failure to start is a *StartError.
// Wait must be called: it restores the terminal.
func Start(cmd *exec.Cmd, opts Options) (*Child, error) {
	if cmd.Stdin != nil || cmd.Stdout != nil || cmd.Stderr != nil {
		return nil, errors.New("childio: the command's standard streams must be unset: they are given in Options")
	}
	c := &Child{cmd: cmd}
	if !opts.NoTTY && masks(opts.Redactor) {
		if out, ok := opts.Stdout.(*os.File); ok && isTerminal(out) {
			started, err := c.startTTY(out, opts)
			if err != nil {
				return nil, err
			}
			if started {
				return c, nil
			}
		}
	}
	cmd.Stdin = opts.Stdin
	if sameWriter(opts.Stdout, opts.Stderr) || sameFile(opts.Stdout, opts.Stderr) {
		w := c.filter(opts.Redactor, opts.Stdout)
		cmd.Stdout, cmd.Stderr = w, w
	} else {
		cmd.Stdout = c.filter(opts.Redactor, opts.Stdout)
		cmd.Stderr = c.filter(opts.Redactor, opts.Stderr)
	}
	if err := opts.start(cmd); err != nil {
		return nil, &StartError{Err: err}
	}
	return c, nil
}

// filter returns w through a masking writer of r, closed by Wait; w itself
// when there is nothing to mask or nowhere to write.
func (c *Child) filter(r *redact.Redactor, w io.Writer) io.Writer {
	if !masks(r) || w == nil {
		return w
	}
	fw := r.NewWriter(w)
	c.closers = append(c.closers, fw)
	return fw
}

// masks reports whether r masks any value.
func masks(r *redact.Redactor) bool { return len(r.Names()) > 0 }

// sameWriter reports whether a and b are the same comparable writer, as
// exec.Cmd checks to share one pipe between standard output and error.
func sameWriter(a, b io.Writer) bool {
	if a == nil || b == nil || reflect.TypeOf(a) != reflect.TypeOf(b) || !reflect.TypeOf(a).Comparable() {
		return false
	}
	return a == b
}

// sameFile reports whether a and b are files open on the same file (the
// same device and inode), as our standard output and error are after
// 2>&1: the command then gets one pipe and one filter for both, which
// keeps the order of what it writes to each and masks a value split
// between them, and costs one pipe and one copying goroutine less.
func sameFile(a, b io.Writer) bool {
	fa, ok := a.(*os.File)
	if !ok {
		return false
	}
	fb, ok := b.(*os.File)
	if !ok {
		return false
	}
	sa, err := fa.Stat()
	if err != nil {
		return false
	}
	sb, err := fb.Stat()
	return err == nil && os.SameFile(sa, sb)
}

// Process is the started process, for sending it signals.
func (c *Child) Process() *os.Process { return c.cmd.Process }

// Terminal reports whether the command runs on a pseudo-terminal.
func (c *Child) Terminal() bool { return c.tty != nil }

// Wait waits for the command to exit and for its output to be written
// (bounded by cmd.WaitDelay, as exec.Cmd.Wait), restores our terminal and
// returns the command's exit status: its exit code, or 128+N when it was
// killed by signal N. err is set, and code is -1, when the status could not
// be had or the output could not be written.
func (c *Child) Wait() (code int, err error) {
	err = c.cmd.Wait()
	var outErr error
	if c.tty != nil {
		outErr = c.tty.finish(c.cmd.WaitDelay)
	}
	for _, cl := range c.closers {
		if cerr := cl.Close(); outErr == nil {
			outErr = cerr
		}
	}
	code, err = exitStatus(err)
	if err == nil && code == 0 && outErr != nil {
		return -1, outErr
	}
	return code, err
}

// exitStatus turns the error of exec.Cmd.Wait into an exit status, as the
// shells do.
func exitStatus(err error) (int, error) {
	var ee *exec.ExitError
	switch {
	case err == nil || errors.Is(err, exec.ErrWaitDelay):
		return 0, nil
	case errors.As(err, &ee):
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return code, nil
	default:
		return -1, err
	}
}

// Run starts cmd as Start does, passes signals on to it until it exits,
// kills it when ctx is done, and returns what Wait returns.
//
// Signals: SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 received by this process
// are passed on to the command. So are SIGINT and SIGQUIT, except when the
// command shares our terminal and that terminal has our process group in
// the foreground: the signal then came from the keyboard (Ctrl-C, Ctrl-\),
// which sent it to the command too. On a pseudo-terminal the command never
// shares ours (in raw mode, Ctrl-C reaches it as a byte through its own
// terminal), so they are always passed on. SIGWINCH is not caught: a
// command that shares our terminal is in our process group, to which the
// terminal sends it; on a pseudo-terminal the new size is set on it
// instead (startTTY catches SIGWINCH for that), which signals the command.
// Elsewhere than on unix, only os.Interrupt is passed on.
func Run(ctx context.Context, cmd *exec.Cmd, opts Options) (int, error) {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwardedSignals...)
	if !opts.Exiting {
		defer signal.Stop(sigs)
	}
	c, err := Start(cmd, opts)
	if err != nil {
		return -1, err
	}
	done := make(chan struct{})
	forwarded := make(chan struct{})
	go func() {
		defer close(forwarded)
		for {
			select {
			case sig := <-sigs:
				if !c.Terminal() && (sig == os.Interrupt || sig == sigQuit) && terminalSentToGroup(opts) {
					continue // the terminal (Ctrl-C, Ctrl-\) sent it to the command too
				}
				_ = cmd.Process.Signal(sig)
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				return
			case <-done:
				return
			}
		}
	}()
	code, err := c.Wait()
	close(done)
	<-forwarded
	return code, err
}

// terminalSentToGroup reports whether a terminal among our standard
// streams has our process group in the foreground: a SIGINT then came from
// the terminal, which sent it to the whole group, command included.
func terminalSentToGroup(opts Options) bool {
	for _, s := range []any{opts.Stdin, opts.Stdout, opts.Stderr} {
		if f, ok := s.(*os.File); ok && foregroundIsOurs(f) {
			return true
		}
	}
	return false
}

// finishDelay bounds how long finish waits for the pseudo-terminal's output
// after the command exits when cmd.WaitDelay is 0: a process the command
// left behind may keep the terminal open for ever.
const finishDelay = 2 * time.Second
