package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// A state is tainted when a call got hold of something every call on the state shares and that
// the shield cannot guard with a proxy: a metatable a module gave its objects, the environment of
// a library's function, a table nested in a module (strings.Builder, inspect.KEY), the base
// globals (module "_G"), a module loaded after the call changed package.preload. Whatever the call
// does with it, the state goes when the call ends, and the next call gets a new one, so nothing
// can outlive the call. Scripts that never reach for such things never pay for it.
//
// watchSharing puts the watches in place; it runs when the state is made, before the shield.
func watchSharing(st *luaState) {
	L := st.L
	globals := L.G.Global
	wrap := func(name string, f func(L *lua.LState, base lua.LGFunction) int) {
		fn, ok := globals.RawGetString(name).(*lua.LFunction)
		if !ok || !fn.IsG {
			return
		}
		base := fn.GFunction
		globals.RawSetString(name, L.NewFunction(func(L *lua.LState) int { return f(L, base) }))
	}
	// module() writes into package.loaded and the globals, and hands out any table by its dotted
	// name ("_G", "string.format").
	wrap("module", func(L *lua.LState, base lua.LGFunction) int {
		st.taint()
		return base(L)
	})
	// The environment of the call's own functions is the call's; any other is shared.
	wrap("getfenv", func(L *lua.LState, base lua.LGFunction) int {
		n := base(L)
		if n == 1 {
			switch env := L.Get(-1); {
			case env == L.G.Global && st.env != nil:
				// A Go function's: the call's own environment stands for the globals.
				L.Replace(-1, st.env)
			case env != st.env && env.Type() == lua.LTTable:
				st.taint()
			}
		}
		return n
	})
	wrap("setfenv", func(L *lua.LState, base lua.LGFunction) int {
		switch target := L.Get(1).(type) {
		case *lua.LFunction:
			if target.IsG || target.Env != st.env {
				st.taint()
			} else if st.kept != nil {
				// One the top level defined, kept for the next calls: they get it afresh.
				st.dropEnvAfterCall = true
			}
		default:
			st.taint() // a level of the call stack, which may be a library's function
		}
		return base(L)
	})
	// A metatable the call set itself is its own; one the shield made is guarded; any other
	// (a module's objects', a userdata type's) is shared.
	//
	// Only a table's, as in Lua 5.1: gopher-lua would also set the metatable that every number,
	// boolean, function or coroutine of the state shares, or that of a userdata every call reaches
	// (io.stdout), and later calls would run what it holds.
	wrap("setmetatable", func(L *lua.LState, base lua.LGFunction) int {
		if t := L.Get(1).Type(); t != lua.LTTable {
			L.ArgError(1, "table expected, got "+t.String())
		}
		if mt, ok := L.Get(2).(*lua.LTable); ok {
			if st.ownMetas == nil {
				st.ownMetas = map[*lua.LTable]struct{}{}
			}
			st.ownMetas[mt] = struct{}{}
		}
		return base(L)
	})
	// package.seeall gives a table the base globals as __index from Go, past __metatable and
	// unseen by the shield: given an object of a module (a decoded JSON object), it changed the
	// metatable all of them share.
	if pkg, ok := globals.RawGetString("package").(*lua.LTable); ok {
		if fn, ok := pkg.RawGetString("seeall").(*lua.LFunction); ok && fn.IsG {
			base := fn.GFunction
			pkg.RawSetString("seeall", L.NewFunction(func(L *lua.LState) int {
				st.taint()
				return base(L)
			}))
		}
	}
	wrap("getmetatable", func(L *lua.LState, base lua.LGFunction) int {
		n := base(L)
		if mt, ok := L.Get(-1).(*lua.LTable); ok && n == 1 {
			if _, own := st.ownMetas[mt]; !own && !st.shield.guards(mt) {
				st.taint()
			}
		}
		return n
	})
}

// modulesThatShare are modules whose use reaches what every call on the state shares without a
// read the shield or the watches above see: inspect hands its KEY and METATABLE tables to a
// `process` callback, and loglevel keeps its level and output in its own tables. A call that
// requires one has the state closed when it ends.
var modulesThatShare = map[string]bool{"inspect": true, "loglevel": true}

// taint has the state closed when the call in progress ends (see watchSharing).
func (st *luaState) taint() { st.tainted = true }
