package engine

import (
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"
)

// maxPrint is how much one call may print.
const maxPrint = 64 << 10

// harden closes the ways a script could end the process, stall it, or leave something behind for
// the next call on the same state:
//
//   - os.exit ends the host process in gopher-lua, and os.setenv changes the environment of the
//     whole process: both raise an error instead;
//   - print is bounded per call (maxPrint);
//   - collectgarbage("collect") runs a full Go GC, stalling every other script: it does nothing;
//   - package.loaded._G and the base globals' _G hand out the base globals table, where a write
//     would survive into later calls: both are gone (getfenv, module and the like: see
//     watchSharing);
//   - debug can read and write any upvalue, local or metatable: only traceback and getinfo stay;
//   - require would read Lua files from the working directory: package.path and cpath are empty
//     (a preloader may give a search path; scripts get their code from the store's libraries).
func harden(st *luaState) {
	L := st.L
	loaded, _ := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable)
	if loaded == nil {
		loaded = L.NewTable() // no package library: nothing to clean in it
	}
	loaded.RawSetString("_G", lua.LNil)
	// Nor does the base globals' own _G: a call that removed its environment's _G (`_G = nil`,
	// rawset) would read through to it, as would a table given the base globals as __index
	// (package.seeall), and write there for every later call.
	L.G.Global.RawSetString("_G", lua.LNil)
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		pkg.RawSetString("path", lua.LString(""))
		pkg.RawSetString("cpath", lua.LString(""))
	}

	if os, ok := L.GetGlobal("os").(*lua.LTable); ok {
		os.RawSetString("exit", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("os.exit is not available to msgscript scripts; return from the function instead")
			return 0
		}))
		os.RawSetString("setenv", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("os.setenv is not available to msgscript scripts: the environment belongs to the whole server")
			return 0
		}))
	}
	// print writes to the server's standard output, which is often its log: 20 MB of it in one
	// call filled the log and the disk. A call prints maxPrint bytes at most.
	if print, ok := L.GetGlobal("print").(*lua.LFunction); ok && print.IsG {
		base := print.GFunction
		L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
			size := 1
			for i := 1; i <= L.GetTop(); i++ {
				size += len(L.ToStringMeta(L.Get(i)).String()) + 1
			}
			if st.printed += size; st.printed > maxPrint {
				if st.printed-size <= maxPrint {
					fmt.Fprintf(os.Stdout, "[msgscript: this call printed over %d bytes; the rest is left out]\n", maxPrint)
				}
				return 0
			}
			return base(L)
		}))
	}
	L.SetGlobal("collectgarbage", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LNumber(0))
		return 1
	}))

	if debug, ok := L.GetGlobal("debug").(*lua.LTable); ok {
		safe := L.NewTable()
		for _, name := range []string{"traceback", "getinfo"} {
			safe.RawSetString(name, debug.RawGetString(name))
		}
		L.SetGlobal("debug", safe)
		loaded.RawSetString("debug", safe)
	}
	methodsOutOfReach(L)
}

// methodsOutOfReach gives the metatables of files and channels a table of their methods as
// __index. gopher-lua makes each its own __index, so `io.stdout.__index` and
// `channel.make().__index` handed a script the metatable every file or channel of the state
// shares, without getmetatable (which taints the state) and past the shield: a method replaced
// there ran in every later call on the state, whichever script's, as that script. (The string
// library's own __index goes when strings get a metatable of their own: see newShield.)
func methodsOutOfReach(L *lua.LState) {
	for _, v := range []lua.LValue{L.GetTypeMetatable("FILE*"), L.GetMetatable(lua.LChannel(nil))} {
		mt, ok := v.(*lua.LTable)
		if !ok || mt.RawGetString("__index") != mt {
			continue
		}
		methods := L.CreateTable(0, 8)
		mt.ForEach(func(k, v lua.LValue) {
			if k != lua.LString("__index") {
				methods.RawSet(k, v)
			}
		})
		mt.RawSetString("__index", methods)
	}
}
