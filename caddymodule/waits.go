package caddymodule

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// waits are the handler's requests waiting for their reply. A wait ends at the handler's timeout,
// or as soon as its client goes away. context.WithTimeout on each request's context did both, at
// the cost of a runtime timer and a child registered with the request's context (8 allocations
// and ~3 µs of CPU a request under load, a fifth of the handler's own); here one
// sweeper goroutine, running only while requests wait, looks at every wait each tick and ends
// those past their deadline or whose client is gone. A wait thus overruns its timeout by at most a
// tick, which is a twentieth of the timeout (at most 50 ms).
type waits struct {
	tick time.Duration
	pool sync.Pool // *wait, their channels open: reused

	mu       sync.Mutex
	list     []*wait // in no order; each wait knows its index
	sweeping bool    // the sweeper runs
}

// wait is one request's wait, the context its NATS request waits on: Done closes at the deadline
// or when the request's own context ends; values are the request's.
type wait struct {
	context.Context // the request's
	deadline        time.Time
	done            chan struct{}
	ended           atomic.Pointer[error] // why done closed; nil while open
	idx             int                   // in waits.list, -1 once out of it
}

// maxTick bounds how far past its deadline a wait may end.
const maxTick = 50 * time.Millisecond

func newWaits(timeout time.Duration) *waits {
	return &waits{tick: min(maxTick, max(timeout/20, time.Millisecond))}
}

// start registers a wait for a request whose context is ctx, ending at deadline.
func (ws *waits) start(ctx context.Context, deadline time.Time) *wait {
	w, _ := ws.pool.Get().(*wait)
	if w == nil {
		w = &wait{done: make(chan struct{})}
	}
	w.Context, w.deadline = ctx, deadline
	ws.mu.Lock()
	w.idx = len(ws.list)
	ws.list = append(ws.list, w)
	if !ws.sweeping {
		ws.sweeping = true
		go ws.sweep()
	}
	ws.mu.Unlock()
	return w
}

// finish takes the wait out of the list once its request is over. A wait that did not end is
// reused: nothing holds its channel any more.
func (ws *waits) finish(w *wait) {
	ws.mu.Lock()
	if w.idx >= 0 {
		ws.remove(w)
	}
	ws.mu.Unlock()
	if w.ended.Load() == nil {
		w.Context = nil
		ws.pool.Put(w)
	}
}

// remove takes w out of the list; under mu.
func (ws *waits) remove(w *wait) {
	last := len(ws.list) - 1
	ws.list[w.idx] = ws.list[last]
	ws.list[w.idx].idx = w.idx
	ws.list[last] = nil
	ws.list = ws.list[:last]
	w.idx = -1
}

// sweep ends, each tick, the waits past their deadline or whose request ended, until none is left.
func (ws *waits) sweep() {
	for {
		time.Sleep(ws.tick)
		now := time.Now()
		ws.mu.Lock()
		for i := 0; i < len(ws.list); {
			w := ws.list[i]
			var why error
			if !now.Before(w.deadline) {
				why = context.DeadlineExceeded
			} else if err := w.Context.Err(); err != nil {
				why = err
			}
			if why == nil {
				i++
				continue
			}
			w.ended.Store(&why)
			close(w.done)
			ws.remove(w) // the last one moves to i
		}
		if len(ws.list) == 0 {
			ws.sweeping = false
			ws.mu.Unlock()
			return
		}
		ws.mu.Unlock()
	}
}

func (w *wait) Deadline() (time.Time, bool) { return w.deadline, true }

func (w *wait) Done() <-chan struct{} { return w.done }

func (w *wait) Err() error {
	if err := w.ended.Load(); err != nil {
		return *err
	}
	return nil
}
