package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/dstackai/dstack-secrets/secrets"
)

// ProtocolVersion is the version of the protocol in the greeting. A parent
// refuses a program of another version. Version 2 added the program's
// prompt, warn and notice messages and the parent's answer.
const ProtocolVersion = 2

// ServeArg is the argument a plugin program is started with; its main
// calls Serve when it sees it.
const ServeArg = "serve-plugin"

// greeting is the first line a plugin program writes.
type greeting struct {
	Protocol int           `json:"protocol"`
	Backends []backendInfo `json:"backends"`
}

// backendInfo describes a backend that a program serves.
type backendInfo struct {
	Name string `json:"name"`
	// Env are the environment variables the backend reads through
	// secrets.Env; the parent sends their values with open.
	Env []string `json:"env,omitempty"`
}

// request is a line from the parent: a call (ID and Method), the
// cancellation of one (Cancel), or the answer to a prompt of the program
// (Answer, with Value or Error).
type request struct {
	ID       uint64          `json:"id,omitempty"`
	Method   string          `json:"method,omitempty"`
	Params   json.RawMessage `json:"params,omitempty"`
	Deadline *time.Time      `json:"deadline,omitempty"`
	Cancel   uint64          `json:"cancel,omitempty"`
	// Cause is why the caller's context of a cancelled call ended
	// (context.Cause), e.g. "interrupted by SIGINT: context canceled".
	Cause  string `json:"cause,omitempty"`
	Answer uint64 `json:"answer,omitempty"`
	// Value is what was typed at the prompt; encoding/json sends []byte as
	// base64, so that no byte is lost.
	Value []byte     `json:"value,omitempty"`
	Error *wireError `json:"error,omitempty"`
}

// response is a line from the program: the answer to the call ID, or a
// message of the store's secrets.Env: a prompt for the parent to answer,
// a warning or a notice.
type response struct {
	ID     uint64          `json:"id,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *wireError      `json:"error,omitempty"`
	Prompt *promptMessage  `json:"prompt,omitempty"`
	Warn   *string         `json:"warn,omitempty"`
	Notice *string         `json:"notice,omitempty"`
}

// promptMessage asks the parent to prompt with Text (secrets.Env.Prompt)
// on behalf of the call Call, whose context bounds the prompt; the parent
// answers with a request whose Answer is Ask.
type promptMessage struct {
	Ask  uint64 `json:"ask"`
	Call uint64 `json:"call"`
	Text string `json:"text"`
}

// wireError is an error as it travels: its kinds and its message.
type wireError struct {
	Kinds   []string `json:"kinds,omitempty"`
	Message string   `json:"message"`
}

// openParams are the parameters of open.
type openParams struct {
	Backend string          `json:"backend"`
	Scope   scopeParams     `json:"scope"`
	Options secrets.Options `json:"options,omitempty"`
	// Env holds the values of the variables the backend declared, when
	// set; encoding/json sends []byte as base64, so that no byte is lost.
	Env map[string][]byte `json:"env,omitempty"`
	// Home is the home directory secrets.Env.Home gave the parent.
	Home []byte `json:"home,omitempty"`
	// Prompt says whether the parent can ask at a terminal: the backend
	// then gets a secrets.Env.Prompt that asks the parent.
	Prompt bool `json:"prompt,omitempty"`
	// Timeout is secrets.Env.Timeout, in nanoseconds.
	Timeout time.Duration `json:"timeout,omitempty"`
	// AllowUnsafeNames and MaxSecrets are the project's
	// allow_unsafe_names and max_secrets (secrets.OpenRequest), which the
	// program's own checks (secrets.Wrap) apply.
	AllowUnsafeNames []string `json:"allow_unsafe_names,omitempty"`
	MaxSecrets       int      `json:"max_secrets,omitempty"`
}

type scopeParams struct {
	Project    string `json:"project"`
	Repository string `json:"repository"`
}

// openResult is the result of open.
type openResult struct {
	// Methods are the methods the store supports.
	Methods []string `json:"methods"`
}

// errorKinds are the sentinel errors that keep their identity across the
// protocol, by name.
var errorKinds = []struct {
	name string
	err  error
}{
	{"not_found", secrets.ErrNotFound},
	{"exists", secrets.ErrExists},
	{"invalid_name", secrets.ErrInvalidName},
	{"invalid_value", secrets.ErrInvalidValue},
	{"invalid_scope", secrets.ErrInvalidScope},
	{"not_in_repository", secrets.ErrNotInRepository},
	{"unknown_project", secrets.ErrUnknownProject},
	{"unknown_backend", secrets.ErrUnknownBackend},
	{"invalid_config", secrets.ErrInvalidConfig},
	{"permission", secrets.ErrPermission},
	{"unavailable", secrets.ErrUnavailable},
	{"conflict", secrets.ErrConflict},
	{"corrupt", secrets.ErrCorrupt},
	{"auth", secrets.ErrAuth},
	{"closed", secrets.ErrClosed},
	{"unsafe_name", secrets.ErrUnsafeName},
	{"limit", secrets.ErrLimit},
	{"unsupported", errors.ErrUnsupported},
	{"canceled", context.Canceled},
	{"deadline_exceeded", context.DeadlineExceeded},
}

// encodeError describes err for the wire: every kind it wraps, and its
// message.
func encodeError(err error) *wireError {
	w := &wireError{Message: err.Error()}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			w.Kinds = append(w.Kinds, k.name)
		}
	}
	return w
}

// remoteError is an error that came over the wire: errors.Is finds the
// sentinels of its kinds.
type remoteError struct {
	msg   string
	kinds []error
}

func (e *remoteError) Error() string   { return e.msg }
func (e *remoteError) Unwrap() []error { return e.kinds }

// decodeError rebuilds an error from the wire. Kinds this version does not
// know (a newer program) are dropped; the message stays.
func decodeError(w *wireError) error {
	e := &remoteError{msg: w.Message}
	for _, name := range w.Kinds {
		for _, k := range errorKinds {
			if k.name == name {
				e.kinds = append(e.kinds, k.err)
			}
		}
	}
	return e
}

// withCause returns err, made to also match cause with errors.Is when it
// does not already.
func withCause(err, cause error) error {
	if err == nil || errors.Is(err, cause) {
		return err
	}
	var re *remoteError
	if errors.As(err, &re) {
		return &remoteError{msg: re.msg, kinds: append(append([]error{}, re.kinds...), cause)}
	}
	return &remoteError{msg: err.Error(), kinds: []error{err, cause}}
}
