package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// CancelGrace is how long a call whose context ended waits for the
// program to answer the cancellation before the program is killed.
const CancelGrace = 2 * time.Second

// CloseTimeout bounds Close: the program's own closing of its store and
// its exit, after which it is killed.
const CloseTimeout = 10 * time.Second

// locateTimeout bounds a Locate call, which has no context.
const locateTimeout = 5 * time.Second

// Overridden by tests.
var (
	cancelGrace  = CancelGrace
	closeTimeout = CloseTimeout
)

// Backend returns the registry entry of a backend served by a program.
// Its Open starts the program that executable finds (nil means
// LookPath(Program(name))), opens the store name in it with the scope,
// options and environment of the request, and returns a store, behind
// secrets.Wrap, whose methods are calls to the program. The program serves
// that one store and exits when it is closed.
func Backend(name, summary string, executable func() (string, error)) secrets.Backend {
	if executable == nil {
		executable = func() (string, error) { return LookPath(Program(name)) }
	}
	return secrets.Backend{
		Name:    name,
		Summary: summary,
		Open: func(ctx context.Context, req secrets.OpenRequest) (secrets.Store, error) {
			return open(ctx, name, executable, req)
		},
	}
}

func open(ctx context.Context, name string, executable func() (string, error), req secrets.OpenRequest) (secrets.Store, error) {
	if err := secrets.CheckOpen(ctx, req.Scope); err != nil {
		return nil, err
	}
	if _, err := json.Marshal(req.Options); err != nil {
		return nil, fmt.Errorf("%w: the options of backend %s cannot be passed to its program %s: %v", secrets.ErrInvalidConfig, name, Program(name), err)
	}
	path, err := executable()
	if err != nil {
		return nil, err
	}
	c, g, err := start(ctx, path, name, req.Env)
	if err != nil {
		return nil, err
	}
	var info *backendInfo
	var served []string
	for i, b := range g.Backends {
		served = append(served, b.Name)
		if b.Name == name {
			info = &g.Backends[i]
		}
	}
	if info == nil {
		c.shutdown()
		what := "it serves no backend"
		if len(served) > 0 {
			what = "it serves: " + strings.Join(served, ", ")
		}
		return nil, fmt.Errorf("%w: the program %s does not serve the %s backend (%s); reinstall it from the same checkout as dstack-secrets",
			secrets.ErrUnavailable, path, name, what)
	}
	p := openParams{
		Backend: name,
		Scope:   scopeParams{Project: req.Scope.Project, Repository: req.Scope.Repository},
		Options: req.Options,
		Env:     map[string][]byte{},
		Prompt:  req.Env.Prompt != nil,
		Timeout: req.Env.Timeout,

		AllowUnsafeNames: req.AllowUnsafeNames,
		MaxSecrets:       req.MaxSecrets,
	}
	for _, k := range info.Env {
		if v := req.Env.Value(k); v != "" {
			p.Env[k] = []byte(v)
		}
	}
	if home, err := req.Env.Home(); err == nil {
		p.Home = []byte(home)
	}
	var res openResult
	if err := c.call(ctx, "open", p, &res); err != nil {
		c.shutdown()
		return nil, err
	}
	s := &store{c: c, methods: map[string]bool{}}
	for _, m := range res.Methods {
		s.methods[m] = true
	}
	// A store that is dropped without Close does not leave its program
	// behind.
	runtime.AddCleanup(s, func(c *conn) { c.abandon() }, c)
	// The program's store is behind secrets.Wrap already, which checks
	// the repository's capacity with the project's limits: checking it
	// here too would list the repository a second time on every write.
	return secrets.Wrap(s, secrets.Info{Backend: req.Backend, Scope: req.Scope, CapacityChecked: true}), nil
}

