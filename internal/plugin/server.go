package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/dstackai/dstack-secrets/secrets"
)

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

type serveConfig struct {
	env map[string][]string
}

// ServeEnv declares the environment variables that the backend named
// backend reads through secrets.Env.Value. The parent sends their values,
// as its own secrets.Env gives them (an embedding program or a test may
// have set them), with open; in the program secrets.Env.Value of any other
// variable is empty. The program's process environment is the parent's,
// for the libraries that read it directly (cloud SDK credential chains).
func ServeEnv(backend string, names ...string) ServeOption {
	return func(c *serveConfig) {
		c.env[backend] = append(c.env[backend], names...)
	}
}

// Serve is the main loop of a plugin program: it serves the backends of
// reg over in (the requests, the program's standard input) and out (the
// responses, its standard output), as the package documentation
// describes. It opens one store, answers calls concurrently, and returns
// nil once the parent closed the store or in ended (the calls in flight are
// then cancelled and the store closed), or an error when out cannot be
// written or ctx ends.
func Serve(ctx context.Context, reg *secrets.Registry, in io.Reader, out io.Writer, opts ...ServeOption) error {
	cfg := serveConfig{env: map[string][]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sv := &server{reg: reg, out: json.NewEncoder(out), cancel: cancel, inflight: map[uint64]context.CancelCauseFunc{}, asks: map[uint64]chan request{}}
	g := greeting{Protocol: ProtocolVersion}
	for _, b := range reg.Backends() {
		g.Backends = append(g.Backends, backendInfo{Name: b.Name, Env: cfg.env[b.Name]})
	}
	if err := sv.write(g); err != nil {
		return err
	}
	reqs := make(chan request)
	ended := make(chan error, 1)
	go func() {
		dec := json.NewDecoder(in)
		for {
			var r request
			if err := dec.Decode(&r); err != nil {
				ended <- err
				return
			}
			select {
			case reqs <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer sv.shutdown()
	for {
		select {
		case r := <-reqs:
			if sv.handle(ctx, r) {
				return sv.writeErr()
			}
		case err := <-ended:
			if errors.Is(err, io.EOF) {
				return sv.writeErr()
			}
			return fmt.Errorf("plugin: reading the requests: %w", err)
		case <-sv.done:
			return sv.writeErr()
		case <-ctx.Done():
			if err := sv.writeErr(); err != nil {
				return err
			}
			return context.Cause(ctx)
		}
	}
}

// server is the state of Serve.
type server struct {
	reg    *secrets.Registry
	cancel context.CancelCauseFunc

	wmu  sync.Mutex
	out  *json.Encoder
	werr error

	// The main loop's state (handle).
	opening bool          // open was asked
	closing bool          // close was asked
	done    chan struct{} // closed when close was answered

	mu       sync.Mutex
	store    secrets.Store // once opened
	inflight map[uint64]context.CancelCauseFunc
	kept     []context.CancelCauseFunc // of the calls whose context outlives them
	asks     map[uint64]chan request   // prompts waiting for their answer
	nextAsk  uint64
	wg       sync.WaitGroup
}

// write writes one line; a failure (the parent is gone) ends Serve.
func (sv *server) write(v any) error {
	sv.wmu.Lock()
	defer sv.wmu.Unlock()
	if sv.werr != nil {
		return sv.werr
	}
	if err := sv.out.Encode(v); err != nil {
		sv.werr = fmt.Errorf("plugin: writing a response: %w", err)
		sv.cancel(sv.werr)
	}
	return sv.werr
}

func (sv *server) writeErr() error {
	sv.wmu.Lock()
	defer sv.wmu.Unlock()
	return sv.werr
}

func (sv *server) respond(id uint64, result any, err error) {
	r := response{ID: id}
	if err != nil {
		r.Error = encodeError(err)
	} else {
		raw, merr := json.Marshal(result)
		if merr != nil {
			r.Error = encodeError(fmt.Errorf("plugin: encoding the result: %v", merr))
		} else {
			r.Result = raw
		}
	}
	_ = sv.write(r)
}

// handle answers one request (the calls in their own goroutines, so that
// the loop goes on reading cancellations and answers to prompts) and
// reports whether Serve is done.
func (sv *server) handle(ctx context.Context, r request) bool {
	switch {
	case r.Cancel != 0:
		sv.mu.Lock()
		if stop := sv.inflight[r.Cancel]; stop != nil {
			stop(cancelCause(r.Cause))
		}
		sv.mu.Unlock()
		return false
	case r.Answer != 0:
		sv.mu.Lock()
		ch := sv.asks[r.Answer]
		delete(sv.asks, r.Answer)
		sv.mu.Unlock()
		if ch != nil {
			ch <- r // buffered
		}
		return false
	}
	sv.mu.Lock()
	opened := sv.store
	sv.mu.Unlock()
	switch {
	case r.Method == "open" && !sv.opening && !sv.closing:
		sv.opening = true
		// The context of open lives as long as the store, as the context
		// given to Open does in-process: a backend may keep it for later
		// prompts (the keyring backend's file keychain asks for its
		// password at its first read).
		sv.start(ctx, r, func(ctx context.Context) (any, error) {
			s, res, err := sv.open(ctx, r.Params)
			if err == nil {
				sv.mu.Lock()
				sv.store = s
				sv.mu.Unlock()
			}
			return res, err
		}, true)
		return false
	case r.Method == mClose.name && opened == nil:
		sv.respond(r.ID, none{}, nil)
		return true
	case sv.closing:
		sv.respond(r.ID, nil, fmt.Errorf("%w: the plugin is closing its store", secrets.ErrClosed))
		return false
	case r.Method == "open":
		sv.respond(r.ID, nil, errors.New("plugin: open was sent twice: a program serves one store"))
		return false
	case opened == nil:
		sv.respond(r.ID, nil, fmt.Errorf("plugin: %q before open", r.Method))
		return false
	case r.Method == mClose.name:
		sv.closing = true
		sv.done = make(chan struct{})
		go func() {
			sv.wg.Wait()
			sv.respond(r.ID, none{}, secrets.Close(opened))
			close(sv.done)
		}()
		return false
	}
	m, ok := methods()[r.Method]
	if !ok || !m.supports(opened) {
		sv.respond(r.ID, nil, fmt.Errorf("plugin: method %q: %w by this program", r.Method, errors.ErrUnsupported))
		return false
	}
	sv.start(ctx, r, func(ctx context.Context) (any, error) { return m.serve(ctx, opened, r.Params) }, false)
	return false
}

// start runs the call r in a goroutine with its own context, which a
// cancel request cancels, and answers it. The context ends with the call,
// or with Serve when keep is set and the call succeeded.
func (sv *server) start(ctx context.Context, r request, do func(context.Context) (any, error), keep bool) {
	cctx, stop := callContext(ctx, r)
	sv.mu.Lock()
	sv.inflight[r.ID] = stop
	sv.mu.Unlock()
	sv.wg.Add(1)
	go func() {
		defer sv.wg.Done()
		res, err := do(cctx)
		sv.mu.Lock()
		delete(sv.inflight, r.ID)
		if keep && err == nil {
			sv.kept = append(sv.kept, stop)
		} else {
			stop(nil)
		}
		sv.mu.Unlock()
		sv.respond(r.ID, res, err)
	}()
}

// shutdown cancels the calls in flight, waits for them and closes the
// store if close did not.
func (sv *server) shutdown() {
	sv.mu.Lock()
	for _, stop := range sv.inflight {
		stop(nil)
	}
	sv.mu.Unlock()
	sv.wg.Wait()
	sv.mu.Lock()
	s := sv.store
	kept := sv.kept
	sv.mu.Unlock()
	if sv.done != nil {
		<-sv.done // close closed the store
	} else if s != nil {
		_ = secrets.Close(s)
	}
	for _, stop := range kept {
		stop(nil)
	}
}

// callKey is the context key of the ID of the call a context belongs to,
// which a prompt names so that the parent asks under that call's context.
type callKey struct{}

// callContext is the context of the call r: ctx with the deadline of the
// caller's context, cancelled by a cancel request (with its cause), and
// r's ID.
func callContext(ctx context.Context, r request) (context.Context, context.CancelCauseFunc) {
	ctx = context.WithValue(ctx, callKey{}, r.ID)
	if r.Deadline == nil {
		return context.WithCancelCause(ctx)
	}
	dctx, stopDeadline := context.WithDeadline(ctx, *r.Deadline)
	cctx, cancel := context.WithCancelCause(dctx)
	return cctx, func(cause error) {
		cancel(cause)
		stopDeadline()
	}
}

// cancelCause is the cause of a cancel request whose caller's context
// ended with the cause msg, such as "interrupted by SIGINT: context
// canceled": an error that reads the same and is context.Canceled, so
// that a backend that reports context.Cause says in the program what it
// would say in-process.
func cancelCause(msg string) error {
	if msg == "" || msg == context.Canceled.Error() {
		return nil
	}
	return &causeError{msg: msg}
}

type causeError struct{ msg string }

func (e *causeError) Error() string { return e.msg }
func (e *causeError) Unwrap() error { return context.Canceled }

// open opens the store that p asks for.
func (sv *server) open(ctx context.Context, raw json.RawMessage) (secrets.Store, openResult, error) {
	var p openParams
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, openResult{}, fmt.Errorf("plugin: malformed open request: %v", err)
	}
	env := secrets.Env{
		Getenv:  func(k string) string { return string(p.Env[k]) },
		HomeDir: string(p.Home),
		Warn:    func(msg string) { _ = sv.write(response{Warn: &msg}) },
		Notice:  func(msg string) { _ = sv.write(response{Notice: &msg}) },
		Timeout: p.Timeout,
	}
	if p.Prompt {
		env.Prompt = sv.prompt
	}
	s, err := sv.reg.Open(ctx, secrets.OpenRequest{
		Scope:   secrets.Scope{Project: p.Scope.Project, Repository: p.Scope.Repository},
		Backend: p.Backend,
		Options: numbers(p.Options).(secrets.Options),
		Env:     env,

		AllowUnsafeNames: p.AllowUnsafeNames,
		MaxSecrets:       p.MaxSecrets,
	})
	if err != nil {
		return nil, openResult{}, err
	}
	res := openResult{Methods: []string{}}
	for name, m := range methods() {
		if m.supports(s) {
			res.Methods = append(res.Methods, name)
		}
	}
	return s, res, nil
}

// prompt is the secrets.Env.Prompt of the program's backend: it asks the
// parent to prompt, under the context of the call that ctx belongs to, and
// waits for the answer until ctx ends. The value typed is never logged.
func (sv *server) prompt(ctx context.Context, text string) (string, error) {
	call, _ := ctx.Value(callKey{}).(uint64)
	ch := make(chan request, 1)
	sv.mu.Lock()
	sv.nextAsk++
	ask := sv.nextAsk
	sv.asks[ask] = ch
	sv.mu.Unlock()
	defer func() {
		sv.mu.Lock()
		delete(sv.asks, ask)
		sv.mu.Unlock()
	}()
	if err := sv.write(response{Prompt: &promptMessage{Ask: ask, Call: call, Text: text}}); err != nil {
		return "", err
	}
	select {
	case a := <-ch:
		if a.Error != nil {
			return "", decodeError(a.Error)
		}
		return string(a.Value), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// numbers turns the json.Numbers of decoded options into the int64 or
// float64 that YAML decoding would have given, so that the backend decodes
// its options as it does in-process.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return int(i)
		}
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f
		}
		return string(v)
	case secrets.Options:
		for k, x := range v {
			v[k] = numbers(x)
		}
		return v
	case map[string]any:
		for k, x := range v {
			v[k] = numbers(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = numbers(x)
		}
		return v
	}
	return v
}
