package luapattern

import (
	"context"
	"strings"
)

// capture is where a capture is in the subject; a position capture has start == end, its
// position.
type capture struct{ start, end int }

// Matcher matches one Pattern against one subject, one match at a time, so that gmatch and gsub
// never hold more than the current match. It is not safe for concurrent use; the Pattern it
// runs is.
type Matcher struct {
	p     *Pattern
	src   string
	caps  []capture
	depth int
	stop  stopper
}

// NewMatcher returns a Matcher of p over subject, which stops matching with an error when ctx
// is done (ctx may be nil: then it never stops).
func (p *Pattern) NewMatcher(ctx context.Context, subject string) *Matcher {
	m := &Matcher{}
	m.init(p, ctx, subject)
	return m
}

// init readies a Matcher, one that may be a local variable of the caller, which saves find and
// match an allocation.
func (m *Matcher) init(p *Pattern, ctx context.Context, subject string) {
	*m = Matcher{p: p, src: subject}
	if p.ncap > 0 {
		m.caps = make([]capture, p.ncap)
	}
	m.stop.reset(ctx)
}

// SetContext replaces the context the Matcher obeys, for a Matcher kept across calls (gmatch's
// iterator may be called under another context than the one it was made under).
func (m *Matcher) SetContext(ctx context.Context) { m.stop.reset(ctx) }

// Capture returns capture n (from 0) of the last match: its bounds in the subject, or for a
// position capture its position twice (0-based: Lua's value is one more).
func (m *Matcher) Capture(n int) (start, end int) {
	c := m.caps[n]
	return c.start, c.end
}

// Find returns the bounds of the first match that starts at init or after (init is a 0-based
// byte offset, init > len(subject) finds nothing); an anchored pattern is tried at init only.
// start is -1 when there is no match. The error is a stopped context's, or "invalid capture
// index" from a back-reference to a capture that is not closed where the match reaches it.
func (m *Matcher) Find(init int) (start, end int, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			start, end, err = -1, -1, a.err
		}
	}()
	start, end = m.find(init)
	return start, end, nil
}

// MatchAt tries a match starting exactly at s, and returns its end, or -1.
func (m *Matcher) MatchAt(s int) (end int, err error) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok {
				panic(r)
			}
			end, err = -1, a.err
		}
	}()
	if s < 0 || s > len(m.src) {
		return -1, nil
	}
	m.depth = 0
	return m.match(s, 0), nil
}

func (m *Matcher) find(init int) (int, int) {
	src := m.src
	p := m.p
	if init < 0 {
		init = 0
	}
	if init > len(src) {
		return -1, -1
	}
	if p.anchored {
		m.depth = 0
		if e := m.match(init, 0); e >= 0 {
			return init, e
		}
		return -1, -1
	}
	if p.literal != "" {
		// Linear, and fast enough on any subject not to need the context.
		k := strings.Index(src[init:], p.literal)
		if k < 0 {
			return -1, -1
		}
		return init + k, init + k + len(p.literal)
	}
	first := p.first
	for s := init; s <= len(src); s++ {
		if first != nil {
			// Skip where no match can start; such a match needs a character, so none
			// starts at the end either.
			k := s
			for k < len(src) && !first[src[k]] {
				k++
			}
			m.stop.charge(k - s)
			if k == len(src) {
				return -1, -1
			}
			s = k
		}
		m.depth = 0
		if e := m.match(s, 0); e >= 0 {
			return s, e
		}
		m.stop.charge(1)
	}
	return -1, -1
}

// sub matches the rest of the pattern from instruction pc at s, one level deeper. The compiler
// has bounded the depth (MaxDepth); the count here only guards that bound.
func (m *Matcher) sub(s, pc int) int {
	if m.depth >= MaxDepth {
		panic(abort{errTooComplex})
	}
	m.depth++
	r := m.match(s, pc)
	m.depth--
	return r
}

