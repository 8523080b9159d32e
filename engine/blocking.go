package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// maxResumeDepth bounds coroutines resuming coroutines, as C Lua does ("C stack overflow" past
// 200): each level is a Go stack frame and a Lua state of its own, so 100,000 of them, nested by a
// recursive coroutine.wrap, took gigabytes no memory guard could see before the process died.
const maxResumeDepth = 200

// watchBlocking makes the calls that wait inside gopher-lua obey the call's deadline:
//
//   - channel:send waited for a receiver for ever, deaf to the deadline (receive and select do
//     watch it): a script sending on a channel nobody reads held its call slot until the process
//     ended;
//   - a coroutine keeps the context of the call that created it, which is over once that call
//     ends: a coroutine kept in a table and resumed by a later call ran with no deadline at all.
//     Every resume gives it the context of the call resuming it.
func watchBlocking(L *lua.LState) {
	if mt, ok := L.GetMetatable(lua.LChannel(nil)).(*lua.LTable); ok {
		if methods, ok := mt.RawGetString("__index").(*lua.LTable); ok && methods.RawGetString("send") != lua.LNil {
			methods.RawSetString("send", L.NewFunction(channelSend))
		}
	}
	co, ok := L.GetGlobal("coroutine").(*lua.LTable)
	if !ok {
		return
	}
	resume, ok1 := co.RawGetString("resume").(*lua.LFunction)
	wrap, ok2 := co.RawGetString("wrap").(*lua.LFunction)
	if !ok1 || !ok2 || !resume.IsG || !wrap.IsG {
		return
	}
	depth := 0
	// resumeWith runs base, a resume of th, with the resuming call's context and the nesting bound.
	resumeWith := func(L *lua.LState, th *lua.LState, base lua.LGFunction) int {
		if depth >= maxResumeDepth {
			L.RaiseError("coroutines nested more than %d deep", maxResumeDepth)
		}
		if ctx := L.Context(); ctx != nil && th != nil {
			th.SetContext(ctx)
		}
		depth++
		defer func() { depth-- }()
		return base(L)
	}
	baseResume := resume.GFunction
	co.RawSetString("resume", L.NewFunction(func(L *lua.LState) int {
		th, _ := L.Get(1).(*lua.LState)
		return resumeWith(L, th, baseResume)
	}))
	baseWrap := wrap.GFunction
	co.RawSetString("wrap", L.NewFunction(func(L *lua.LState) int {
		// gopher-lua's wrap returns a function that resumes its thread, an upvalue; the wrapper
		// returned instead holds both as its upvalues (where the memory guard finds the thread)
		// and resumes the same way.
		if baseWrap(L) != 1 {
			return 0
		}
		inner, ok := L.Get(-1).(*lua.LFunction)
		if !ok || !inner.IsG || len(inner.Upvalues) != 1 {
			return 1
		}
		th, _ := inner.Upvalues[0].Value().(*lua.LState)
		L.Replace(-1, L.NewClosure(func(L *lua.LState) int {
			return resumeWith(L, th, func(L *lua.LState) int {
				nargs := L.GetTop()
				L.Insert(inner, 1)
				L.Call(nargs, lua.MultRet)
				return L.GetTop()
			})
		}, inner.Upvalues[0].Value(), inner))
		return 1
	}))
}

// channelSend is channel:send(v) waiting for a receiver only until the call's deadline. Like
// gopher-lua's, it refuses what is not safe to hand to another goroutine.
func channelSend(L *lua.LState) int {
	ch := L.CheckChannel(1)
	v := L.CheckAny(2)
	switch t := v.(type) {
	case *lua.LFunction, *lua.LUserData, *lua.LState:
		L.ArgError(2, "can not send a function, userdata, thread or table that has a metatable")
	case *lua.LTable:
		if t.Metatable != lua.LNil {
			L.ArgError(2, "can not send a function, userdata, thread or table that has a metatable")
		}
	}
	ctx := L.Context()
	if ctx == nil {
		ch <- v
		return 0
	}
	select {
	case ch <- v:
	case <-ctx.Done(): // the VM ends the call at its next instruction
	}
	return 0
}
