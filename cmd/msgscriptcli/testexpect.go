package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// expect(v) returns the checks of v, to call with a dot:
//
//	expect(v).to_be(w)          v equals w; tables are compared deeply (keys and values)
//	expect(v).to_contain(x)     a string holding the substring x, or a table with x among its values
//	expect(v).to_be_nil()
//	expect(v).to_be_truthy()    neither nil nor false
//	expect(v).never.to_be(w)    and so on: each check, negated
//
// A check that fails records the failure at the line of the test file that called it (so that a
// pcall around it cannot hide it) and raises an error that ends the test.
func (r *testRun) luaExpect(L *lua.LState) int {
	v := L.Get(1)
	L.Push(r.checks(L, v, false))
	return 1
}

// checks builds the table of checks on v, negated or not.
func (r *testRun) checks(L *lua.LState, v lua.LValue, negate bool) *lua.LTable {
	t := L.CreateTable(0, 5)
	// args returns the arguments of a check, without the table itself when it was called with
	// a colon (expect(v):to_be(w)), which would otherwise be taken for w.
	args := func(L *lua.LState) []lua.LValue {
		var out []lua.LValue
		for i := 1; i <= L.GetTop(); i++ {
			out = append(out, L.Get(i))
		}
		if len(out) > 0 && out[0] == t {
			out = out[1:]
		}
		return out
	}
	arg := func(L *lua.LState, name string) lua.LValue {
		a := args(L)
		if len(a) == 0 {
			L.RaiseError("%s needs a value to compare with", name)
		}
		return a[0]
	}
	check := func(L *lua.LState, ok bool, msg string) int {
		if ok != negate {
			return 0
		}
		r.failExpect(L, msg)
		return 0
	}
	t.RawSetString("to_be", L.NewFunction(func(L *lua.LState) int {
		w := arg(L, "to_be")
		if negate {
			return check(L, deepEqual(v, w), fmt.Sprintf("got %s, want anything else", show(v)))
		}
		return check(L, deepEqual(v, w), fmt.Sprintf("got %s, want %s", show(v), show(w)))
	}))
	t.RawSetString("to_contain", L.NewFunction(func(L *lua.LState) int {
		x := arg(L, "to_contain")
		ok, err := contains(v, x)
		if err != "" {
			r.failExpect(L, err)
		}
		not := ""
		if negate {
			not = "not "
		}
		return check(L, ok, fmt.Sprintf("got %s, want it %sto contain %s", show(v), not, show(x)))
	}))
	t.RawSetString("to_be_nil", L.NewFunction(func(L *lua.LState) int {
		if negate {
			return check(L, v == lua.LNil, "got nil, want a value")
		}
		return check(L, v == lua.LNil, fmt.Sprintf("got %s, want nil", show(v)))
	}))
	t.RawSetString("to_be_truthy", L.NewFunction(func(L *lua.LState) int {
		if negate {
			return check(L, lua.LVAsBool(v), fmt.Sprintf("got %s, want nil or false", show(v)))
		}
		return check(L, lua.LVAsBool(v), fmt.Sprintf("got %s, want a true value (not nil or false)", show(v)))
	}))
	if !negate {
		t.RawSetString("never", r.checks(L, v, true))
	}
	return t
}

// failExpect records a failed check at the line of the test file that made it, and raises it.
func (r *testRun) failExpect(L *lua.LState, msg string) {
	w := r.current()
	at := testCaller(L, w.file, w.line)
	w.mu.Lock()
	w.failures = append(w.failures, testFailure{location: at, test: w.test, msg: msg})
	w.raised = fmt.Sprintf("%s:%d: %s", at.file, at.line, msg)
	w.mu.Unlock()
	L.Error(lua.LString(w.raised), 0) // level 0: the position is in the message already
}

// testCaller is the innermost line of the test file on the call stack: the line of a check, or
// of the helper of the test file that made it. line is the fallback, when none is there.
func testCaller(L *lua.LState, file string, line int) location {
	for level := 1; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return location{file, line}
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.Source == file && dbg.CurrentLine > 0 {
			return location{file, dbg.CurrentLine}
		}
	}
}

