package luamods

import (
	"strings"

	"github.com/vadv/gopher-lua-libs/json"
	luastrings "github.com/vadv/gopher-lua-libs/strings"
	"github.com/vadv/gopher-lua-libs/yaml"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// A decoder makes many Lua values of a short text: json.decode("[[],[],...]") made a table of
// about a hundred bytes for every three of its input, and a 60 MB text took the process past its
// memory in one Go call, which neither a deadline nor the memory guard can stop. So json.decode,
// yaml.decode, strings.split and strings.fields first estimate what they will make of their text
// (valueCost for every value it may hold), refuse over the call's value bound, and have it
// admitted under the memory limit (callctx.Admit) while they make it.

// valueCost is what a decoded value costs at most: a table or a string's header, and its slot.
const valueCost = 128

func jsonLoader(L *lua.LState) int {
	json.Loader(L)
	estimated(L, "json", "decode", func(text string, _ *lua.LState) int { return countAny(text, "[{,:") })
	return 1
}

func yamlLoader(L *lua.LState) int {
	yaml.Loader(L)
	estimated(L, "yaml", "decode", func(text string, _ *lua.LState) int { return countAny(text, "[{,:-\n") })
	return 1
}

func stringsLoader(L *lua.LState) int {
	luastrings.Loader(L)
	estimated(L, "strings", "split", func(text string, L *lua.LState) int {
		if sep := L.OptString(2, ""); sep != "" {
			return strings.Count(text, sep)
		}
		return len(text)
	})
	estimated(L, "strings", "fields", func(text string, _ *lua.LState) int { return countAny(text, " \t\n\v\f\r") })
	return 1
}

// estimated wraps the function name of the module on top of L's stack: values(text, L) is how
// many values it may make of its first argument, text.
func estimated(L *lua.LState, module, name string, values func(text string, L *lua.LState) int) {
	mod, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return
	}
	fn, ok := mod.RawGetString(name).(*lua.LFunction)
	if !ok || !fn.IsG {
		return
	}
	base := fn.GFunction
	mod.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
		text := L.CheckString(1)
		size := len(text) + valueCost*(values(text, L)+1)
		if bound := callctx.ValueBound(L.Context()); size > bound {
			L.RaiseError("%s.%s: the text would make more than %d bytes of values, the largest value a call may make (a quarter of memory_limit)", module, name, bound)
		}
		release, err := callctx.Admit(L.Context(), size)
		if err != nil {
			L.RaiseError("%s.%s: %v", module, name, err)
		}
		defer release()
		return base(L)
	}))
}

// countAny counts the bytes of s that are among chars.
func countAny(s, chars string) int {
	n := 0
	for i := 0; i < len(chars); i++ {
		n += strings.Count(s, chars[i:i+1])
	}
	return n
}
