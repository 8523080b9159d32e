package luaenv

import (
	"fmt"
	"os"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/script"
)

// sandboxedOS are the os functions a sandbox takes away: they change files or run programs.
// (os.exit and os.setenv are taken away from every script by the engine.) What stays of os reads
// the clock (time, clock, date, difftime) or, confined, the environment (getenv).
var sandboxedOS = []string{"execute", "remove", "rename", "tmpname", "setlocale"}

// confineBaseLibrary takes what reaches files, processes and the environment away from the base
// library: io, dofile, loadfile, package.loadlib, and os's execute, remove, rename, tmpname and
// setlocale, raise an error that says so; os.getenv reads only the variables in env; require
// reads Lua files from luaPath alone. (The modules that reach files, processes or the network
// are left out by New.)
func confineBaseLibrary(L *lua.LState, env map[string]bool, luaPath string) {
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
		os.RawSetString("getenv", L.NewFunction(getenv(env)))
	}
	if pkg, ok := L.GetGlobal("package").(*lua.LTable); ok {
		pkg.RawSetString("loadlib", unavailable("package.loadlib"))
	}
	// require's second searcher (after package.preload) reads package.path at every require,
	// and a script may set it: package.path = "/etc/?" would read any file as Lua.
	if loaders, ok := L.GetField(L.Get(lua.RegistryIndex), "_LOADERS").(*lua.LTable); ok && loaders.Len() >= 2 {
		loaders.RawSetInt(2, L.NewFunction(luaFileSearcher(luaPath)))
	}
}

// getenv is os.getenv reading only the variables in allowed; the others read nil, as unset
// ones do (and as empty ones do in gopher-lua).
func getenv(allowed map[string]bool) lua.LGFunction {
	return func(L *lua.LState) int {
		name := L.CheckString(1)
		if v := os.Getenv(name); allowed[name] && v != "" {
			L.Push(lua.LString(v))
			return 1
		}
		L.Push(lua.LNil)
		return 1
	}
}

// luaFileSearcher is gopher-lua's Lua-file searcher on a fixed path (the policy's lua_path)
// instead of package.path: it returns the chunk of the first file the path names, or the
// places it looked in.
func luaFileSearcher(path string) lua.LGFunction {
	return func(L *lua.LState) int {
		name := strings.ReplaceAll(L.CheckString(1), ".", string(os.PathSeparator))
		var tried strings.Builder
		for _, pattern := range strings.Split(path, ";") {
			if pattern == "" {
				continue
			}
			file := strings.ReplaceAll(pattern, "?", name)
			if _, err := os.Stat(file); err != nil {
				fmt.Fprintf(&tried, "\n\tno file '%s'", file)
				continue
			}
			fn, err := L.LoadFile(file)
			if err != nil {
				L.RaiseError("%s", err.Error())
			}
			L.Push(fn)
			return 1
		}
		if path == "" {
			tried.WriteString("\n\tno Lua file: the sandbox reads none without lua_path")
		}
		L.Push(lua.LString(tried.String()))
		return 1
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

// sandboxSubject is the nats module's check in the sandbox: NATS's own subjects ($SYS, $JS.API
// and every other $..., the _INBOX reply subjects) are out of reach, so that a script can neither
// drive the server or JetStream nor answer another caller's request in its place.
func sandboxSubject(subject string) error {
	if script.Reserved(subject) {
		return fmt.Errorf("subject %q is reserved for NATS itself ($... and _INBOX...): not available in msgscript's sandbox", subject)
	}
	return nil
}
