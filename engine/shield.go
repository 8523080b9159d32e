package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// shield keeps what a Lua state shares between calls (the base libraries, the string metatable,
// package.loaded and preload, the modules scripts require) as it was when the state was made, so
// that a call cannot change what the next call on the same state finds. (Changes to the string
// metatable itself, getmetatable("").__add = ..., land in a proxy and have no effect at all.)
//
// Scripts see each of those tables through a proxy: an empty table whose metatable reads through
// to the real one and takes every write itself, so `string.trim = ...` or
// `require("json").encode = ...` works for the rest of the call and lands in the proxy. After the
// call the proxies that were written to are emptied (see restore). Writes are noticed as they
// happen (the proxies' __newindex, and rawset, table.insert, table.remove and table.sort given a
// proxy), so a call that wrote to none costs nothing more than a look at the string metatable.
// (A proxy answers nothing to pairs or rawget: read the library's functions by name.)
type shield struct {
	L        *lua.LState
	st       *luaState
	proxies  map[*lua.LTable]*lua.LTable // real table -> its proxy (a proxy maps to itself)
	list     []*lua.LTable               // every proxy, to empty after a call
	loaded   *lua.LTable                 // the proxy of package.loaded
	newindex *lua.LFunction              // the __newindex of every proxy
	dirty    bool                        // a proxy was written to since the last restore
	libEnv   *lua.LTable                 // the globals of the Lua code of modules (see require)
	guarded  map[*lua.LTable]bool        // module tables and metatables whose Go functions check tables (see guardModule)
}

// sharedLibraries are the globals that hold the base libraries.
var sharedLibraries = []string{"string", "table", "math", "os", "io", "coroutine", "debug", "package", "channel"}

// newShield puts the proxies in place; it runs last when a state is made, after the preloaders.
func newShield(L *lua.LState, st *luaState) *shield {
	sh := &shield{L: L, st: st, proxies: map[*lua.LTable]*lua.LTable{}, guarded: map[*lua.LTable]bool{}}
	sh.libEnv = L.CreateTable(0, 0)
	sh.libEnv.Metatable = st.envMeta
	sh.libEnv.RawSetString("_G", sh.libEnv) // the base globals have none (see harden)
	sh.newindex = L.NewFunction(func(L *lua.LState) int {
		sh.dirty = true
		L.CheckTable(1).RawSet(L.Get(2), L.Get(3))
		return 0
	})
	globals := L.G.Global
	// The functions that write into a table without __newindex.
	sh.noticeWrites(globals, "rawset")
	if table, ok := globals.RawGetString("table").(*lua.LTable); ok {
		for _, name := range []string{"insert", "remove", "sort"} {
			sh.noticeWrites(table, name)
		}
	}
	loaded, _ := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable)
	for _, name := range sharedLibraries {
		lib, ok := globals.RawGetString(name).(*lua.LTable)
		if !ok {
			continue
		}
		p := sh.proxy(lib)
		globals.RawSetString(name, p)
		if loaded != nil && loaded.RawGetString(name) == lib {
			loaded.RawSetString(name, p)
		}
	}
	if pkg, ok := globals.RawGetString("package").(*lua.LTable); ok {
		pkg = sh.real(pkg)
		// package.loaded reads modules through their proxies too.
		if t, ok := pkg.RawGetString("loaded").(*lua.LTable); ok {
			sh.loaded = sh.proxyWith(t, sh.proxyMeta(L.NewFunction(sh.indexLoaded(t))))
			pkg.RawSetString("loaded", sh.loaded)
		}
		for _, name := range []string{"preload", "loaders"} {
			if t, ok := pkg.RawGetString(name).(*lua.LTable); ok {
				pkg.RawSetString(name, sh.proxy(t))
			}
		}
	}
	// gopher-lua's string metatable is the string library itself: strings get one of their own
	// instead, that reads through the proxy, and getmetatable("") answers a proxy of it. The
	// library then loses the __index that pointed at itself: `string.__index` or
	// `("").__index` read through the proxy handed out the real library.
	if str, ok := globals.RawGetString("string").(*lua.LTable); ok {
		mt := L.CreateTable(0, 2)
		mt.RawSetString("__index", str)
		mt.RawSetString("__metatable", sh.proxy(mt))
		L.SetMetatable(lua.LString(""), mt)
		if real := sh.real(str); real.RawGetString("__index") == real {
			real.RawSetString("__index", lua.LNil)
		}
	}
	sh.guardGlobals()
	if require, ok := globals.RawGetString("require").(*lua.LFunction); ok && require.IsG {
		base := require.GFunction
		globals.RawSetString("require", L.NewFunction(func(L *lua.LState) int {
			name := L.CheckString(1)
			if modulesThatShare[name] {
				st.taint()
			}
			// What the call put in package.loaded itself comes first, as in Lua.
			if sh.loaded != nil {
				if v := sh.loaded.RawGetString(name); v != lua.LNil {
					L.Push(v)
					return 1
				}
			}
			fresh := loaded == nil || loaded.RawGetString(name) == lua.LNil
			if fresh && sh.dirty {
				// A module loaded now would stay loaded for every later call, and the call may
				// have changed what loads it (package.preload, package.loaders).
				st.taint()
			}
			// The Lua code of a module runs in globals of its own, not in the call's
			// environment (its functions would keep that call's globals for ever).
			n := sh.inLibEnv(L, base)
			if mod, ok := L.Get(-1).(*lua.LTable); ok {
				L.Replace(-1, sh.module(mod))
			}
			if fresh {
				sh.guardGlobals() // a module may set globals as it loads (template: template_ud)
			}
			return n
		}))
	}
	return sh
}

