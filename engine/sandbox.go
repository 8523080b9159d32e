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

// sandbox removes what reaches files and processes from the base library: io, dofile, loadfile,
// and os's execute, remove, rename, tmpname and setlocale. (The modules that reach files,
// processes or the network are left out by their preloaders; see luamods.)
func sandbox(L *lua.LState) {
	unavailable := func(name string) *lua.LFunction {
		return L.NewFunction(func(L *lua.LState) int {
			L.RaiseError("%s is not available in msgscript's sandbox", name)
			return 0
		})
	}
	loaded, _ := L.GetField(L.Get(lua.RegistryIndex), "_LOADED").(*lua.LTable)
	L.SetGlobal("io", lua.LNil)
	if loaded != nil {
		loaded.RawSetString("io", lua.LNil)
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
