// Package callctx carries what a script's call knows about itself, within the process through the
// call's context and across NATS in message headers: how long its caller still waits, and how
// many script calls led to it. The engine reads the headers of every message it runs scripts for;
// the Lua modules pass them on with the messages a script sends, so that a deadline travels with
// the work and a loop through NATS ends after a bounded number of hops.
package callctx

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/time/rate"
)

// The headers (the HTTP handler drops them from client requests: every Msgscript- header is
// msgscript's own).
const (
	// HeaderTimeout is how long the sender still waits for the reply, as a Go duration ("4.5s"):
	// relative, so that clocks that disagree between machines do not matter.
	HeaderTimeout = "Msgscript-Timeout"
	// HeaderDepth is how many script calls led to the message: 1 for a message a script sent
	// while answering a client, 2 for one sent by the script that answered that, and so on.
	HeaderDepth = "Msgscript-Depth"
)

type depthKey struct{}

// WithDepth returns ctx for a call at depth (0: a client's message).
func WithDepth(ctx context.Context, depth int) context.Context {
	return context.WithValue(ctx, depthKey{}, depth)
}

// Depth is the depth of the call ctx belongs to.
func Depth(ctx context.Context) int {
	d, _ := ctx.Value(depthKey{}).(int)
	return d
}

// Read returns what the headers of m say: the time its sender still waits (0 when it does not
// say, or says nonsense) and its depth.
func Read(m *nats.Msg) (timeout time.Duration, depth int) {
	if m.Header == nil {
		return 0, 0
	}
	if v := m.Header.Get(HeaderTimeout); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = d
		}
	}
	return timeout, ReadDepth(m)
}

// ReadDepth returns the depth m's headers say (0 when they do not, or say nonsense).
func ReadDepth(m *nats.Msg) int {
	if m.Header == nil {
		return 0
	}
	if v := m.Header.Get(HeaderDepth); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// Pass sets the depth of m, a message sent during the call of ctx: one more hop than the call.
func Pass(ctx context.Context, m *nats.Msg) {
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	m.Header.Set(HeaderDepth, strconv.Itoa(Depth(ctx)+1))
}

// PassHTTP sets the depth of an HTTP request sent during the call of ctx, as Pass does for a
// message: a script calling msgscript's own HTTP handler is one hop deeper, like one sending a
// NATS request, and a loop through the handler ends at max_depth too.
func PassHTTP(ctx context.Context, h http.Header) {
	h.Set(HeaderDepth, strconv.Itoa(Depth(ctx)+1))
}

// DepthOf reads the depth an HTTP request says it is at: 0 when it says nothing or nonsense.
// (A client can only make its own request deeper, and so refused sooner, by saying more.)
func DepthOf(h http.Header) int {
	v := h.Get(HeaderDepth)
	if v == "" {
		return 0 // the common case, without Atoi's error
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// SetTimeout says in m's headers that its sender waits wait for the reply. The header asks for a
// little less (a tenth, at most 100 ms), so that the scripts reached end, and their timeout error
// comes back, before the sender stops waiting.
func SetTimeout(m *nats.Msg, wait time.Duration) {
	if m.Header == nil {
		m.Header = nats.Header{}
	}
	m.Header.Set(HeaderTimeout, TimeoutValue(wait))
}

// TimeoutValue is the Msgscript-Timeout value SetTimeout writes for wait: a sender whose wait
// never changes (the HTTP handler) makes it once.
func TimeoutValue(wait time.Duration) string {
	return (wait - min(wait/10, 100*time.Millisecond)).String()
}

// Cleanup is what must be done when a call ends: closing what the call opened and may have left
// open (a socket, a file, a process). The engine keeps one per Lua state, reused call after call,
// and runs it when each call ends, however it ends.
type Cleanup struct{ fns []func() }

type cleanupKey struct{}

// CleanupKey is the context key under which a call's *Cleanup is found.
var CleanupKey any = cleanupKey{}

// OnEnd has fn run when the call of ctx ends. It reports false, and fn will not run, outside a
// call (a module used from Go, in tests).
func OnEnd(ctx context.Context, fn func()) bool {
	c, ok := ctx.Value(CleanupKey).(*Cleanup)
	if ok {
		c.fns = append(c.fns, fn)
	}
	return ok
}

// Run runs what was registered, most recent first, and forgets it.
func (c *Cleanup) Run() {
	for i := len(c.fns) - 1; i >= 0; i-- {
		c.fns[i]()
		c.fns[i] = nil
	}
	c.fns = c.fns[:0]
}

type valueBoundKey struct{}

// ValueBoundKey is the context key under which a call's ValueBound is found.
var ValueBoundKey any = valueBoundKey{}

// DefaultValueBound is ValueBound outside a call.
const DefaultValueBound = 1 << 31

// ValueBound is the largest value (a string, a result) a Go function may build at once for the
// call of ctx: the engine's memory guard sets it (a quarter of memory_limit). Functions that build
// a value piece by piece check it before each piece, rather than ask for more memory than the
// process may have, which the Go runtime answers by ending the process.
func ValueBound(ctx context.Context) int {
	if ctx != nil {
		if n, ok := ctx.Value(ValueBoundKey).(int); ok {
			return n
		}
	}
	return DefaultValueBound
}

type admitKey struct{}

// AdmitKey is the context key under which a call's Admitter is found.
var AdmitKey any = admitKey{}

// Admitter makes room under the memory limit for size bytes a Go function is about to make (in
// one piece, or as many values it cannot stop in the middle of), or tells why there is none; the
// engine's memory guard sets it. release gives the room back once the memory is made.
type Admitter func(size int) (release func(), err error)

// Admit asks the call of ctx's Admitter for size bytes; with none, it admits everything.
func Admit(ctx context.Context, size int) (release func(), err error) {
	if ctx != nil {
		if a, ok := ctx.Value(AdmitKey).(Admitter); ok {
			return a(size)
		}
	}
	return func() {}, nil
}

type sendLimitKey struct{}

// SendLimitKey is the context key under which a call's *rate.Limiter of messages is found.
var SendLimitKey any = sendLimitKey{}

// WaitToSend waits until the call of ctx may send one more message, as its script's send rate
// allows, and fails when the call's deadline would come first. A call with no limit sends at once.
func WaitToSend(ctx context.Context) error {
	l, _ := ctx.Value(SendLimitKey).(*rate.Limiter)
	if l == nil {
		return nil
	}
	if err := l.Wait(ctx); err != nil {
		return fmt.Errorf("the script sends more than its send_rate of %g messages a second, and its deadline comes first", float64(l.Limit()))
	}
	return nil
}

type scriptKey struct{}

// ScriptKey is the context key under which the Script of a call is found.
var ScriptKey any = scriptKey{}

// Script names the script a call runs: the modules that keep something per script (the kv
// module's own bucket) find it here.
type Script struct {
	Subject string // the script's subject pattern
	Name    string
}

// ScriptOf returns the script the call of ctx runs, and false outside a script's call.
func ScriptOf(ctx context.Context) (Script, bool) {
	if ctx == nil {
		return Script{}, false
	}
	s, ok := ctx.Value(ScriptKey).(Script)
	return s, ok
}
