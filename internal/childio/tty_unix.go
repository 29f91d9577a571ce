//go:build unix

package childio

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// forwardedSignals are the signals Run passes on to the command: the ones
// that would otherwise end this process and orphan it. Not SIGWINCH, which
// does not end it and which the terminal sends to the command itself (Run);
// each signal caught costs a round trip with the Go runtime's signal
// thread, about 50 us here.
var forwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT,
	syscall.SIGUSR1, syscall.SIGUSR2}

// sigQuit is SIGQUIT, which a terminal sends to the whole foreground group
// on Ctrl-\ like SIGINT on Ctrl-C.
var sigQuit os.Signal = syscall.SIGQUIT

// fdOf returns f's descriptor without changing its blocking mode (as
// f.Fd() would).
func fdOf(f *os.File) (int, bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := -1
	if rc.Control(func(d uintptr) { fd = int(d) }) != nil {
		return 0, false
	}
	return fd, fd >= 0
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	fd, ok := fdOf(f)
	return ok && term.IsTerminal(fd)
}

// foregroundIsOurs reports whether f is a terminal whose foreground process
// group is this process's group.
func foregroundIsOurs(f *os.File) bool {
	fd, ok := fdOf(f)
	if !ok {
		return false
	}
	fg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	ours, err := unix.Getpgid(0)
	return err == nil && fg == ours
}

// ttyRun is the state of a command running on a pseudo-terminal.
type ttyRun struct {
	ptmx    *os.File
	outDone chan struct{}
	outErr  error

	restore   func() // puts our terminal back in its mode; nil if untouched
	stopInput func() // stops passing our input on; nil if not passed
	stopWinch func()
}

// startTTY starts c's command on a new pseudo-terminal whose output goes to
// out through the filter. started is false, with no error, when no
// pseudo-terminal could be opened: the caller then uses pipes.
func (c *Child) startTTY(out *os.File, opts Options) (started bool, err error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return false, nil
	}
	_ = pty.InheritSize(out, ptmx) // best effort: a size of 0x0 only looks odd
	cmd := c.cmd
	in, inIsFile := opts.Stdin.(*os.File)
	passInput := inIsFile && isTerminal(in) && foregroundIsOurs(in)
	ctty := 1 // the child's descriptor of its controlling terminal
	cmd.Stdout = tty
	if passInput {
		cmd.Stdin = tty
		ctty = 0
	} else {
		// Our terminal stays in its mode, which turns "\n" into "\r\n":
		// the command's terminal must not do it too.
		cmd.Stdin = opts.Stdin
		keepNewlines(tty)
	}
	if ef, ok := opts.Stderr.(*os.File); ok && isTerminal(ef) {
		cmd.Stderr = tty
	} else {
		cmd.Stderr = c.filter(opts.Redactor, opts.Stderr)
	}
	attr := syscall.SysProcAttr{}
	if cmd.SysProcAttr != nil {
		attr = *cmd.SysProcAttr
	}
	attr.Setsid, attr.Setctty, attr.Ctty = true, true, ctty
	attr.Setpgid, attr.Foreground = false, false // a session leader has its own group
	cmd.SysProcAttr = &attr
	err = opts.start(cmd)
	_ = tty.Close() // the child has its own copy: EOF (EIO) comes when it is gone
	if err != nil {
		_ = ptmx.Close()
		return true, &StartError{Err: err}
	}

	t := &ttyRun{ptmx: ptmx, outDone: make(chan struct{})}
	c.tty = t
	go t.copyOutput(opts.Redactor.NewWriter(out))
	if passInput {
		if fd, ok := fdOf(in); ok {
			if old, err := term.MakeRaw(fd); err == nil {
				t.restore = func() { _ = term.Restore(fd, old) }
			}
		}
		t.stopInput = passOn(in, ptmx)
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	winchDone := make(chan struct{})
	go func() {
		defer close(winchDone)
		for range winch {
			_ = pty.InheritSize(out, ptmx)
		}
	}()
	t.stopWinch = func() {
		signal.Stop(winch)
		close(winch)
		<-winchDone
	}
	return true, nil
}

// copyOutput copies the pseudo-terminal's output to w until the terminal
// is closed on the command's side (EIO) or on ours (finish).
func (t *ttyRun) copyOutput(w io.WriteCloser) {
	defer close(t.outDone)
	buf := make([]byte, 32<<10)
	for {
		n, err := t.ptmx.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				t.outErr = werr
				break
			}
		}
		if err != nil {
			if !errors.Is(err, syscall.EIO) && !errors.Is(err, os.ErrClosed) && err != io.EOF {
				t.outErr = err
			}
			break
		}
	}
	if err := w.Close(); t.outErr == nil {
		t.outErr = err
	}
}

// finish runs once the command has exited: it waits for the rest of its
// output (at most delay, or finishDelay when delay is 0, since a process
// left behind may hold the terminal open), stops passing input on, restores
// our terminal's mode and closes the pseudo-terminal.
func (t *ttyRun) finish(delay time.Duration) error {
	if delay <= 0 {
		delay = finishDelay
	}
	timer := time.NewTimer(delay)
	select {
	case <-t.outDone:
	case <-timer.C:
		_ = t.ptmx.Close() // ends the copy's Read
		<-t.outDone
	}
	timer.Stop()
	if t.stopInput != nil {
		t.stopInput()
	}
	if t.restore != nil {
		t.restore()
	}
	t.stopWinch()
	_ = t.ptmx.Close()
	return t.outErr
}

// passOn copies what is typed on the terminal in to the pseudo-terminal
// out until the returned stop is called. It waits for input with poll(2)
// on in and on a pipe of its own, so that stop ends it without a keystroke
// and without changing in's blocking mode.
func passOn(in *os.File, out *os.File) (stop func()) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return func() {}
	}
	rc, err := in.SyscallConn()
	if err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return func() {}
	}
	stopFd, _ := fdOf(pr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		_ = rc.Control(func(d uintptr) {
			fd := int(d)
			for {
				fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(stopFd), Events: unix.POLLIN}}
				if _, err := unix.Poll(fds, -1); err != nil {
					if err == unix.EINTR {
						continue
					}
					return
				}
				if fds[1].Revents != 0 {
					return
				}
				if fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) == 0 {
					continue
				}
				n, err := unix.Read(fd, buf)
				if err == unix.EINTR || err == unix.EAGAIN {
					continue
				}
				if n <= 0 || err != nil {
					return // end of input, or the terminal is gone
				}
				if _, err := out.Write(buf[:n]); err != nil {
					return
				}
			}
		})
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_ = pw.Close() // POLLHUP on pr
			<-done
			_ = pr.Close()
		})
	}
}
