package luaenv

import (
	lua "github.com/yuin/gopher-lua"
)

// sandboxedOS are the os functions a sandbox takes away: they change files or run programs.
var sandboxedOS = []string{"execute", "remove", "rename", "tmpname", "setlocale"}

// confineBaseLibrary takes what reaches files and processes away from the base library: io,
// dofile, loadfile, package.loadlib, and os's execute, remove, rename, tmpname and setlocale;
// using them raises an error that says so. (The modules that reach files, processes or the
// network are left out by New.)
func confineBaseLibrary(L *lua.LState) {
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

// unavailableModule is the loader the sandbox puts in place of a module it leaves out: require
// says why.
func unavailableModule(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		L.RaiseError("module %s is not available in msgscript's sandbox", name)
		return 0
	}
}