// contains tells whether v contains x: a substring of a string, or a value of a table. err
// says why the question makes no sense.
func contains(v, x lua.LValue) (ok bool, err string) {
	switch v := v.(type) {
	case lua.LString:
		s, isString := x.(lua.LString)
		if !isString {
			return false, fmt.Sprintf("to_contain: a string can only contain a string; got %s", show(x))
		}
		return strings.Contains(string(v), string(s)), ""
	case *lua.LTable:
		found := false
		v.ForEach(func(_, e lua.LValue) { found = found || deepEqual(e, x) })
		return found, ""
	}
	return false, fmt.Sprintf("to_contain: got %s, want a string or a table", show(v))
}

// deepEqual compares values as Lua's == does, and tables by their contents: the same keys
// (compared as Lua compares them) holding deeply equal values. Metatables are not compared.
func deepEqual(a, b lua.LValue) bool {
	return deepEqualSeen(a, b, map[[2]*lua.LTable]bool{})
}

func deepEqualSeen(a, b lua.LValue, seen map[[2]*lua.LTable]bool) bool {
	ta, okA := a.(*lua.LTable)
	tb, okB := b.(*lua.LTable)
	if !okA || !okB {
		return a == b
	}
	if ta == tb || seen[[2]*lua.LTable{ta, tb}] {
		return true // a cycle: equal so far, the rest decides
	}
	seen[[2]*lua.LTable{ta, tb}] = true
	equal := true
	ta.ForEach(func(k, v lua.LValue) {
		equal = equal && deepEqualSeen(v, tb.RawGet(k), seen)
	})
	tb.ForEach(func(k, _ lua.LValue) {
		equal = equal && ta.RawGet(k) != lua.LNil
	})
	return equal
}

// show writes a value for a message: strings quoted, tables with their contents (array part
// first, then the other keys sorted), nested tables to a few levels.
func show(v lua.LValue) string {
	var b strings.Builder
	showTo(&b, v, 0)
	return b.String()
}

const (
	showDepth = 4  // nested tables shown, deeper ones are {...}
	showItems = 50 // entries shown per table
)

func showTo(b *strings.Builder, v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		b.WriteString(strconv.Quote(string(v)))
	case *lua.LTable:
		if depth >= showDepth {
			b.WriteString("{...}")
			return
		}
		type entry struct {
			key string
			v   lua.LValue
		}
		var arr []lua.LValue
		for i := 1; v.RawGetInt(i) != lua.LNil; i++ {
			arr = append(arr, v.RawGetInt(i))
		}
		var rest []entry
		v.ForEach(func(k, val lua.LValue) {
			if n, ok := k.(lua.LNumber); ok && float64(n) == float64(int(n)) && int(n) >= 1 && int(n) <= len(arr) {
				return
			}
			key := "[" + show(k) + "]"
			if s, ok := k.(lua.LString); ok && isIdentifier(string(s)) {
				key = string(s)
			}
			rest = append(rest, entry{key, val})
		})
		sort.Slice(rest, func(i, j int) bool { return rest[i].key < rest[j].key })
		items := make([]func(), 0, len(arr)+len(rest))
		for _, e := range arr {
			items = append(items, func() { showTo(b, e, depth+1) })
		}
		for _, e := range rest {
			items = append(items, func() { b.WriteString(e.key + " = "); showTo(b, e.v, depth+1) })
		}
		b.WriteString("{")
		for i, item := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			if i == showItems {
				b.WriteString("...")
				break
			}
			item()
		}
		b.WriteString("}")
	case *lua.LFunction:
		b.WriteString("function")
	case *lua.LNilType, lua.LBool, lua.LNumber:
		b.WriteString(v.String())
	default:
		b.WriteString(v.Type().String())
	}
}

// isIdentifier tells a table key that can be written without brackets.
func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c != '_' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
