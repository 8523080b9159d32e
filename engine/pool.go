package engine

import "sync"

// statePool keeps idle Lua states of one script version. It holds at most max idle states; a call
// that finds none builds a new one, and a state returned to a full or closed pool is closed. The
// pool is a stack so that the most recently used (cache-warm) state is reused first. The pools of a
// registry also share a bound on their idle states together (idleStates).
type statePool struct {
	newState func() *luaState
	max      int
	all      *idleStates // nil: no shared bound

	mu     sync.Mutex
	idle   []*luaState
	closed bool
}

func newStatePool(max int, all *idleStates, newState func() *luaState) *statePool {
	return &statePool{newState: newState, max: max, all: all}
}

func (p *statePool) get() *luaState {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		st := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.all.busy(st) // under p.mu: a state is in a pool's idle states and in the list together
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
	evict, from := p.all.rest(p, st)
	p.mu.Unlock()
	if evict != nil && from.take(evict) {
		evict.close()
	}
}

// take removes st from the idle states, reporting whether it was there (a call may have taken it
// meanwhile).
func (p *statePool) take(st *luaState) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.idle {
		if s == st {
			last := len(p.idle) - 1
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[last] = nil // else the array would keep the closed state, and its ~100 KB, alive
			p.idle = p.idle[:last]
			return true
		}
	}
	return false
}

// close closes the idle states; states still in use are closed when they come back.
func (p *statePool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, st := range idle {
		p.all.busy(st)
		st.close()
	}
}

// size reports how many idle states the pool holds.
func (p *statePool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// idleStates bounds the idle Lua states of every pool of a registry together. Each pool keeps a
// few states (~100 KB each) warm for its script's next calls; with thousands of scripts, most
// called now and then, that would be gigabytes held for nothing. Past max, the state idle the
// longest, whichever script's, is closed: busy scripts keep theirs, and a script called once a day
// builds a state for that call.
//
// The idle states form a list through the states themselves (luaState.idle), longest idle first,
// so that a call costs no allocation for it.
type idleStates struct {
	max int

	mu         sync.Mutex
	head, tail *luaState
	n          int
}

// idleLink is a state's place among the idle states.
type idleLink struct {
	pool       *statePool // set while the state is idle
	prev, next *luaState
}

func newIdleStates(max int) *idleStates { return &idleStates{max: max} }

// rest records that st went idle in pool (whose lock is held), and when there are too many idle
// states takes the longest idle out of the list: the caller closes it once it has taken it from
// its pool (where a call may have found it meanwhile).
func (a *idleStates) rest(pool *statePool, st *luaState) (evict *luaState, from *statePool) {
	if a == nil {
		return nil, nil
	}
	a.mu.Lock()
	st.idle = idleLink{pool: pool, prev: a.tail}
	if a.tail != nil {
		a.tail.idle.next = st
	} else {
		a.head = st
	}
	a.tail = st
	a.n++
	if a.n > a.max {
		evict, from = a.head, a.head.idle.pool
		a.unlink(evict)
	}
	a.mu.Unlock()
	return evict, from
}

// busy records that st is no longer idle (a call took it, or its pool closed it); the lock of
// its pool is held, or st has left the pool's idle states.
func (a *idleStates) busy(st *luaState) {
	if a == nil {
		return
	}
	a.mu.Lock()
	if st.idle.pool != nil {
		a.unlink(st)
	}
	a.mu.Unlock()
}

// unlink takes st, idle, out of the list; a.mu is held.
func (a *idleStates) unlink(st *luaState) {
	if st.idle.prev != nil {
		st.idle.prev.idle.next = st.idle.next
	} else {
		a.head = st.idle.next
	}
	if st.idle.next != nil {
		st.idle.next.idle.prev = st.idle.prev
	} else {
		a.tail = st.idle.prev
	}
	st.idle = idleLink{}
	a.n--
}

// len is how many states are idle.
func (a *idleStates) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n
}
