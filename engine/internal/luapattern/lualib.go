package luapattern

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Limits bounds what the functions may build.
type Limits struct {
	// MaxResult is the largest string gsub may build, in bytes; past it gsub raises the error
	// "string.gsub: the result would be over N bytes, ..." before allocating it. It is read at
	// each call, so that it may follow a setting that changes. Nil, or a value <= 0: no bound.
	MaxResult func() int
	// Admit, when set, is asked before gsub gives its result a buffer of size bytes; its error
	// is raised instead. Each size admitted is given back to Admitted when gsub returns.
	Admit    func(size int) error
	Admitted func(size int)
}

// Functions returns replacements for gopher-lua's string.find, string.match, string.gmatch and
// string.gsub, under the keys "find", "match", "gmatch" and "gsub". They take their arguments
// and give their results as gopher-lua's do (compat.go lists the few differences), and obey
// the deadline of the calling state's context (L.Context(), none when it is nil): a match still
// running when it passes fails with the error "pattern matching stopped: context deadline
// exceeded".
func Functions(lim Limits) map[string]lua.LGFunction {
	return map[string]lua.LGFunction{
		"find":   find,
		"match":  match,
		"gmatch": gmatch,
		"gsub":   func(L *lua.LState) int { return gsub(L, lim) },
	}
}

// Install puts Functions(lim) in the global string table of L, where method calls on strings
// find them too, and gmatch under gopher-lua's alias "gfind" as well.
func Install(L *lua.LState, lim Limits) {
	t, ok := L.GetGlobal("string").(*lua.LTable)
	if !ok {
		return
	}
	for name, fn := range Functions(lim) {
		f := L.NewFunction(fn)
		t.RawSetString(name, f)
		if name == "gmatch" {
			t.RawSetString("gfind", f)
		}
	}
}

// compile compiles the pattern through the cache, raising a malformed pattern's error in L.
func compile(L *lua.LState, pattern string) *Pattern {
	p, err := compileCached(pattern)
	if err != nil {
		L.RaiseError("%s", err.Error())
	}
	return p
}

// raise raises a matching error in L, as gopher-lua raises its pattern errors: with the
// position of the calling Lua code before the message.
func raise(L *lua.LState, err error) { L.RaiseError("%s", err.Error()) }

// pushCaptures pushes the captures of m's last match: a substring, or a position (1-based) for
// a position capture.
func pushCaptures(L *lua.LState, m *Matcher, subject string) {
	for k := 0; k < m.p.ncap; k++ {
		start, end := m.Capture(k)
		if m.p.position[k] {
			L.Push(lua.LNumber(start + 1))
		} else {
			L.Push(lua.LString(subject[start:end]))
		}
	}
}

// find is string.find(s, pattern [, init [, plain]]).
func find(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	if len(pattern) == 0 {
		L.Push(lua.LNumber(1))
		L.Push(lua.LNumber(0))
		return 2
	}
	init := findInit(str, L.OptInt(3, 1))
	if L.GetTop() == 4 && lua.LVAsBool(L.Get(4)) {
		k := -1
		if init <= len(str) {
			k = strings.Index(str[init:], pattern)
		}
		if k < 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(init + k + 1))
		L.Push(lua.LNumber(init + k + len(pattern)))
		return 2
	}
	p := compile(L, pattern)
	var m Matcher
	m.init(p, L.Context(), str)
	start, end, err := m.Find(init)
	if err != nil {
		raise(L, err)
	}
	if start < 0 {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(start + 1))
	L.Push(lua.LNumber(end))
	pushCaptures(L, &m, str)
	return 2 + p.ncap
}

// match is string.match(s, pattern [, init]).
func match(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	init := matchInit(str, L.OptInt(3, 1))
	p := compile(L, pattern)
	var m Matcher
	m.init(p, L.Context(), str)
	start, end, err := m.Find(init)
	if err != nil {
		raise(L, err)
	}
	if start < 0 {
		return 0 // no value at all, as gopher-lua (compat.go)
	}
	if p.ncap == 0 {
		L.Push(lua.LString(str[start:end]))
		return 1
	}
	pushCaptures(L, &m, str)
	return p.ncap
}

// gmatch is string.gmatch(s, pattern). Its iterator finds one match per call, from where the
// last one ended (one further after an empty match), so that nothing is held but the current
// match, whatever the number of matches.
func gmatch(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	p := compile(L, pattern)
	var m *Matcher
	pos, done := 0, false
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if done {
			return 0
		}
		if m == nil {
			m = p.NewMatcher(L.Context(), str)
		} else {
			m.SetContext(L.Context())
		}
		start, end, err := m.Find(pos)
		if err != nil {
			done = true
			raise(L, err)
		}
		if start < 0 || p.anchored {
			// An anchored pattern matches at the start of the subject at most.
			done = true
		}
		if start < 0 {
			return 0
		}
		pos = end
		if end == start {
			pos++
		}
		if p.ncap == 0 {
			L.Push(lua.LString(str[start:end]))
			return 1
		}
		pushCaptures(L, m, str)
		return p.ncap
	}))
	return 1
}
