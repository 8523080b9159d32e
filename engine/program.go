package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/time/rate"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/script"
	"github.com/msgscript/msgscript/store"
)

// Program is one version of one script, compiled and ready to run, with its own pool of the Lua
// states its calls used last (states pass between the scripts' pools: pool.go). It is replaced as
// a whole when the script or a library it requires changes.
type Program struct {
	Subject string
	Name    string
	Origin  string
	// Version tells this version from the others: the first 12 hex digits of the SHA-256 of its
	// stored text (libraries not included).
	Version string
	// Revision is the store's own version of the text (etcd's revision), when it has one.
	Revision int64
	*Code

	timeout time.Duration
	pool    *statePool
	stats   *counters // the script's, shared by its versions
}

// newProgram gives code its deadline (its `timeout` header, else the default, at most the
// MaxTimeout) and a state pool.
func newProgram(subject, name string, it store.Item, code *Code, opts *Options, stats *counters) *Program {
	timeout := opts.Timeout
	if code.Headers.Timeout > 0 {
		timeout = code.Headers.Timeout
	}
	if opts.MaxTimeout > 0 {
		timeout = min(timeout, opts.MaxTimeout)
	}
	sends := rate.NewLimiter(rate.Limit(opts.SendRate), max(1, int(opts.SendRate)))
	p := &Program{
		Subject: subject, Name: name, Origin: it.Origin, Version: store.Version(it.Source), Revision: it.Revision,
		Code: code, timeout: timeout, stats: stats,
	}
	// fit makes a state serve this script: its send limit and name, and no other script's
	// environment (the state's calls left nothing else behind: see callenv.go, shield.go).
	script := callctx.Script{Subject: subject, Name: name}
	fit := func(st *luaState) {
		st.dropEnv()
		st.deadline.sends, st.deadline.script = sends, script
	}
	p.pool = newStatePool(opts.PoolSize, opts.idle, func() *luaState {
		st := newLuaState(opts)
		fit(st)
		return st
	}, fit)
	return p
}

// triggered reports whether a stream or a schedule calls the script.
func (p *Program) triggered() bool { return p.Headers.Stream != "" || p.Headers.Cron != "" }

// Close releases the idle states; calls in progress finish on theirs.
func (p *Program) Close() { p.pool.close() }

// warnings are the header lines of the script that are read but not used, located in its origin:
// its headers' own, a `--* subject:` that differs from the subject it is stored under (an etcd
// key written by hand, or `msgscriptcli add -s`), which it is served on, and a `--* timeout:`
// over the server's MaxTimeout, which is cut to it.
func (p *Program) warnings() []*script.Error {
	w := p.Headers.WarningsAt(p.Origin)
	if h := p.Headers.Subject; h != "" && h != p.Subject {
		w = append(w, &script.Error{Origin: p.Origin, Line: p.Headers.SubjectLine,
			Msg: fmt.Sprintf("header subject %q differs from the subject it is stored under; it is served on %s", h, p.Subject)})
	}
	if p.Headers.Timeout > p.timeout {
		w = append(w, &script.Error{Origin: p.Origin, Line: p.Headers.TimeoutLine,
			Msg: fmt.Sprintf("header timeout %s is over the server's max_timeout; its calls end after %s", p.Headers.Timeout, p.timeout)})
	}
	return w
}

// CallError is a script failing in one call. It concerns that script alone: the others on the
// same subject still answer.
type CallError struct {
	Msg     string
	Timeout bool // the call ran past its deadline
	// refused: the script did not run, as the message was more hops deep than max_depth;
	// trying it again cannot help.
	refused bool
}

func (e *CallError) Error() string { return e.Msg }

// Code is the NATS micro error code reported for the failure: 504 for a missed deadline, 500
// otherwise.
func (e *CallError) Code() int {
	if e.Timeout {
		return 504
	}
	return 500
}

// OnMessage runs the script's OnMessage(subject, payload) and returns the string it returns (a
// number is turned into its text, nothing into "").
func (p *Program) OnMessage(ctx context.Context, subject string, payload []byte) (string, error) {
	return p.onMessage(ctx, 0, subject, payload)
}

// onMessage is OnMessage bounded by limit too, when it is set (what its sender waits).
func (p *Program) onMessage(ctx context.Context, limit time.Duration, subject string, payload []byte) (string, error) {
	var reply string
	err := p.call(ctx, limit, func(L *lua.LState, env *lua.LTable) (err error) {
		reply, err = callOnMessage(L, env, subject, payload)
		return err
	})
	if err == errNoOnMessage && p.Headers.HTTP {
		err = &CallError{Msg: "an HTTP-mode script answers HTTP requests (through the HTTP handler, or msgscriptcli devhttp) and defines no OnMessage(subject, payload) for plain messages"}
	}
	return reply, err
}

