// Package hello is the example plugin: `require("hello").print()` returns "Hello from a Go
// plugin!". Importing it registers it; plugins/hello/plugin builds the same module as a Go .so.
package hello

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/plugins"
)

func init() {
	plugins.Register(plugins.Plugin{Name: "hello", Loader: Loader})
}

// Greeting is what print returns.
const Greeting = "Hello from a Go plugin!"

// Loader builds the module table.
func Loader(L *lua.LState) int {
	L.Push(L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"print": func(L *lua.LState) int {
			L.Push(lua.LString(Greeting))
			return 1
		},
	}))
	return 1
}
