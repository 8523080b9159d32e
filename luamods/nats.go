package luamods

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	lua "github.com/yuin/gopher-lua"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

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
// A request waits at most the call's remaining time. A script sends at most its send_rate of
// messages a second (publish and request together; past it, they wait, within the call's
// deadline), so that a script fanning out to its own subject cannot flood NATS. Every message carries the call's depth plus
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
				m := &nats.Msg{Subject: subject, Data: []byte(data), Header: nats.Header{}}
				ctx := callContext(L)
				if err := callctx.WaitToSend(ctx); err != nil {
					L.Push(lua.LFalse)
					L.Push(lua.LString("nats: " + err.Error()))
					return 2
				}
				callctx.Pass(ctx, m)
				_, span := clientSpan(ctx, "publish "+subject, trace.SpanKindProducer, callctx.TraceHeaders(m.Header),
					attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", subject))
				err := nc.PublishMsg(m)
				endClientSpan(span, err)
				if err != nil {
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
				if err := callctx.WaitToSend(ctx); err != nil {
					return fail(L, errors.New("nats: "+err.Error()))
				}
				m := &nats.Msg{Subject: subject, Data: []byte(data), Header: nats.Header{}}
				callctx.Pass(ctx, m)
				if deadline, ok := ctx.Deadline(); ok {
					callctx.SetTimeout(m, time.Until(deadline))
				}
				ctx, span := clientSpan(ctx, "request "+subject, trace.SpanKindClient, callctx.TraceHeaders(m.Header),
					attribute.String("messaging.system", "nats"), attribute.String("messaging.destination.name", subject))
				reply, err := nc.RequestMsgWithContext(ctx, m)
				if err == nil && reply.Header.Get(micro.ErrorCodeHeader) != "" {
					err = fmt.Errorf("%s answered %s: %s", subject, reply.Header.Get(micro.ErrorCodeHeader), strings.Join(reply.Header.Values(micro.ErrorHeader), "; "))
				}
				endClientSpan(span, err)
				if err != nil {
					return fail(L, errors.New("nats: "+err.Error()))
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
