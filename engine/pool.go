package engine

import "sync"

// statePool keeps the idle Lua states last used by one script version. It holds at most max idle
// states; a state returned to a full or closed pool is closed. The pool is a stack so that the most
// recently used (cache-warm) state is reused first. The pools of a registry also share a bound on
// their idle states together (idleStates), and their states: a call that finds none of its pool's
// builds one while the registry holds fewer states (idle or not) than the bound, and past it takes
// the state idle the longest among the other scripts' when one is idle (made to serve this script
// by fit, which has it forget the other's environment). So the states follow the calls running at
// once plus the bound, not the number of scripts: with calls going to more scripts in turn than
// idle states are kept, each call built a state (~100 µs, and as much again to collect it); now it
// runs its script's top level on another's state (a few µs).
type statePool struct {
	newState func() *luaState
	fit      func(*luaState) // makes a state of another script's serve this pool's
	max      int
	all      *idleStates // nil: no shared bound, no states shared

	mu     sync.Mutex
	idle   []*luaState
	closed bool
}

func newStatePool(max int, all *idleStates, newState func() *luaState, fit func(*luaState)) *statePool {
	return &statePool{newState: newState, fit: fit, max: max, all: all}
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
	if st := p.all.adopt(); st != nil {
		p.fit(st)
		return st
	}
	p.all.count(1)
	return p.newState()
}

// discard closes a state that goes out of use.
func (p *statePool) discard(st *luaState) {
	p.all.count(-1)
	st.close()
}

func (p *statePool) put(st *luaState) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= p.max {
		p.mu.Unlock()
		p.discard(st)
		return
	}
	p.idle = append(p.idle, st)
	evict, from := p.all.rest(p, st)
	p.mu.Unlock()
	if evict != nil && from.take(evict) {
		from.discard(evict)
	}
}

// take removes st from the idle states, reporting whether it was there (a call may have taken it
// meanwhile). The caller took st out of the list of idle states first; should a call have taken
// st and given it back since, st is in the list again, and leaves it here.
func (p *statePool) take(st *luaState) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range p.idle {
		if s == st {
			p.all.busy(st)
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
		p.discard(st)
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
// takes that state (adopt) for its call.
//
// The idle states form a list through the states themselves (luaState.idle), longest idle first,
// so that a call costs no allocation for it.
type idleStates struct {
	max int

	mu         sync.Mutex
	head, tail *luaState
	n          int
	live       int // the states of the registry's pools, idle or not
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

// adopt takes the state idle the longest out of its pool, for a call of another script, once the
// registry holds as many states as the bound; nil below it (a state made then stays idle for its
// script's next calls, as warm as can be) or when none is idle. A call of its own pool may take
// the state first (take then fails): adopt tries the next.
func (a *idleStates) adopt() *luaState {
	if a == nil {
		return nil
	}
	for {
		a.mu.Lock()
		st := a.head
		if st == nil || a.live < a.max {
			a.mu.Unlock()
			return nil
		}
		from := st.idle.pool
		a.unlink(st)
		a.mu.Unlock()
		if from.take(st) {
			return st
		}
	}
}

// count records states made (+1) or closed (-1).
func (a *idleStates) count(n int) {
	if a == nil {
		return
	}
	a.mu.Lock()
	a.live += n
	a.mu.Unlock()
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
