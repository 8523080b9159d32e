package engine

import (
	"context"

	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/msgscript/msgscript/callctx"
)

// deadline is the context of every call made on one Lua state (gopher-lua checks its Done channel
// between instructions, and Go modules get it from L.Context()). It is built once per state and
// re-armed per call, because a fresh context.WithTimeout costs a timer and three allocations per
// call, about as much as running a small script; the process's deadlineClock ends the calls that
// reach their deadline. A deadline that fired is never re-armed: its state is thrown away (see
// Program.call), so Done never needs a new channel.
type deadline struct {
	done chan struct{}

	// Per call, written by the goroutine running the call before the VM starts.
	parent     context.Context
	at         time.Time
	limit      time.Duration // from arm to at: the call's timeout, or less when its caller waits less
	stopParent func() bool
	// atNano is at on the clock's scale (monoNow), 0 between calls; the clock reads it.
	atNano atomic.Int64
	// steps counts the calls of Done, the call's instructions, for handOverEvery.
	steps uint32

	mu  sync.Mutex
	err error // set when done is closed

	// cleanup is what the call opened and left open, closed when it ends (see resources).
	cleanup callctx.Cleanup

	// For the memory guard: when the call in progress started (0 between calls), how much memory
	// it held when it last measured itself (with held, set when the state is made), and when.
	armedAt    atomic.Int64
	size       atomic.Int64
	measuredAt atomic.Int64
	held       func(budget int64) int64

	afters map[*func()]struct{} // AfterFunc's, under mu

	// sends bounds the messages the script sends (Options.SendRate), shared by its states.
	sends *rate.Limiter
	// script is the script whose calls run on the state (set when a Program's pool takes it).
	script callctx.Script
	// root is the engine's root of the call in progress (see callRoot), when its parent has one.
	root atomic.Pointer[callRoot]
}

// newDeadline returns a deadline known to the memory guard (and so to the clock) until
// forgetDeadline; held measures the memory its state holds (nil: it cannot).
func newDeadline(held func(budget int64) int64) *deadline {
	d := &deadline{done: make(chan struct{}), parent: context.Background(), held: held}
	memory.add(d)
	return d
}

func forgetDeadline(d *deadline) { memory.remove(d) }

// arm starts a call: Done closes after timeout, or when parent ends (its deadline, when it has an
// earlier one, is the call's).
func (d *deadline) arm(parent context.Context, timeout time.Duration) {
	now := time.Now()
	if at, ok := parent.Deadline(); ok && at.Sub(now) < timeout {
		timeout = max(at.Sub(now), 0)
	}
	d.parent, d.at, d.limit = parent, now.Add(timeout), timeout
	d.armedAt.Store(now.UnixNano())
	memory.callStarted()
	d.measuredAt.Store(0)
	d.size.Store(-1)
	at := int64(now.Sub(clockEpoch) + timeout) // monoNow's scale, without reading the clock again
	d.atNano.Store(at)
	clock.watch(at)
	if parent.Done() != nil {
		d.stopParent = context.AfterFunc(parent, func() { d.fire(parent.Err()) })
	}
	// After armedAt: a kill that misses this root sees the call running, and one before it is
	// seen here.
	r := rootOf(parent)
	d.root.Store(r)
	if r != nil && r.killed.Load() {
		d.fire(context.Canceled)
	}
}

// disarm ends a call and reports whether the deadline fired, or may still fire because the
// parent's callback is already on its way: either way the state must not be reused.
func (d *deadline) disarm() (fired bool) {
	d.mu.Lock()
	// Under mu: neither endIfRunning nor the clock ends the next call in this one's place.
	d.armedAt.Store(0)
	d.atNano.Store(0)
	clear(d.afters)
	fired = d.err != nil
	d.mu.Unlock()
	if d.stopParent != nil {
		if !d.stopParent() {
			fired = true
		}
		d.stopParent = nil
	}
	return fired || d.Err() != nil
}

// endIfRunning ends the call in progress with err; it does nothing between calls.
func (d *deadline) endIfRunning(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil && d.armedAt.Load() != 0 {
		d.end(err)
	}
}

// end closes done with err and runs the AfterFunc's; under mu.
func (d *deadline) end(err error) {
	d.err = err
	close(d.done)
	for f := range d.afters {
		go (*f)()
	}
	clear(d.afters)
}

// running reports whether a call is in progress, and for how long.
func (d *deadline) running() (bool, time.Duration) {
	at := d.armedAt.Load()
	if at == 0 {
		return false, 0
	}
	return true, time.Since(time.Unix(0, at))
}

func (d *deadline) fire(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.end(err)
	}
}

func (d *deadline) Deadline() (time.Time, bool) { return d.at, true }

// Done is asked before every Lua instruction, on the goroutine running the call (code that may
// watch it from another goroutine is given a context derived from it, which AfterFunc serves).
// While the memory guard's alarm is on, the call measures itself there every remeasure, and ends
// itself when it alone holds the guard's bound.
func (d *deadline) Done() <-chan struct{} {
	if d.steps++; d.steps%handOverEvery == 0 {
		if r := d.root.Load(); r != nil {
			r.handOver()
		}
	}
	if memory.alarm.Load() && d.held != nil && d.armedAt.Load() != 0 {
		if now := time.Now().UnixNano(); now-d.measuredAt.Load() >= int64(remeasure) {
			bound := memory.selfBound()
			size := d.held(bound)
			d.size.Store(size)
			d.measuredAt.Store(now)
			if size >= bound {
				d.endIfRunning(errMemoryLimit)
			}
		}
	}
	return d.done
}

// handOverEvery is how many instructions a call runs between two looks at whether it took the
// listener's place (callRoot.handOver): some tens of microseconds.
const handOverEvery = 4096

// AfterFunc arranges for f to run, in its own goroutine, when the call ends early (its deadline,
// its caller gone, the memory guard); stop undoes it. Contexts derived from the call's (a request
// timeout, a coroutine) use it rather than a goroutine each waiting on Done. What a call leaves
// registered is dropped when it ends.
func (d *deadline) AfterFunc(f func()) (stop func() bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		go f()
		return func() bool { return false }
	}
	key := &f
	if d.afters == nil {
		d.afters = map[*func()]struct{}{}
	}
	d.afters[key] = struct{}{}
	return func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		_, ok := d.afters[key]
		delete(d.afters, key)
		return ok
	}
}
func (d *deadline) Value(key any) any {
	switch key {
	case callctx.CleanupKey:
		return &d.cleanup
	case callctx.ValueBoundKey:
		return memory.maxValue()
	case callctx.AdmitKey:
		return callctx.Admitter(admitFor)
	case callctx.SendLimitKey:
		return d.sends
	case callctx.ScriptKey:
		if d.script.Name != "" {
			return d.script
		}
	}
	return d.parent.Value(key)
}

func (d *deadline) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

var _ context.Context = (*deadline)(nil)
