package luamods

import (
	"io"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// closedAtCallEnd wraps the functions named of a module's loader: what they return that can be
// closed (a connection) is closed when the call that opened it ends, if the script left it open
// (closing twice does no harm). Otherwise it would live on until a garbage collection.
func closedAtCallEnd(loader lua.LGFunction, names ...string) lua.LGFunction {
	return func(L *lua.LState) int {
		n := loader(L)
		mod, ok := L.Get(-1).(*lua.LTable)
		if !ok {
			return n
		}
		for _, name := range names {
			fn, ok := mod.RawGetString(name).(*lua.LFunction)
			if !ok || !fn.IsG {
				continue
			}
			base := fn.GFunction
			mod.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
				top := L.GetTop()
				n := base(L)
				for i := top + 1; i <= L.GetTop(); i++ {
					if ud, ok := L.Get(i).(*lua.LUserData); ok {
						if c, ok := ud.Value.(io.Closer); ok {
							callctx.OnEnd(callContext(L), func() { _ = c.Close() })
						}
					}
				}
				return n
			}))
		}
		return n
	}
}
