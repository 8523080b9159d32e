package engine

import (
	"context"
	"sync/atomic"
)

// callRoot is the parent of every call an engine makes (dispatcher.ctx): a context that is never
// done by itself, so that arming a call's deadline registers nothing on it (a context.AfterFunc on
// one cancellable parent cost every call an allocation and a lock all calls shared). kill ends the
// calls running, found through the memory guard, which knows every state's deadline, and any call
// armed afterwards at once.
type callRoot struct {
	killed atomic.Bool

	// unlistened is set while a worker runs a call it took with no other worker listening in
	// its place (see dispatcher.take), and relisten gives the place to another. The calls of
	// the root hand it over (handOver) when they turn out to take long: every few thousand
	// instructions, before a module's Go function, and at the memory guard's reading of the
	// heap, every 5 ms, for a call that waits in other Go code.
	unlistened atomic.Bool
	relisten   func()
}

type callRootKey struct{}

// newCallRoot returns a root and the context that carries it.
func newCallRoot() (*callRoot, context.Context) {
	r := &callRoot{}
	return r, context.WithValue(context.Background(), callRootKey{}, r)
}

// rootOf is the root a call's parent context carries, or nil.
func rootOf(ctx context.Context) *callRoot {
	r, _ := ctx.Value(callRootKey{}).(*callRoot)
	return r
}

// handOver has another worker listen, if a call took the place without handing it on.
func (r *callRoot) handOver() {
	if r.unlistened.Load() && r.unlistened.Swap(false) && r.relisten != nil {
		r.relisten()
	}
}

// kill ends the calls of this root running now, and those armed later.
func (r *callRoot) kill() {
	r.killed.Store(true)
	memory.each(func(d *deadline) {
		if d.root.Load() == r {
			d.endIfRunning(context.Canceled)
		}
	})
}
