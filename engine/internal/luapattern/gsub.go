package luapattern

import (
	"strconv"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// sizeCheckAt is the size past which gsub, with a string replacement and a bound, works out the
// exact size of its whole result before growing its buffer beyond: a result over the bound is
// then refused having allocated no more than this, however many matches it would have taken to
// get there, and one within it is allocated once at its size. A function or a table replacement
// cannot be sized ahead, since calling it has effects; its results are counted as they come.
const sizeCheckAt = 1 << 20

// replPart is a piece of a string replacement: text, or a capture (0: the whole match, n: the
// n-th capture).
type replPart struct {
	text    string
	capture int // -1 for text
}

// parseRepl splits a string replacement as gopher-lua reads it: %0 to %9 are captures, %% is
// '%', and any other '%' stays as it is, with the character after it (compat.go). The pieces of
// text are slices of r, never copies: a replacement may be large.
func parseRepl(r string) []replPart {
	var parts []replPart
	from := 0 // start of the current piece of text
	flush := func(to int) {
		if to > from {
			parts = append(parts, replPart{text: r[from:to], capture: -1})
		}
	}
	for i := 0; i < len(r)-1; i++ {
		if r[i] != '%' {
			continue
		}
		switch d := r[i+1]; {
		case d == '%':
			flush(i + 1) // the text up to this '%', which stands for both
			from = i + 2
		case '0' <= d && d <= '9':
			flush(i)
			parts = append(parts, replPart{capture: int(d - '0')})
			from = i + 2
		}
		i++
	}
	flush(len(r))
	return parts
}

// gsubState is one call of gsub.
type gsubState struct {
	L       *lua.LState
	p       *Pattern
	m       *Matcher
	str     string
	limit   int // matches to replace at most; < 0: all
	max     int // the bound of the result; <= 0: none
	parts   []replPart
	isParts bool // the replacement is a string, parsed into parts
	repl    lua.LValue
	buf     []byte
	sized   bool
	digits  [24]byte // room for a position capture's digits, while they are emitted
	// Where the current match's iteration started, for the sizing pass.
	iterSrc, iterCopied, iterCount, iterLen int

	lim      Limits
	admitted []int // the sizes of the buffers lim.Admit admitted
}

// gsub is string.gsub(s, pattern, repl [, n]).
func gsub(L *lua.LState, lim Limits) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	L.CheckTypes(3, lua.LTString, lua.LTTable, lua.LTFunction)
	repl := L.CheckAny(3)
	limit := L.OptInt(4, -1)
	p := compile(L, pattern)
	g := &gsubState{L: L, p: p, m: p.NewMatcher(L.Context(), str), str: str, limit: limit, repl: repl, lim: lim}
	if lim.MaxResult != nil {
		g.max = lim.MaxResult()
	}
	defer func() {
		for _, size := range g.admitted {
			lim.Admitted(size)
		}
	}()
	if s, ok := repl.(lua.LString); ok {
		g.parts, g.isParts = parseRepl(string(s)), true
	}
	if g.limit == 0 {
		// gopher-lua's n = 0: nothing when the pattern does not match at the start, else
		// every match (compat.go).
		e, err := g.m.MatchAt(0)
		if err != nil {
			raise(L, err)
		}
		if e < 0 {
			return g.unchanged()
		}
		g.limit = -1
	}
	count, src, copied := 0, 0, 0
	for g.limit < 0 || count < g.limit {
		start, end, err := g.m.Find(src)
		if err != nil {
			raise(L, err)
		}
		if start < 0 {
			break
		}
		if count == 0 && g.isParts {
			g.checkParts()
		}
		g.iterSrc, g.iterCopied, g.iterCount, g.iterLen = src, copied, count, len(g.buf)
		count++
		g.emit(str[copied:start])
		g.replace(start, end)
		copied = end
		src = end
		if end == start {
			src++
		}
		if p.anchored {
			break
		}
	}
	if count == 0 {
		return g.unchanged()
	}
	g.emit(str[copied:])
	L.Push(lua.LString(g.result()))
	L.Push(lua.LNumber(count))
	return 2
}

// unchanged returns the subject as it was given, a number staying a number, as gopher-lua does.
func (g *gsubState) unchanged() int {
	g.L.SetTop(1)
	g.L.Push(lua.LNumber(0))
	return 2
}

// checkParts raises, at the first match as gopher-lua does, the error of a replacement that
// names a capture the pattern does not have (%1 is the whole match when there is none).
func (g *gsubState) checkParts() {
	for _, part := range g.parts {
		if part.capture > 1 && part.capture > g.p.ncap {
			g.L.RaiseError("%s", errInvalidIndex.Error())
		}
	}
}

// capture returns capture n (1-based; 0 the whole match) of m's current match: its text, or
// for a position capture its position (1-based), else -1.
func (g *gsubState) capture(m *Matcher, n, start, end int) (string, int) {
	if n == 0 || g.p.ncap == 0 {
		return g.str[start:end], -1
	}
	cs, ce := m.Capture(n - 1)
	if g.p.position[n-1] {
		return "", cs + 1
	}
	return g.str[cs:ce], -1
}