// match matches the pattern from instruction pc against the subject from s, and returns where
// the match ends, or -1. It goes on in a loop through the items that need no choice, and
// recurses (sub) only where a quantifier has to try the rest of the pattern after each length.
//
// Captures need no undoing on backtracking, unlike C Lua's: the pattern is one sequence, so the
// path that reaches an item has gone through every item before it, and the last values written
// to the captures it can see (those closed before it) are this path's.
func (m *Matcher) match(s, pc int) int {
	src := m.src
	insts := m.p.insts
	m.stop.charge(1)
	for {
		in := &insts[pc]
		switch in.op {
		case opEnd:
			return s
		case opEOS:
			if s == len(src) {
				return s
			}
			return -1
		case opLit:
			if !strings.HasPrefix(src[s:], in.lit) {
				return -1
			}
			s += len(in.lit)
		case opOne:
			if s >= len(src) || !in.set[src[s]] {
				return -1
			}
			s++
		case opOpen:
			m.caps[in.n].start = s
		case opClose:
			m.caps[in.n].end = s
		case opPos:
			m.caps[in.n] = capture{s, s}
		case opBackref:
			// A position capture's text is empty, as in gopher-lua (compat.go).
			c := m.caps[in.n]
			n := c.end - c.start
			m.stop.charge(n)
			if len(src)-s < n || src[s:s+n] != src[c.start:c.end] {
				return -1
			}
			s += n
		case opBadRef:
			panic(abort{errInvalidIndex})
		case opBalance:
			if s >= len(src) || src[s] != in.a {
				return -1
			}
			if s = m.balance(s, in.a, in.b); s < 0 {
				return -1
			}
		case opFrontier:
			// The character before the subject's start, and the one past its end, count
			// as '\0', as in C Lua.
			var prev, cur byte
			if s > 0 {
				prev = src[s-1]
			}
			if s < len(src) {
				cur = src[s]
			}
			if in.set[prev] || !in.set[cur] {
				return -1
			}
		case opStar:
			return m.max(s, pc, m.span(in.set, s))
		case opPlus:
			if s >= len(src) || !in.set[src[s]] {
				return -1
			}
			return m.max(s+1, pc, m.span(in.set, s+1))
		case opLazy:
			return m.min(s, pc)
		case opOpt:
			if s < len(src) && in.set[src[s]] {
				switch insts[pc+1].op {
				case opEnd:
					return s + 1
				case opEOS:
					if s+1 == len(src) {
						return s + 1
					}
				default:
					if r := m.sub(s+1, pc+1); r >= 0 {
						return r
					}
				}
			}
		}
		pc++
	}
}

// span counts the characters of set from s on.
func (m *Matcher) span(set *byteSet, s int) int {
	src := m.src
	k := s
	for k < len(src) && set[src[k]] {
		k++
	}
	m.stop.charge(k - s)
	return k - s
}

// max is set* after the item at pc matched i characters from s: the rest of the pattern is tried
// after i of them, then i-1, down to none, as C Lua's max_expand does.
func (m *Matcher) max(s, pc, i int) int {
	src := m.src
	next := &m.p.insts[pc+1]
	switch next.op {
	case opEnd:
		return s + i
	case opEOS:
		if s+i == len(src) {
			return s + i
		}
		return -1
	case opLit:
		// The rest starts with a plain character: try only the lengths it follows.
		c := next.lit[0]
		for ; i >= 0; i-- {
			m.stop.charge(1)
			if s+i < len(src) && src[s+i] == c {
				if r := m.sub(s+i, pc+1); r >= 0 {
					return r
				}
			}
		}
		return -1
	}
	for ; i >= 0; i-- {
		if r := m.sub(s+i, pc+1); r >= 0 {
			return r
		}
	}
	return -1
}

// min is set-: the rest of the pattern is tried after no character of the item, then one, and so
// on while the item matches, as C Lua's min_expand does.
func (m *Matcher) min(s, pc int) int {
	src := m.src
	set := m.p.insts[pc].set
	next := &m.p.insts[pc+1]
	switch next.op {
	case opEnd:
		return s
	case opEOS:
		if s+m.span(set, s) == len(src) {
			return len(src)
		}
		return -1
	}
	var c int = -1
	if next.op == opLit {
		c = int(next.lit[0])
	}
	for {
		if c < 0 || s < len(src) && int(src[s]) == c {
			if r := m.sub(s, pc+1); r >= 0 {
				return r
			}
		} else {
			m.stop.charge(1)
		}
		if s >= len(src) || !set[src[s]] {
			return -1
		}
		s++
	}
}

// balance is %bab at s, where src[s] is a: the end of the balanced text, or -1.
func (m *Matcher) balance(s int, a, b byte) int {
	src := m.src
	depth := 1
	for k := s + 1; k < len(src); k++ {
		switch src[k] {
		case b:
			if depth--; depth == 0 {
				m.stop.charge(k - s)
				return k + 1
			}
		case a:
			depth++
		}
	}
	m.stop.charge(len(src) - s)
	return -1
}
