package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// Preloader adds modules (or anything else) to a new Lua state, typically with L.PreloadModule
// so that scripts get them through require.
type Preloader func(L *lua.LState)

// luaState is one Lua VM plus what every call on it reuses. It serves one script version at a
// time: it is idle in the pool of the script whose call used it last, until a call of that script
// takes it again or one of another script adopts it (pool.go). Nothing a call does outlives it
// (callenv.go, shield.go, taint.go), so the next call, whichever script's, finds the state as made.
type luaState struct {
	L *lua.LState
	// envMeta makes a call's environment read through to the base globals without being able
	// to reach them: {__index = globals, __metatable = "locked"}.
	envMeta *lua.LTable
	// env is the environment of the call in progress, nil between calls.
	env *lua.LTable
	// globals is the environment of the state's calls (see callenv.go); kept is what the
	// script's top level defined in it, when the top level runs once per state (nil otherwise),
	// and keptShape the environment's shape then.
	globals   *lua.LTable
	kept      map[string]lua.LValue
	keptShape tableShape
	// dropEnvAfterCall: the call in progress changed what the next call must not see (the
	// environment of a kept function); the environment is made afresh when it ends.
	dropEnvAfterCall bool
	// deadline is the context of every call on this state.
	deadline *deadline
	// shield keeps the libraries as they were for every call.
	shield *shield
	// res closes what a call opened with the io library.
	res *resources
	// tainted: the call in progress reached something shared the shield cannot guard; the
	// state is closed when it ends (see watchSharing).
	tainted bool
	// ownMetas are the metatables the call in progress set (see watchSharing).
	ownMetas map[*lua.LTable]struct{}
	// printed is how many bytes the call in progress printed (see harden).
	printed int
	// idle is the state's place among the registry's idle states while it is idle (see
	// idleStates); zero while a call runs on it. Guarded by the idleStates' lock.
	idle idleLink
}

// newLuaState builds a state with the standard libraries, hardened (see harden), then runs the
// preloaders.
func newLuaState(opts *Options) *luaState {
	L := lua.NewState(lua.Options{
		// A small data stack to start with (the default is 5120 slots, ~80 KB per state) that
		// grows on demand, so that deep recursion works instead of overflowing.
		RegistrySize:    1024,
		RegistryMaxSize: 1024 * 256,
		// It grows by this much at a time, copying itself each time: by gopher-lua's 32,
		// unpack or string.byte of 260,000 values took 15 s of copies, deaf to the deadline.
		RegistryGrowStep: 4096,
	})
	st := &luaState{L: L}
	st.deadline = newDeadline(st.held)
	st.envMeta = L.NewTable()
	st.envMeta.RawSetString("__index", L.G.Global)
	st.envMeta.RawSetString("__metatable", lua.LString("locked"))
	harden(st)
	boundValues(L)
	watchBlocking(L)
	boundChunks(L)
	watchSharing(st)
	for _, p := range opts.Preload {
		p(L)
	}
	st.res = newResources(L)
	st.shield = newShield(L, st)
	st.tainted = false // what the preloaders reached is the state's own making, not a call's
	return st
}

func (st *luaState) close() {
	forgetDeadline(st.deadline)
	st.L.Close()
}
