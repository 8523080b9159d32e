package luamods

import (
	"fmt"
	"regexp"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// reLoader is the re module with gluare's API: Lua's string.find, gsub, gmatch and match, with Go
// regular expressions (RE2 syntax) instead of Lua patterns, plus quote.
//
//	start, end, captures... = re.find(s, pattern[, init[, plain]])
//	captures... = re.match(s, pattern[, init])    -- the whole match when there is no group
//	for captures... in re.gmatch(s, pattern) do ... end
//	result, n = re.gsub(s, pattern, repl[, n])    -- repl: string with %0-%9, table or function
//	escaped = re.quote(s)
func reLoader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"find":   reFind,
		"match":  reMatch,
		"gmatch": reGmatch,
		"gsub":   reGsub,
		"quote": func(L *lua.LState) int {
			L.Push(lua.LString(regexp.QuoteMeta(L.CheckString(1))))
			return 1
		},
	}))
	return 1
}

// maxPattern is the longest regular expression re compiles, in bytes. Go's compiler takes ~100
// times a pattern's size in memory and time, in one Go call: a 13 MB alternation of words ended
// the process for memory.
const maxPattern = 64 << 10

func compileRe(L *lua.LState, pattern string) *regexp.Regexp {
	if len(pattern) > maxPattern {
		L.RaiseError("re: a pattern of %d bytes, over the %d that re compiles", len(pattern), maxPattern)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		L.RaiseError("re: %v", err)
	}
	return re
}

// start turns Lua's 1-based (negative: from the end) init into a byte offset.
func start(init, n int) int {
	switch {
	case init > 0:
		return min(init-1, n)
	case init < 0:
		return max(n+init, 0)
	}
	return 0
}

// pushCaptures pushes the groups of a match (or the whole match when it has none) and returns
// how many it pushed.
func pushCaptures(L *lua.LState, s string, loc []int, whole bool) int {
	if len(loc) == 2 {
		if whole {
			L.Push(lua.LString(s[loc[0]:loc[1]]))
			return 1
		}
		return 0
	}
	for i := 2; i < len(loc); i += 2 {
		if loc[i] < 0 {
			L.Push(lua.LNil)
		} else {
			L.Push(lua.LString(s[loc[i]:loc[i+1]]))
		}
	}
	return len(loc)/2 - 1
}

func reFind(L *lua.LState) int {
	s, pattern := L.CheckString(1), L.CheckString(2)
	off := start(L.OptInt(3, 1), len(s))
	if L.OptBool(4, false) {
		i := strings.Index(s[off:], pattern)
		if i < 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(off + i + 1))
		L.Push(lua.LNumber(off + i + len(pattern)))
		return 2
	}
	loc := compileRe(L, pattern).FindStringSubmatchIndex(s[off:])
	if loc == nil {
		L.Push(lua.LNil)
		return 1
	}
	for i := range loc {
		if loc[i] >= 0 {
			loc[i] += off
		}
	}
	L.Push(lua.LNumber(loc[0] + 1))
	L.Push(lua.LNumber(loc[1]))
	return 2 + pushCaptures(L, s, loc, false)
}

func reMatch(L *lua.LState) int {
	s, pattern := L.CheckString(1), L.CheckString(2)
	off := start(L.OptInt(3, 1), len(s))
	sub := s[off:]
	loc := compileRe(L, pattern).FindStringSubmatchIndex(sub)
	if loc == nil {
		L.Push(lua.LNil)
		return 1
	}
	return pushCaptures(L, sub, loc, true)
}

func reGmatch(L *lua.LState) int {
	s, pattern := L.CheckString(1), L.CheckString(2)
	re := compileRe(L, pattern)
	next := lazyMatches(re, s, -1, maxMatches(L, re))
	L.Push(L.NewFunction(func(L *lua.LState) int {
		loc, err := next()
		if err != nil {
			L.RaiseError("re.gmatch: %v", err)
		}
		if loc == nil {
			return 0
		}
		return pushCaptures(L, s, loc, true)
	}))
	return 1
}