// conn is a running program and the calls in flight to it.
type conn struct {
	program string // for messages: its name, e.g. dstack-secrets-cloud
	cmd     *exec.Cmd
	stdin   io.WriteCloser

	wsem chan struct{} // held while a request is written
	enc  *json.Encoder

	// env answers the program's prompts and takes its warnings and
	// notices; promptMu asks one prompt at a time.
	env      secrets.Env
	promptMu sync.Mutex
	// openCtx and openCall are the context and the ID of the open call: a
	// backend may keep the context of open for later prompts, which are
	// then asked under openCtx, as they would be in-process.
	openCtx  context.Context
	openCall uint64

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]*pendingCall
	dead    error         // why no call can be made any more
	exited  chan struct{} // closed once the program was waited for
	closing bool          // Close asked the program to close: its exit is expected
}

// pendingCall is a call waiting for its response.
type pendingCall struct {
	ch  chan reply
	ctx context.Context // the caller's, for the prompts made on its behalf
	// promptErr is the error of the last prompt made for the call, which
	// an error response is made to wrap (errors.As finds it, as it would
	// in-process: an interrupted prompt keeps its exit code).
	promptErr error
}

// reply is a response, or why none will come.
type reply struct {
	r         response
	err       error
	promptErr error
}

type helloResult struct {
	g   greeting
	err error
}

// start starts the program at path and reads its greeting.
func start(ctx context.Context, path, backend string, env secrets.Env) (*conn, greeting, error) {
	cmd := exec.Command(path, ServeArg)
	cmd.Stderr = os.Stderr
	detach(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, greeting{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, greeting{}, err
	}
	if err := cmd.Start(); err != nil {
		return nil, greeting{}, fmt.Errorf("%w: cannot start %s, the program of the %s backend: %v", secrets.ErrUnavailable, path, backend, startErrorText(err))
	}
	c := &conn{
		program: Program(backend),
		cmd:     cmd,
		stdin:   stdin,
		wsem:    make(chan struct{}, 1),
		enc:     json.NewEncoder(stdin),
		env:     env,
		pending: map[uint64]*pendingCall{},
		exited:  make(chan struct{}),
	}
	hello := make(chan helloResult, 1)
	go c.read(stdout, path, hello)
	select {
	case h := <-hello:
		if h.err != nil {
			return nil, greeting{}, h.err
		}
		if h.g.Protocol != ProtocolVersion {
			c.shutdown()
			return nil, greeting{}, fmt.Errorf("%w: %s speaks version %d of the plugin protocol and dstack-secrets version %d: install both from the same checkout (go install ./cmd/dstack-secrets ./cmd/%s)",
				secrets.ErrUnavailable, path, h.g.Protocol, ProtocolVersion, c.program)
		}
		return c, h.g, nil
	case <-ctx.Done():
		c.kill(ctx.Err())
		<-c.exited
		return nil, greeting{}, ctx.Err()
	}
}

// startErrorText describes an error of exec.Cmd.Start without repeating
// the path.
func startErrorText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// read reads the greeting and then the responses, handing each to its
// call, until the program's output ends; then it waits for the program
// and fails the calls still waiting.
func (c *conn) read(stdout io.Reader, path string, hello chan<- helloResult) {
	dec := json.NewDecoder(stdout)
	var g greeting
	if err := dec.Decode(&g); err != nil || g.Protocol == 0 {
		var reason error
		if err == nil || !errors.Is(err, io.EOF) {
			reason = fmt.Errorf("%w: %s does not speak the dstack-secrets plugin protocol (its first output is not a greeting); is it the %s program of this release?", secrets.ErrUnavailable, path, c.program)
			c.kill(reason)
		}
		status := c.wait()
		if reason == nil {
			reason = fmt.Errorf("%w: %s exited before greeting (%s); its messages, if any, are on standard error", secrets.ErrUnavailable, path, status)
		}
		c.finish(reason)
		hello <- helloResult{err: c.deadErr()}
		return
	}
	hello <- helloResult{g: g}
	for {
		var r response
		if err := dec.Decode(&r); err != nil {
			if !errors.Is(err, io.EOF) {
				c.kill(fmt.Errorf("%w: %s sent a malformed response (%v) and was stopped; open the store again", secrets.ErrUnavailable, c.program, err))
			}
			status := c.wait()
			c.mu.Lock()
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.finish(fmt.Errorf("%w: the %s store was closed", secrets.ErrClosed, c.program))
				return
			}
			c.finish(fmt.Errorf("%w: %s, the program of the backend, exited unexpectedly (%s); its messages, if any, are on standard error; open the store again", secrets.ErrUnavailable, c.program, status))
			return
		}
		switch {
		case r.Warn != nil:
			// In order: a warning comes before the response of its call.
			c.env.Warning(*r.Warn)
			continue
		case r.Notice != nil:
			if c.env.Notice != nil {
				c.env.Notice(*r.Notice)
			}
			continue
		case r.Prompt != nil:
			go c.answer(*r.Prompt)
			continue
		}
		c.mu.Lock()
		p := c.pending[r.ID]
		delete(c.pending, r.ID)
		var rep reply
		if p != nil {
			rep = reply{r: r, promptErr: p.promptErr}
		}
		c.mu.Unlock()
		if p != nil {
			p.ch <- rep
		}
	}
}

