package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/term"

	"github.com/dstackai/dstack-secrets/secrets"
)

// errInterrupted is returned when the person interrupts a prompt.
var errInterrupted = exitError{code: 130, msg: "interrupted"}

// terminal returns stdin as a terminal file, or nil when it is not one.
func (a *app) terminal() *os.File {
	f, ok := a.Stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return f
}

// promptFunc returns the masked prompt handed to backends (for passphrases),
// or nil when stdin is not a terminal.
func (a *app) promptFunc() secrets.PromptFunc {
	if a.terminal() == nil {
		return nil
	}
	return func(ctx context.Context, prompt string) (string, error) {
		return a.readMasked(ctx, prompt)
	}
}

// readMasked prints prompt on stderr and reads one line from the terminal
// without echoing it. An interrupt (Ctrl-C) restores the terminal state and
// returns errInterrupted.
func (a *app) readMasked(ctx context.Context, prompt string) (string, error) {
	tty := a.terminal()
	if tty == nil {
		return "", errors.New("standard input is not a terminal")
	}
	fd := int(tty.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("cannot read the terminal state: %w", err)
	}
	fmt.Fprint(a.Stderr, prompt)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, promptSignals...)
	defer signal.Stop(sigs)
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(a.Stderr)
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				return "", exitError{code: ExitFailure, msg: "no input (end of file at the prompt)"}
			}
			return "", fmt.Errorf("cannot read from the terminal: %w", r.err)
		}
		return string(r.b), nil
	case sig := <-sigs:
		// Restore echo before exiting, whichever signal ends the prompt.
		_ = term.Restore(fd, state)
		fmt.Fprintln(a.Stderr)
		if sig == os.Interrupt {
			return "", errInterrupted
		}
		return "", exitError{code: 128 + signalNumber(sig), msg: fmt.Sprintf("stopped by %v", sig)}
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		fmt.Fprintln(a.Stderr)
		return "", ctx.Err()
	}
}

// confirm asks a yes/no question on the terminal; anything but y or yes is
// no. The caller must have checked that stdin is a terminal.
func (a *app) confirm(question string) (bool, error) {
	fmt.Fprintf(a.Stderr, "%s [y/N] ", question)
	line, err := readLine(a.Stdin)
	if err != nil && line == "" {
		fmt.Fprintln(a.Stderr)
		return false, nil
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// readLine reads up to a newline one byte at a time, so that nothing typed
// after the line is consumed.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < 4096 {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return b.String(), nil
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			return b.String(), err
		}
	}
	return b.String(), nil
}

// promptSignals end a masked prompt with the terminal restored.
var promptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// signalNumber returns sig's number for an exit code (128+N).
func signalNumber(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return int(s)
	}
	return 1
}