// lazyMatches returns the matches of re in s one by one, at most limit (< 0: all), and an error
// past max matches. Go's regexp finds matches from the start of s only (so that ^ and \b keep
// their meaning), so they are found in batches of doubling size: a gmatch over 100 MB that stops
// after three matches holds a few of them, rather than a pair of ints per match of the whole
// string (gigabytes, for a pattern that matches everywhere), for at most twice the work. max
// bounds what a whole gsub or gmatch holds.
func lazyMatches(re *regexp.Regexp, s string, limit, max int) func() ([]int, error) {
	var batch [][]int // the matches found, from the from-th on
	from, taken, size, done := 0, 0, 16, false
	return func() ([]int, error) {
		if limit >= 0 && taken >= limit {
			return nil, nil
		}
		if taken-from >= len(batch) {
			if done {
				return nil, nil
			}
			if taken >= max {
				return nil, fmt.Errorf("more than %d matches, the most a call may hold (a part of memory_limit)", max)
			}
			n := min(size, max+1)
			if limit >= 0 {
				n = min(n, limit)
			}
			all := re.FindAllStringSubmatchIndex(s, n)
			done = len(all) < n
			if taken >= len(all) {
				return nil, nil
			}
			batch, from, size = all[taken:], taken, size*2
		}
		loc := batch[taken-from]
		taken++
		return loc, nil
	}
}

// maxMatches is how many matches of re a call may hold: each is a slice of two ints for the match
// and for each of its groups (4,000 groups, 64 KB a match: Go's regexp made 2 GB of them in one
// call and the process ended for memory), at least 64 bytes.
func maxMatches(L *lua.LState, re *regexp.Regexp) int {
	return callctx.ValueBound(callContext(L)) / max(64, 24+16*(re.NumSubexp()+1))
}

func reGsub(L *lua.LState) int {
	s, pattern := L.CheckString(1), L.CheckString(2)
	repl := L.CheckAny(3)
	limit := L.OptInt(4, -1)
	re := compileRe(L, pattern)
	bound := callctx.ValueBound(callContext(L))
	var out strings.Builder
	write := func(part string) {
		if out.Len()+len(part) > bound {
			L.RaiseError("re.gsub: the result would be over %d bytes, the largest value a call may make (a quarter of memory_limit)", bound)
		}
		out.WriteString(part)
	}
	last, n := 0, 0
	next := lazyMatches(re, s, limit, maxMatches(L, re))
	for {
		loc, err := next()
		if err != nil {
			L.RaiseError("re.gsub: %v", err)
		}
		if loc == nil {
			break
		}
		write(s[last:loc[0]])
		whole := s[loc[0]:loc[1]]
		// The first capture (or the whole match), as Lua's gsub looks up tables and calls functions.
		first := whole
		if len(loc) > 2 && loc[2] >= 0 {
			first = s[loc[2]:loc[3]]
		}
		var value lua.LValue
		switch r := repl.(type) {
		case lua.LString, lua.LNumber:
			expand(L, string(lua.LVAsString(r)), s, loc, write)
			value = nil
		case *lua.LTable:
			value = L.GetTable(r, lua.LString(first))
		case *lua.LFunction:
			L.Push(r)
			args := pushCaptures(L, s, loc, true)
			L.Call(args, 1)
			value = L.Get(-1)
			L.Pop(1)
		default:
			L.ArgError(3, "string, table or function expected")
		}
		if value != nil {
			if value == lua.LNil || value == lua.LFalse {
				write(whole) // keep the match, as Lua does
			} else {
				write(lua.LVAsString(value))
			}
		}
		last = loc[1]
		n++
	}
	write(s[last:])
	L.Push(lua.LString(out.String()))
	L.Push(lua.LNumber(n))
	return 2
}

// expand writes a gsub replacement string with its %0-%9 replaced (%% is a percent sign), piece
// by piece, so that write's bound holds while it grows: "%0" 200 times over a 16 MiB match built
// 3 GB and ended the process before the bound was looked at.
func expand(L *lua.LState, repl, s string, loc []int, write func(string)) {
	if !strings.Contains(repl, "%") {
		write(repl)
		return
	}
	lit := 0 // where the literal text since the last % starts
	for i := 0; i < len(repl); i++ {
		if repl[i] != '%' || i+1 == len(repl) {
			continue
		}
		write(repl[lit:i])
		i++
		lit = i + 1
		d := repl[i]
		switch {
		case d == '%':
			write("%")
		case d >= '0' && d <= '9':
			g := int(d - '0')
			if g == 0 || (g == 1 && len(loc) == 2) {
				write(s[loc[0]:loc[1]])
			} else if 2*g+1 < len(loc) {
				if loc[2*g] >= 0 {
					write(s[loc[2*g]:loc[2*g+1]])
				}
			} else {
				L.RaiseError("re.gsub: invalid capture index %%%d", g)
			}
		default:
			L.RaiseError("re.gsub: invalid use of '%%' in replacement string")
		}
	}
	write(repl[lit:])
}