// answer asks what the program's prompt m asks with the parent's
// secrets.Env.Prompt, under the context of the call it was made for, and
// sends the answer.
func (c *conn) answer(m promptMessage) {
	c.mu.Lock()
	p := c.pending[m.Call]
	openCtx, openCall := c.openCtx, c.openCall
	c.mu.Unlock()
	a := request{Answer: m.Ask}
	switch {
	case c.env.Prompt == nil:
		a.Error = encodeError(errors.New("plugin: dstack-secrets cannot prompt (no terminal)"))
	case p == nil && (m.Call != openCall || openCtx == nil):
		a.Error = encodeError(fmt.Errorf("plugin: a prompt for call %d, which is not in flight", m.Call))
	default:
		ctx := openCtx
		if p != nil {
			ctx = p.ctx
		}
		c.promptMu.Lock()
		v, err := c.env.Prompt(ctx, m.Text)
		c.promptMu.Unlock()
		if err != nil {
			// The call that prompted fails with this error wrapped; a
			// prompt under the context of open is for whichever call is in
			// flight.
			c.mu.Lock()
			if p != nil {
				p.promptErr = err
			} else {
				for _, q := range c.pending {
					q.promptErr = err
				}
			}
			c.mu.Unlock()
			a.Error = encodeError(err)
		} else {
			a.Value = []byte(v)
		}
	}
	// Sent even when ctx ended: the program may wait under a context of
	// its own (that of open) and drops an answer nobody waits for. It
	// reads its input all the time, and a program that is gone fails the
	// write.
	_ = c.send(context.Background(), a)
}

// wait waits for the program to exit, killing it if it has not within
// closeTimeout of closing its output, and describes how it ended.
func (c *conn) wait() string {
	t := time.AfterFunc(closeTimeout, func() { killProcess(c.cmd) })
	err := c.cmd.Wait()
	t.Stop()
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	return err.Error()
}

// finish records why the program is gone (unless an earlier reason was
// recorded) and fails the calls still waiting.
func (c *conn) finish(reason error) {
	c.mu.Lock()
	if c.dead == nil {
		c.dead = reason
	}
	for id, p := range c.pending {
		p.ch <- reply{err: c.dead}
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.exited)
}

func (c *conn) deadErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dead
}

// kill records reason (when not nil and no reason was recorded) and kills
// the program; the reader then waits for it.
func (c *conn) kill(reason error) {
	c.mu.Lock()
	if c.dead == nil && reason != nil {
		c.dead = reason
	}
	c.mu.Unlock()
	select {
	case <-c.exited:
	default:
		killProcess(c.cmd)
	}
}

