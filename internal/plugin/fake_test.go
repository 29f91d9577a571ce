package plugin

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/dstackai/dstack-secrets/backends/file"
	"github.com/dstackai/dstack-secrets/secrets"
)

// testRegistry is what the test program serves: the real file backend,
// and fake, whose Get does what the name asks (fail with an error kind,
// crash, hang, report its environment) so that the tests can drive the
// bridge through every failure.
func testRegistry() *secrets.Registry {
	return secrets.NewRegistry(file.Backend(), secrets.NewBackend("fake", "test backend", openFake))
}

type fakeOptions struct {
	Count   int     `yaml:"count"`
	Ratio   float64 `yaml:"ratio"`
	Fail    string  `yaml:"fail"`
	PidFile string  `yaml:"pid_file"`
	// PromptAtOpen asks at open; Get OPENED returns the answer.
	PromptAtOpen bool   `yaml:"prompt_at_open"`
	Opened       string `yaml:"-"`

	Env secrets.Env `yaml:"-"`
}

func (o *fakeOptions) SetEnv(env secrets.Env) { o.Env = env }

func openFake(ctx context.Context, scope secrets.Scope, opts fakeOptions) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, scope); err != nil {
		return nil, err
	}
	if opts.Fail != "" {
		return nil, kindError(opts.Fail)
	}
	if opts.PromptAtOpen {
		v, err := opts.Env.Prompt(ctx, "Open passphrase: ")
		if err != nil {
			return nil, fmt.Errorf("fake: the prompt at open failed: %w", err)
		}
		opts.Opened = v
	}
	return secrets.Wrap(&fakeStore{opts: opts, openCtx: ctx}, secrets.Info{Backend: "fake", Scope: scope}), nil
}

// kindError is an error of the kind named name.
func kindError(name string) error {
	for _, k := range errorKinds {
		if k.name == name {
			return fmt.Errorf("fake: kind %s: %w", name, k.err)
		}
	}
	return fmt.Errorf("fake: no kind %s", name)
}

type fakeStore struct {
	opts    fakeOptions
	openCtx context.Context // kept for later prompts, as the keyring backend does
}

var _ secrets.Locator = (*fakeStore)(nil)

func (f *fakeStore) List(context.Context) ([]string, error) { return []string{"B", "A"}, nil }

func (f *fakeStore) Get(ctx context.Context, name string) (string, error) {
	switch {
	case strings.HasPrefix(name, "KIND_"):
		return "", kindError(strings.ToLower(strings.TrimPrefix(name, "KIND_")))
	case name == "CRASH":
		os.Exit(3)
	case name == "HANG":
		if f.opts.PidFile != "" {
			sleep := exec.Command("sleep", "300")
			if err := sleep.Start(); err != nil {
				return "", err
			}
			if err := os.WriteFile(f.opts.PidFile, []byte(strconv.Itoa(sleep.Process.Pid)), 0o600); err != nil {
				return "", err
			}
		}
		select {} // ignores ctx
	case name == "CAUSE":
		<-ctx.Done()
		return "", fmt.Errorf("fake: stopped: %w", context.Cause(ctx))
	case name == "BLOCK":
		<-ctx.Done()
		return "", fmt.Errorf("fake: blocked until: %w", ctx.Err())
	case name == "DEADLINE":
		d, ok := ctx.Deadline()
		if !ok {
			return "none", nil
		}
		return d.Format(time.RFC3339Nano), nil
	case strings.HasPrefix(name, "ENV_"):
		return "hex:" + hex.EncodeToString([]byte(f.opts.Env.Value(strings.TrimPrefix(name, "ENV_")))), nil
	case name == "HOME":
		return f.opts.Env.Home()
	case name == "PROMPT":
		if f.opts.Env.Prompt == nil {
			return "no prompt", nil
		}
		v, err := f.opts.Env.Prompt(ctx, "Passphrase: ")
		if err != nil {
			return "", fmt.Errorf("fake: the prompt failed: %w", err)
		}
		return v, nil
	case name == "PROMPT_TWICE":
		// Two prompts in one call, as a backend asking again after a
		// wrong password.
		a, err := f.opts.Env.Prompt(ctx, "First: ")
		if err != nil {
			return "", err
		}
		b, err := f.opts.Env.Prompt(ctx, "Second: ")
		return a + "+" + b, err
	case name == "PROMPT_LATER":
		// A prompt under the context of open, in a later call.
		v, err := f.opts.Env.Prompt(f.openCtx, "Later: ")
		if err != nil {
			return "", fmt.Errorf("fake: the later prompt failed: %w", err)
		}
		return v, nil
	case name == "WARN":
		f.opts.Env.Warning("fake: a warning")
		f.opts.Env.Notice("fake: a notice")
		return "warned", nil
	case name == "TIMEOUT":
		return f.opts.Env.Timeout.String(), nil
	case name == "A" || name == "B":
		return "value-" + name, nil
	case name == "OPENED":
		return f.opts.Opened, nil
	case name == "OPTS":
		return fmt.Sprintf("%d %g", f.opts.Count, f.opts.Ratio), nil
	}
	return "", secrets.ErrNotFound
}

func (f *fakeStore) Set(_ context.Context, name, _ string) error {
	if strings.HasPrefix(name, "KIND_") {
		return kindError(strings.ToLower(strings.TrimPrefix(name, "KIND_")))
	}
	return nil
}

func (f *fakeStore) Delete(context.Context, string) error { return secrets.ErrNotFound }

func (f *fakeStore) Locate(name string) string { return "fake:/" + name }