var errNoOnMessage = &CallError{Msg: "the script defines no OnMessage(subject, payload) function"}

// callOnMessage calls the script's OnMessage in env.
func callOnMessage(L *lua.LState, env *lua.LTable, subject string, payload []byte) (string, error) {
	fn := env.RawGetString("OnMessage")
	if fn.Type() != lua.LTFunction {
		return "", errNoOnMessage
	}
	L.Push(fn)
	L.Push(lua.LString(subject))
	L.Push(lua.LString(payload))
	if err := L.PCall(2, 1, nil); err != nil {
		return "", err
	}
	switch v := L.Get(-1).(type) {
	case lua.LString:
		return string(v), nil
	case lua.LNumber:
		return v.String(), nil
	case *lua.LNilType:
		return "", nil
	default:
		return "", &CallError{Msg: fmt.Sprintf("OnMessage returned a %s; return a string (json.encode a table)", v.Type())}
	}
}

// call runs one call on a pooled state: deadline, the state's environment, the script's top level
// (which defines its functions; once per state when it may be kept, see callenv.go), then entry;
// afterwards the state and its environment are cleaned and returned to the pool, or
// closed when it may be damaged (a missed deadline stops the VM mid-instruction, a Go panic may
// leave it inconsistent).
func (p *Program) call(ctx context.Context, limit time.Duration, entry func(L *lua.LState, env *lua.LTable) error) (err error) {
	st := p.pool.get()
	L := st.L
	env := st.callEnv()
	// L.Env too: gopher-lua's load/loadstring compile chunks into L.Env, which would otherwise
	// be the base globals.
	st.env, L.Env = env, env
	timeout := p.timeout
	if limit > 0 && limit < timeout {
		timeout = limit
	}
	st.deadline.arm(ctx, timeout)
	L.SetContext(st.deadline)
	reusable := true
	defer func() {
		if r := recover(); r != nil {
			err = &CallError{Msg: truncate(fmt.Sprintf("panic in Go code called by the script: %v", r))}
			reusable = false
		}
		if st.deadline.disarm() || st.tainted {
			reusable = false
		}
		clear(st.ownMetas)
		st.printed = 0
		L.RemoveContext()
		st.env, L.Env = nil, L.G.Global
		// What the call opened and left open is closed, whether the state is kept or not.
		st.res.end()
		st.deadline.cleanup.Run()
		if reusable && st.shield.restore() {
			L.SetTop(0)
			st.resetEnv()
			p.pool.put(st)
		} else {
			p.pool.discard(st)
		}
	}()

	if st.kept == nil {
		chunk := L.NewFunctionFromProto(p.proto)
		chunk.Env = env
		L.Push(chunk)
		err = L.PCall(0, 0, nil)
		if err == nil && p.keepTopLevel {
			st.keepTopLevel()
		}
	}
	if err == nil {
		err = entry(L, env)
	}
	if err == nil && st.deadline.Err() != nil {
		// The deadline passed in Go code (a command, a request) that then returned: the caller
		// has stopped waiting, and the answer would tell it nothing true.
		err = errors.New("the call ended past its deadline")
	}
	if err == nil {
		return nil
	}
	ended := st.deadline.Err()
	if ended == nil && !time.Now().Before(st.deadline.at) {
		// Go code that watches the clock itself (the pattern matcher) may stop a moment before
		// the deadline's timer fires.
		ended = context.DeadlineExceeded
	}
	var callErr *CallError
	reusable, callErr = p.callError(ended, st.deadline.limit, err)
	return callErr
}

// callError turns what a call returned into a CallError and says whether the state survived;
// ended is why the call's context ended, if it did, after limit.
func (p *Program) callError(ended error, limit time.Duration, err error) (reusable bool, _ *CallError) {
	var ce *CallError
	if errors.As(err, &ce) {
		return true, ce
	}
	msg := err.Error()
	var api *lua.ApiError
	if errors.As(err, &api) {
		msg = api.Object.String()
		reusable = api.Type != lua.ApiErrorPanic
		if api.Type == lua.ApiErrorPanic {
			msg = "panic in Go code called by the script: " + msg
		}
	}
	msg = p.lines.rewrite(truncate(msg))
	switch {
	case errors.Is(ended, errMemoryLimit):
		return false, &CallError{Msg: memoryLimitError(memory.limit.Load()) + ": " + msg}
	case errors.Is(ended, context.DeadlineExceeded):
		return false, &CallError{Msg: fmt.Sprintf("timed out after %s: %s", limit.Round(time.Millisecond), msg), Timeout: true}
	case ended != nil:
		return false, &CallError{Msg: "cancelled: " + msg}
	}
	return reusable, &CallError{Msg: msg}
}
