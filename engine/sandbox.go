package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// limitRequire keeps require from reading Lua files off the disk, the working directory
// included, unless a search path was given: scripts get their code from the store (libraries)
// and their modules from Go.
func limitRequire(L *lua.LState, path string) {
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		pkg.RawSetString("path", lua.LString(path))
		pkg.RawSetString("cpath", lua.LString(""))
	}
}

// sandboxedOS are the os functions a sandbox takes away: they change files or run programs.
var sandboxedOS = []string{"execute", "remove", "rename", "tmpname", "setlocale"}

// sandbox takes what reaches files and processes away from the base library: io, dofile,
// loadfile, and os's execute, remove, rename, tmpname and setlocale; using them raises an error
// that says so. (The modules that reach files, processes or the network are replaced by their
// preloaders; see luamods.)
func sandbox(L *lua.LState) {
	unavailable := func(name string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("%s is not available in msgscript's sandbox", name)
			return 0
		})
	}
	// io stays a table, so that io.open(...) fails with a message rather than "attempt to index
	// a nil value".
	io := L.NewTable()
	ioMeta := L.NewTable()
	ioMeta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("io.%s is not available in msgscript's sandbox", L.CheckString(2))
		return 0
	}))
	ioMeta.RawSetString("__metatable", lua.LString("locked"))
	io.Metatable = ioMeta
	L.SetGlobal("io", io)
	if loaded, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable); ok {
		loaded.RawSetString("io", io)
	}
	for _, name := range []string{"dofile", "loadfile"} {
		L.SetGlobal(name, unavailable(name))
	}
	if os, ok := L.GetGlobal("os").(*lua.LTable); ok {
		for _, name := range sandboxedOS {
			os.RawSetString(name, unavailable("os."+name))
		}
	}
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		pkg.RawSetString("loadlib", unavailable("package.loadlib"))
	}
}
