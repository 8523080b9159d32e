package luamods

import (
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"
)

// defaultRequestTimeout is nats.request's timeout when the script gives none; the call's
// deadline still applies.
const defaultRequestTimeout = 5 * time.Second

var errNoNATS = errors.New("nats: not connected")

// natsLoader is the original msgscript's nats module, on the app's own connection:
//
//	ok, err = nats.publish(subject, data)
//	reply, err = nats.request(subject, data[, timeout_seconds])
func natsLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"publish": func(L *lua.LState) int {
				subject, data := L.CheckString(1), L.CheckString(2)
				nc := env.nats()
				if nc == nil {
					L.Push(lua.LFalse)
					L.Push(lua.LString(errNoNATS.Error()))
					return 2
				}
				if err := nc.Publish(subject, []byte(data)); err != nil {
					L.Push(lua.LFalse)
					L.Push(lua.LString("nats: " + err.Error()))
					return 2
				}
				L.Push(lua.LTrue)
				return 1
			},
			"request": func(L *lua.LState) int {
				subject, data := L.CheckString(1), L.CheckString(2)
				timeout := defaultRequestTimeout
				if L.GetTop() >= 3 {
					timeout = time.Duration(float64(L.CheckNumber(3)) * float64(time.Second))
				}
				nc := env.nats()
				if nc == nil {
					return fail(L, errNoNATS)
				}
				ctx, cancel := contextWithTimeout(L, timeout)
				defer cancel()
				m, err := nc.RequestWithContext(ctx, subject, []byte(data))
				if err != nil {
					return fail(L, errors.New("nats: "+err.Error()))
				}
				L.Push(lua.LString(m.Data))
				return 1
			},
		})
		L.Push(mod)
		return 1
	}
}

// nats is the app's connection, nil while there is none.
func (env *Env) nats() *nats.Conn {
	if env.NATS == nil {
		return nil
	}
	return env.NATS()
}