// replace emits the replacement of the match str[start:end].
func (g *gsubState) replace(start, end int) {
	L := g.L
	if g.isParts {
		for _, part := range g.parts {
			if part.capture < 0 {
				g.emit(part.text)
				continue
			}
			s, pos := g.capture(g.m, part.capture, start, end)
			if pos >= 0 {
				g.emitBytes(strconv.AppendInt(g.digits[:0], int64(pos), 10))
			} else {
				g.emit(s)
			}
		}
		return
	}
	var v lua.LValue
	switch r := g.repl.(type) {
	case *lua.LTable:
		if g.p.ncap > 0 && g.p.position[0] {
			cs, _ := g.m.Capture(0)
			v = L.GetTable(r, lua.LNumber(cs+1))
		} else {
			s, _ := g.capture(g.m, 1, start, end)
			v = L.GetField(r, s)
		}
	case *lua.LFunction:
		L.Push(r)
		if g.p.ncap == 0 {
			L.Push(lua.LString(g.str[start:end]))
		} else {
			pushCaptures(L, g.m, g.str)
		}
		L.Call(max(g.p.ncap, 1), 1)
		v = L.Get(-1)
		L.Pop(1)
	}
	switch v := v.(type) {
	case lua.LString:
		g.emit(string(v))
	case lua.LNumber:
		g.emit(lua.LVAsString(v))
	default:
		if !lua.LVIsFalse(v) {
			// As Lua, not as gopher-lua, which replaces the match with nothing (compat.go).
			L.RaiseError("invalid replacement value (a %s)", v.Type().String())
		}
		g.emit(g.str[start:end])
	}
}

// emit appends s to the result, refusing to go over the bound before growing the buffer.
func (g *gsubState) emit(s string) {
	if len(s) == 0 {
		return
	}
	need := len(g.buf) + len(s)
	if g.max > 0 && need > g.max {
		g.overflow()
	}
	if need > cap(g.buf) {
		g.grow(need)
	}
	g.buf = append(g.buf, s...)
}

func (g *gsubState) emitBytes(b []byte) {
	need := len(g.buf) + len(b)
	if g.max > 0 && need > g.max {
		g.overflow()
	}
	if need > cap(g.buf) {
		g.grow(need)
	}
	g.buf = append(g.buf, b...)
}

func (g *gsubState) overflow() {
	g.L.RaiseError("string.gsub: the result would be over %d bytes, the largest string a call may build", g.max)
}

// grow gives the buffer room for need bytes: the subject's size at first, the usual size of a
// result, then twice as much each time, never over the bound; past sizeCheckAt, with a string
// replacement and a bound, the exact size of the whole result.
func (g *gsubState) grow(need int) {
	c := 2 * cap(g.buf)
	if cap(g.buf) == 0 {
		c = min(len(g.str), sizeCheckAt)
	}
	if g.isParts && g.max > 0 && !g.sized && max(c, need) > sizeCheckAt {
		g.sized = true
		c = g.iterLen + g.sizeFrom(g.iterSrc, g.iterCopied, g.iterCount, g.iterLen)
	}
	c = max(c, need)
	if g.max > 0 && c > g.max {
		c = g.max
	}
	if g.lim.Admit != nil {
		if err := g.lim.Admit(c); err != nil {
			g.L.RaiseError("string.gsub: %v", err)
		}
		g.admitted = append(g.admitted, c)
	}
	buf := make([]byte, len(g.buf), c)
	copy(buf, g.buf)
	g.buf = buf
}

// sizeFrom works out, with a matcher of its own (the current match's captures are in use), the
// size of the result from the iteration that started at src with copied bytes of the subject
// already in the result and count matches made, and raises the bound's error as soon as the
// whole would be over it (base bytes are already in the result).
func (g *gsubState) sizeFrom(src, copied, count, base int) int {
	m := g.p.NewMatcher(g.L.Context(), g.str)
	size := 0
	for g.limit < 0 || count < g.limit {
		start, end, err := m.Find(src)
		if err != nil {
			raise(g.L, err)
		}
		if start < 0 {
			break
		}
		count++
		size += start - copied
		for _, part := range g.parts {
			if part.capture < 0 {
				size += len(part.text)
				continue
			}
			s, pos := g.capture(m, part.capture, start, end)
			if pos >= 0 {
				size += len(strconv.Itoa(pos))
			} else {
				size += len(s)
			}
		}
		if base+size > g.max {
			g.overflow()
		}
		copied = end
		src = end
		if end == start {
			src++
		}
		if g.p.anchored {
			break
		}
	}
	return size + len(g.str) - copied
}

// result is the built string. The buffer becomes the string without a copy when little of it is
// unused (the string keeps it all), else it is copied to a string of its size.
func (g *gsubState) result() string {
	n := len(g.buf)
	if n == 0 {
		return ""
	}
	if cap(g.buf)-n <= n/4 {
		return unsafe.String(unsafe.SliceData(g.buf), n)
	}
	return string(g.buf)
}
