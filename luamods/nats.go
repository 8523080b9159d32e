package luamods

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/script"
)

// defaultRequestTimeout is nats.request's timeout when the script gives none; the call's
// deadline still applies.
const defaultRequestTimeout = 5 * time.Second

var errNoNATS = errors.New("nats: not connected")

// natsLoader is the original msgscript's nats module, on the app's own connection:
//
//	ok, err = nats.publish(subject, data)
//	reply, err = nats.request(subject, data[, timeout_seconds])
//
// A request waits at most the call's remaining time. Every message carries the call's depth plus
// one, and a request how long it waits (see callctx), so that the scripts it reaches end when it
// stops waiting and a loop through NATS ends. A reply that reports a failure in the NATS micro
// error headers (a msgscript script that failed, for instance) is an error.
func natsLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
			"publish": func(L *lua.LState) int {
				subject, data := L.CheckString(1), L.CheckString(2)
				if err := env.checkSubject(subject); err != nil {
					L.Push(lua.LFalse)
					L.Push(lua.LString(err.Error()))
					return 2
				}
				nc := env.nats()
				if nc == nil {
					L.Push(lua.LFalse)
					L.Push(lua.LString(errNoNATS.Error()))
					return 2
				}
				m := &nats.Msg{Subject: subject, Data: []byte(data)}
				callctx.Pass(callContext(L), m)
				if err := nc.PublishMsg(m); err != nil {
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
				if err := env.checkSubject(subject); err != nil {
					return fail(L, err)
				}
				nc := env.nats()
				if nc == nil {
					return fail(L, errNoNATS)
				}
				ctx, cancel := contextWithTimeout(L, timeout)
				defer cancel()
				m := &nats.Msg{Subject: subject, Data: []byte(data)}
				callctx.Pass(ctx, m)
				if deadline, ok := ctx.Deadline(); ok {
					callctx.SetTimeout(m, time.Until(deadline))
				}
				reply, err := nc.RequestMsgWithContext(ctx, m)
				if err != nil {
					return fail(L, errors.New("nats: "+err.Error()))
				}
				if code := reply.Header.Get(micro.ErrorCodeHeader); code != "" {
					return fail(L, fmt.Errorf("nats: %s answered %s: %s", subject, code, strings.Join(reply.Header.Values(micro.ErrorHeader), "; ")))
				}
				L.Push(lua.LString(reply.Data))
				return 1
			},
		})
		L.Push(mod)
		return 1
	}
}

// checkSubject refuses a subject NATS would choke on (the server closes a connection that sends
// a protocol line over its limit, for good), and one env.AllowSubject refuses.
func (env *Env) checkSubject(subject string) error {
	if err := script.ValidatePublish(subject); err != nil {
		return errors.New("nats: " + err.Error())
	}
	if env.AllowSubject != nil {
		if err := env.AllowSubject(subject); err != nil {
			return errors.New("nats: " + err.Error())
		}
	}
	return nil
}

// nats is the app's connection, nil while there is none.
func (env *Env) nats() *nats.Conn {
	if env.NATS == nil {
		return nil
	}
	return env.NATS()
}
