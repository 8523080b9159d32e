// Command plugin is the hello module as a Go plugin for plugin_dir (or msgscriptcli -p), the
// original msgscript's way of adding modules:
//
//	go build -buildmode=plugin -o hello.so ./plugins/hello/plugin
//
// The .so only loads into a binary built with the same Go version, flags and dependencies.
package main

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/plugins/hello"
)

// Preload is the symbol the loader looks up.
func Preload(L *lua.LState) {
	L.PreloadModule("hello", hello.Loader)
}

func main() {}
