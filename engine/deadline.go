package engine

import (
	"context"
	"sync"
	"time"
)

// deadline is the context of every call made on one Lua state (gopher-lua checks its Done channel
// between instructions, and Go modules get it from L.Context()). It is built once per state and
// re-armed per call, because a fresh context.WithTimeout costs a timer and three allocations per
// call, about as much as running a small script. A deadline that fired is never re-armed: its
// state is thrown away (see Program.call), so Done never needs a new channel.
type deadline struct {
	done  chan struct{}
	timer *time.Timer

	// Per call, written by the goroutine running the call before the VM starts.
	parent     context.Context
	at         time.Time
	stopParent func() bool

	mu  sync.Mutex
	err error // set when done is closed
}

func newDeadline() *deadline {
	d := &deadline{done: make(chan struct{}), parent: context.Background()}
	d.timer = time.AfterFunc(time.Hour, func() { d.fire(context.DeadlineExceeded) })
	d.timer.Stop()
	return d
}

// arm starts a call: Done closes after timeout, or when parent ends.
func (d *deadline) arm(parent context.Context, timeout time.Duration) {
	d.parent, d.at = parent, time.Now().Add(timeout)
	d.timer.Reset(timeout)
	if parent.Done() != nil {
		d.stopParent = context.AfterFunc(parent, func() { d.fire(parent.Err()) })
	}
}

// disarm ends a call and reports whether the deadline fired, or may still fire because its timer
// or the parent's callback is already on its way: either way the state must not be reused.
func (d *deadline) disarm() (fired bool) {
	fired = !d.timer.Stop()
	if d.stopParent != nil {
		if !d.stopParent() {
			fired = true
		}
		d.stopParent = nil
	}
	return fired || d.Err() != nil
}

func (d *deadline) fire(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err == nil {
		d.err = err
		close(d.done)
	}
}

func (d *deadline) Deadline() (time.Time, bool) { return d.at, true }
func (d *deadline) Done() <-chan struct{}       { return d.done }
func (d *deadline) Value(key any) any           { return d.parent.Value(key) }

func (d *deadline) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

var _ context.Context = (*deadline)(nil)
