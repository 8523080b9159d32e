package hello_test

import (
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/luaenv"
	_ "github.com/msgscript/msgscript/plugins/hello"
)

// Importing the package is all it takes: the registry offers it to require, in the sandbox too.
func TestRegisteredByImport(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	preload, err := luaenv.New(luaenv.Policy{Sandbox: true}, luaenv.Services{})
	if err != nil {
		t.Fatal(err)
	}
	preload(L)
	if err := L.DoString(`greeting = require("hello").print()`); err != nil {
		t.Fatal(err)
	}
	if got := L.GetGlobal("greeting").String(); got != "Hello from a Go plugin!" {
		t.Fatalf("got %q", got)
	}
}
