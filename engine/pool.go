package engine

import "sync"

// statePool keeps idle Lua states of one script version. It holds at most max idle states; a call
// that finds none builds a new one, and a state returned to a full or closed pool is closed. The
// pool is a stack so that the most recently used (cache-warm) state is reused first.
type statePool struct {
	newState func() *luaState
	max      int

	mu     sync.Mutex
	idle   []*luaState
	closed bool
}

func newStatePool(max int, newState func() *luaState) *statePool {
	return &statePool{newState: newState, max: max}
}

func (p *statePool) get() *luaState {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		st := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return st
	}
	p.mu.Unlock()
	return p.newState()
}

func (p *statePool) put(st *luaState) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.max {
		p.mu.Unlock()
		st.close()
		return
	}
	p.idle = append(p.idle, st)
	p.mu.Unlock()
}

// close closes the idle states; states still in use are closed when they come back.
func (p *statePool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, st := range idle {
		st.close()
	}
}

// size reports how many idle states the pool holds.
func (p *statePool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}