// noticeWrites has lib.name mark the shield dirty when the table it writes into is a proxy.
func (sh *shield) noticeWrites(lib *lua.LTable, name string) {
	fn, ok := lib.RawGetString(name).(*lua.LFunction)
	if !ok || !fn.IsG {
		return
	}
	base := fn.GFunction
	lib.RawSetString(name, sh.L.NewFunction(func(L *lua.LState) int {
		if t, ok := L.Get(1).(*lua.LTable); ok && t.Metatable != lua.LNil && sh.proxies[t] == t {
			sh.dirty = true
		}
		return base(L)
	}))
}

// proxyMeta is the metatable of a proxy: reads go to index, writes land in the proxy, and the
// metatable is out of reach.
func (sh *shield) proxyMeta(index lua.LValue) *lua.LTable {
	mt := sh.L.CreateTable(0, 3)
	mt.RawSetString("__index", index)
	mt.RawSetString("__newindex", sh.newindex)
	mt.RawSetString("__metatable", lua.LString("locked"))
	return mt
}

// proxy returns the proxy of t, made on first use.
func (sh *shield) proxy(t *lua.LTable) *lua.LTable {
	if p, ok := sh.proxies[t]; ok {
		return p
	}
	return sh.proxyWith(t, sh.proxyMeta(t))
}

func (sh *shield) proxyWith(t, mt *lua.LTable) *lua.LTable {
	p := sh.L.CreateTable(0, 0) // empty until a call writes to it
	p.Metatable = mt
	sh.proxies[t], sh.proxies[p] = p, p
	sh.list = append(sh.list, p)
	return p
}

// guardGlobals puts behind a proxy every table among the base globals that is not behind one yet
// (those of the preloaders, those modules set as they load): reads go through it as through a
// module's (see module), writes land in it.
func (sh *shield) guardGlobals() {
	globals := sh.L.G.Global
	var names []lua.LValue
	globals.ForEach(func(k, v lua.LValue) {
		if t, ok := v.(*lua.LTable); ok && t != globals && sh.proxies[t] != t {
			names = append(names, k)
		}
	})
	for _, k := range names {
		globals.RawSet(k, sh.module(globals.RawGet(k).(*lua.LTable)))
	}
}

// inLibEnv runs base with the modules' globals as L.Env, where gopher-lua compiles Lua code.
func (sh *shield) inLibEnv(L *lua.LState, base lua.LGFunction) int {
	env := L.Env
	L.Env = sh.libEnv
	defer func() { L.Env = env }()
	return base(L)
}

// module returns the proxy of a module's table, made on first use, when its Go functions are
// made to check the tables they are given (see guardModule). Reads go through a function that taints the
// state when they hand out a table the module holds (strings.Builder, inspect.KEY): a proxy there
// would break what modules and scripts expect of such tables (identity, metatables, which Lua
// reads raw), and without one a write to it would outlive the call.
func (sh *shield) module(t *lua.LTable) *lua.LTable {
	if p, ok := sh.proxies[t]; ok {
		return p
	}
	guardModule(sh.L, t, sh.guarded)
	index := sh.L.NewFunction(func(L *lua.LState) int {
		v := t.RawGet(L.Get(2))
		if nested, ok := v.(*lua.LTable); ok && sh.proxies[nested] != nested {
			sh.st.taint()
		}
		L.Push(v)
		return 1
	})
	return sh.proxyWith(t, sh.proxyMeta(index))
}

// guards reports whether t is one of the shield's proxies (what a call writes there is undone).
func (sh *shield) guards(t *lua.LTable) bool { return sh != nil && sh.proxies[t] == t }

// real returns the table a proxy stands for (t itself when it is none).
func (sh *shield) real(p *lua.LTable) *lua.LTable {
	if mt, ok := p.Metatable.(*lua.LTable); ok && sh.proxies[p] == p {
		if t, ok := mt.RawGetString("__index").(*lua.LTable); ok {
			return t
		}
	}
	return p
}

// indexLoaded reads package.loaded: a module's table through its proxy.
func (sh *shield) indexLoaded(loaded *lua.LTable) lua.LGFunction {
	return func(L *lua.LState) int {
		v := loaded.RawGet(L.Get(2))
		if t, ok := v.(*lua.LTable); ok {
			v = sh.module(t)
		}
		L.Push(v)
		return 1
	}
}

// restore empties the proxies a call wrote to, and reports whether the state may serve another
// call. gopher-lua's tables keep the place of every key they ever held: a script writing new names
// into a library on every call would grow its proxy without end, so past maxProxyKeys the state is
// closed instead, and the next call gets a new one.
func (sh *shield) restore() bool {
	if !sh.dirty {
		return true
	}
	sh.dirty = false
	for _, p := range sh.list {
		if k, _ := p.Next(lua.LNil); k != lua.LNil {
			clearTable(p)
		}
		if shape, ok := shapeOf(p); !ok || shape.keys > maxProxyKeys || shape.array > maxProxyKeys {
			return false
		}
	}
	return true
}

// maxProxyKeys bounds the names calls on one state may have written into one library.
const maxProxyKeys = 64

func clearTable(t *lua.LTable) {
	var keys []lua.LValue
	t.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
	for _, k := range keys {
		t.RawSet(k, lua.LNil)
	}
}
