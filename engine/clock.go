package engine

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineClock ends the calls that reach their deadline, with one timer for the whole process
// instead of one per call. The timer is set for the earliest deadline it was told of, and is left
// set when that call ends early: when it fires it ends the running calls whose deadline passed and
// sets itself for the earliest of the others. So a call whose deadline comes after the one the
// timer is set for (the common case: calls of the same script, arriving one after the other)
// touches no timer at all: arming a runtime timer and stopping it cost every call a lock on the
// scheduler's timer heap and, when the process was idle, a wake-up of the network poller.
//
// The running calls are found through the memory guard, which knows every live state's deadline.
type deadlineClock struct {
	next  atomic.Int64 // the time the timer is set for (monoNow); math.MaxInt64 when not set
	mu    sync.Mutex
	timer *time.Timer
}

var clock = newDeadlineClock()

// clockEpoch makes monoNow monotonic: a deadline does not move when the wall clock is set.
var clockEpoch = time.Now()

// monoNow is the clock's time, in nanoseconds.
func monoNow() int64 { return int64(time.Since(clockEpoch)) }

func newDeadlineClock() *deadlineClock {
	c := &deadlineClock{}
	c.next.Store(math.MaxInt64)
	c.timer = time.AfterFunc(time.Hour, c.fire)
	c.timer.Stop()
	return c
}

// watch makes sure the timer fires at at (monoNow's time) or before. The caller has published its
// deadline (deadline.atNano) first: either fire sees it, or watch sees the timer unset.
func (c *deadlineClock) watch(at int64) {
	if at >= c.next.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if at < c.next.Load() {
		c.next.Store(at)
		c.timer.Reset(time.Duration(at - monoNow()))
	}
}

// fire ends the calls past their deadline and sets the timer for the next one.
func (c *deadlineClock) fire() {
	c.mu.Lock()
	c.next.Store(math.MaxInt64)
	c.mu.Unlock()
	now := monoNow()
	earliest := int64(math.MaxInt64)
	memory.each(func(d *deadline) {
		switch at := d.atNano.Load(); {
		case at == 0: // between calls
		case at <= now:
			d.expire(now)
		case at < earliest:
			earliest = at
		}
	})
	if earliest != math.MaxInt64 {
		c.watch(earliest)
	}
}

// expire ends the call in progress if its deadline has passed at now: the call that was seen past
// its deadline may have ended meanwhile, and the next one on the state has its own.
func (d *deadline) expire(now int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if at := d.atNano.Load(); d.err == nil && at != 0 && at <= now {
		d.end(context.DeadlineExceeded)
	}
}
