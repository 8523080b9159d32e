package luamods

import (
	"fmt"
	"io"
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
	boundedStream(L, "json")
	return 1
}

func yamlLoader(L *lua.LState) int {
	yaml.Loader(L)
	estimated(L, "yaml", "decode", func(text string, _ *lua.LState) int { return countAny(text, "[{,:-\n") })
	boundedStream(L, "yaml")
	return 1
}

// boundedStream makes the new_decoder of the module on top of L's stack read at most a 64th of
// the call's value bound from a Go reader (strings.new_reader, a file): a value every two bytes
// at most, valueCost each, stays under the bound. A decoder of a 60 MB text of "[],[],..." read
// from strings.new_reader ended the process. (A reader written in Lua runs Lua code for every
// read, where the memory guard reaches the call.)
func boundedStream(L *lua.LState, module string) {
	wrapGo(L, "new_decoder", func(L *lua.LState, base lua.LGFunction) int {
		if ud, ok := L.Get(1).(*lua.LUserData); ok {
			if r, ok := ud.Value.(io.Reader); ok {
				bound := callctx.ValueBound(L.Context())
				capped := L.NewUserData()
				capped.Value = &cappedReader{r: r, left: int64(bound / (valueCost / 2)), module: module, bound: bound}
				L.Replace(1, capped)
			}
		}
		return base(L)
	})
}

// cappedReader reads at most left bytes from r, then fails.
type cappedReader struct {
	r      io.Reader
	left   int64
	module string
	bound  int
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("%s decoder: the text would make more than %d bytes of values, the largest value a call may make (a quarter of memory_limit)", c.module, c.bound)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
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
	wrapGo(L, name, func(L *lua.LState, base lua.LGFunction) int {
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
	})
}

// wrapGo replaces the Go function name of the module on top of L's stack with fn, which is given
// the function it replaces.
func wrapGo(L *lua.LState, name string, fn func(L *lua.LState, base lua.LGFunction) int) {
	mod, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return
	}
	f, ok := mod.RawGetString(name).(*lua.LFunction)
	if !ok || !f.IsG {
		return
	}
	base := f.GFunction
	mod.RawSetString(name, L.NewFunction(func(L *lua.LState) int { return fn(L, base) }))
}

// countAny counts the bytes of s that are among chars.
func countAny(s, chars string) int {
	n := 0
	for i := 0; i < len(chars); i++ {
		n += strings.Count(s, chars[i:i+1])
	}
	return n
}
