package engine

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/script"
)

// boundChunks holds what a script compiles at run time (loadstring, load) to the limits of
// stored scripts (script.CheckSyntax, concat): a chunk of nested parentheses or of a 30,000-term sum made
// from a string would otherwise take the parser's memory or the compiler's time, in Go code the
// deadline cannot stop. load's reader function is read up to script.MaxSourceSize, where
// gopher-lua's kept every piece it returned. As in Lua, a refused chunk is nil and a message.
func boundChunks(L *lua.LState) {
	if L.GetGlobal("loadstring") == lua.LNil {
		return // no base library
	}
	checked := func(L *lua.LState, chunk, name string) int {
		if line, err := script.CheckSyntax([]byte(chunk)); err != nil {
			where := fmt.Sprintf("[string %q]", name)
			if line > 0 {
				where += fmt.Sprintf(":%d", line)
			}
			L.Push(lua.LNil)
			L.Push(lua.LString(where + ": " + err.Error()))
			return 2
		}
		proto, err := compileChunk([]byte(chunk), name)
		if err != nil {
			L.Push(lua.LNil)
			L.Push(lua.LString(err.Error()))
			return 2
		}
		L.Push(L.NewFunctionFromProto(proto))
		return 1
	}
	L.SetGlobal("loadstring", L.NewFunction(func(L *lua.LState) int {
		return checked(L, L.CheckString(1), L.OptString(2, "<string>"))
	}))
	L.SetGlobal("load", L.NewFunction(func(L *lua.LState) int {
		reader := L.CheckFunction(1)
		name := L.OptString(2, "?")
		var chunk strings.Builder
		for {
			L.Push(reader)
			L.Call(0, 1)
			piece := L.Get(-1)
			L.Pop(1)
			if piece == lua.LNil {
				break
			}
			if !lua.LVCanConvToString(piece) {
				L.Push(lua.LNil)
				L.Push(lua.LString("reader function must return a string"))
				return 2
			}
			s := lua.LVAsString(piece)
			if s == "" {
				break
			}
			if chunk.Len()+len(s) > script.MaxSourceSize {
				L.Push(lua.LNil)
				L.Push(lua.LString(fmt.Sprintf("load: a chunk over %d bytes", script.MaxSourceSize)))
				return 2
			}
			chunk.WriteString(s)
		}
		return checked(L, chunk.String(), name)
	}))
}