// shutdown closes the program's input, which makes it close its store and
// exit, and waits for it, killing it after closeTimeout.
func (c *conn) shutdown() {
	_ = c.stdin.Close()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-c.exited:
	case <-t.C:
		c.kill(nil)
		<-c.exited
	}
}

// closing records that Close is asking the program to close, so that its
// exit reads as the store being closed, not as a crash.
func (c *conn) startClosing() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
}

// closed makes every later call answer ErrClosed.
func (c *conn) closed() {
	c.mu.Lock()
	if c.dead == nil {
		c.dead = fmt.Errorf("%w: the %s store was closed", secrets.ErrClosed, c.program)
	}
	c.mu.Unlock()
}

// abandon ends the program of a store that was garbage collected without
// Close.
func (c *conn) abandon() {
	c.kill(fmt.Errorf("%w: the store was not closed", secrets.ErrClosed))
	_ = c.stdin.Close()
}

// call sends the call method(params) and decodes its result into result.
// When ctx ends first the call is cancelled in the program, which is
// killed if it does not answer within cancelGrace.
func (c *conn) call(ctx context.Context, method string, params, result any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("plugin: encoding the parameters of %s: %w", method, err)
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.dead != nil {
		err := c.dead
		c.mu.Unlock()
		return err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = &pendingCall{ch: ch, ctx: ctx}
	if method == "open" {
		c.openCtx, c.openCall = ctx, id
	}
	c.mu.Unlock()
	req := request{ID: id, Method: method, Params: raw}
	if d, ok := ctx.Deadline(); ok {
		req.Deadline = &d
	}
	if err := c.send(ctx, req); err != nil {
		if ctx.Err() != nil {
			c.forget(id)
			return ctx.Err()
		}
		// The program is gone: the reader says why.
		c.kill(nil)
		return (<-ch).decode(result)
	}
	select {
	case rep := <-ch:
		return rep.decode(result)
	case <-ctx.Done():
	}
	cctx, cancel := context.WithTimeout(context.Background(), cancelGrace)
	defer cancel()
	cancelReq := request{Cancel: id}
	if cause := context.Cause(ctx); errors.Is(ctx.Err(), context.Canceled) && cause != ctx.Err() {
		cancelReq.Cause = cause.Error() // "interrupted by SIGINT: ..."
	}
	_ = c.send(cctx, cancelReq)
	select {
	case rep := <-ch:
		return withCause(rep.decode(result), ctx.Err())
	case <-cctx.Done():
		c.kill(fmt.Errorf("%w: %s was stopped because a cancelled %s did not end within %v; open the store again", secrets.ErrUnavailable, c.program, method, cancelGrace))
		return fmt.Errorf("%s: %w (%s did not stop within %v and was killed)", method, ctx.Err(), c.program, cancelGrace)
	}
}

func (c *conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// send writes one request. Waiting for the writer ends with ctx; a write
// still blocked cancelGrace after ctx ended (the program does not read)
// kills the program.
func (c *conn) send(ctx context.Context, req request) error {
	select {
	case c.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.wsem }()
	written := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(cancelGrace)
		defer t.Stop()
		select {
		case <-written:
		case <-t.C:
			c.kill(fmt.Errorf("%w: %s was stopped: it did not read a request within %v of its cancellation; open the store again", secrets.ErrUnavailable, c.program, cancelGrace))
		}
	})
	err := c.enc.Encode(req)
	close(written)
	stop()
	return err
}

func (rep reply) decode(result any) error {
	switch {
	case rep.err != nil:
		return rep.err
	case rep.r.Error != nil:
		err := decodeError(rep.r.Error)
		if rep.promptErr != nil {
			err = withCause(err, rep.promptErr)
		}
		return err
	case result != nil && len(rep.r.Result) > 0:
		if err := json.Unmarshal(rep.r.Result, result); err != nil {
			return fmt.Errorf("%w: malformed result from the backend's program: %v", secrets.ErrUnavailable, err)
		}
	}
	return nil
}
