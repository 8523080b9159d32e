package engine

import (
	"math/rand/v2"

	lua "github.com/yuin/gopher-lua"
)

// held estimates the memory the call in progress on st holds: what its environment, the locals
// and functions of its stack (the coroutines it resumes among them), and what a call wrote into
// the shared libraries reach. It counts up to budget and stops there, so that it costs little on
// a large call: a call that holds the budget is large enough to tell. It must run on the
// goroutine running the call (see deadline.Done).
func (st *luaState) held(budget int64) int64 {
	// The base globals (every call's environment reads through to them) are the state's, not
	// the call's.
	s := &sizer{budget: budget, seen: map[*lua.LTable]struct{}{st.L.G.Global: {}}}
	if st.env != nil {
		s.add(st.env, 0)
	}
	if st.shield != nil {
		for _, p := range st.shield.list {
			s.add(p, 0)
		}
	}
	s.stack(st.L, 0)
	return min(s.used, s.budget)
}

// sizer adds up an estimate of what Lua values hold: a slot for every table entry, the bytes of
// strings, a coroutine's stack. Large arrays are sampled, strings reached twice counted twice: it
// tells a large call from a small one, no more.
type sizer struct {
	budget, used int64
	seen         map[*lua.LTable]struct{} // tables counted already
}

// maxSizeDepth bounds the nesting walked (a table counted once, however it is reached: data ten
// tables deep went unseen when the walk stopped at eight).
const maxSizeDepth = 64

// An array of up to maxWalked elements is walked, a larger one sampled.
const (
	maxWalked = 256
	sampled   = 64
)

func (s *sizer) add(v lua.LValue, depth int) {
	if s.used >= s.budget || depth > maxSizeDepth {
		return
	}
	switch v := v.(type) {
	case lua.LString:
		s.used += int64(len(v)) + 16
	case *lua.LTable:
		s.table(v, depth)
	case *lua.LFunction:
		s.used += 64
		for _, uv := range v.Upvalues {
			s.add(uv.Value(), depth+1)
		}
	case *lua.LState:
		s.used += 16 << 10 // a coroutine: its own stack and call frames, and what they reach
		s.stack(v, depth+1)
	case lua.LChannel:
		s.channel(v)
	case *lua.LUserData:
		// A Go object: what it says it holds (strings.new_builder's buffer...).
		s.used += 64
		switch x := v.Value.(type) {
		case interface{ Cap() int }:
			s.used += int64(x.Cap())
		case interface{ Size() int64 }:
			s.used += x.Size()
		}
	default:
		s.used += 16
	}
}

func (s *sizer) table(t *lua.LTable, depth int) {
	if _, ok := s.seen[t]; ok {
		return
	}
	s.seen[t] = struct{}{}
	s.used += 64
	// Its metatable too: a table's __index may hold what the call keeps.
	if mt, ok := t.Metatable.(*lua.LTable); ok {
		s.table(mt, depth+1)
	}
	n := t.Len()
	var key lua.LValue = lua.LNil
	if n > 0 {
		// The array part: a slot for each element, and what they hold, or a sample of them at
		// random places (the first ones alone were small in a table whose others held 900 KiB
		// each).
		s.used += int64(n) * 16
		before := s.used
		if n <= maxWalked {
			for i := 1; i <= n && s.used < s.budget; i++ {
				s.add(t.RawGetInt(i), depth+1)
			}
		} else {
			for range sampled {
				s.add(t.RawGetInt(1+rand.IntN(n)), depth+1)
			}
			s.used = before + (s.used-before)*int64(n)/sampled
		}
		key = lua.LNumber(n) // Next goes on with the hash part
	}
	for s.used < s.budget {
		k, v := t.Next(key)
		if k == lua.LNil {
			return
		}
		s.used += 40
		s.add(k, depth+1)
		s.add(v, depth+1)
		key = k
	}
}

// stack adds the locals and the function of each frame of L's stack.
func (s *sizer) stack(L *lua.LState, depth int) {
	for level := 0; s.used < s.budget; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return
		}
		for i := 1; ; i++ {
			name, v := L.GetLocal(dbg, i)
			if name == "" {
				break
			}
			s.add(v, depth)
		}
		if fn, err := L.GetInfo("f", dbg, lua.LNil); err == nil {
			s.add(fn, depth)
		}
	}
}

// channel adds a channel and what waits in its buffer. Its values cannot be looked at in place
// (taking them out and putting them back would lose them on a channel closed meanwhile), so each
// counts as channelItem: scripts have no goroutines to talk to, and a channel is a place to hide
// memory more than a tool (4,000 strings of 900 KiB took 32 calls to 2.3 GB counted as 16 bytes).
func (s *sizer) channel(ch lua.LChannel) {
	s.used += 96 + int64(len(ch))*channelItem
}

// channelItem is what a value waiting in a channel counts for.
const channelItem = 64 << 10
