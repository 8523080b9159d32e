package engine

import (
	lua "github.com/yuin/gopher-lua"
)

// The environment of a call is where the globals it sets land; reads fall through to the base
// globals. A state keeps one environment table from call to call, emptied when a call ends,
// rather than making a table per call (with gopher-lua's three maps per table, the most expensive
// part of a small call). When the script's top level may be kept (keepsTopLevel), the state also
// keeps what it defined, and a call ends by putting exactly that back.

// maxDeadNames bounds the distinct globals the calls on one environment may have set and had
// removed. gopher-lua's tables never forget a key they once held (its iteration order lists
// them), so a script setting a global of a new name on each call would grow it without end; past
// the bound the table is replaced.
const maxDeadNames = 64

// callEnv is the environment for the next call, made when the state has none.
func (st *luaState) callEnv() *lua.LTable {
	if st.globals == nil {
		env := st.L.CreateTable(0, 4)
		env.RawSetString("_G", env)
		env.Metatable = st.envMeta
		st.globals = env
	}
	return st.globals
}

// keepTopLevel records the globals the top level just defined in the environment, for the calls
// that follow to find without running it.
func (st *luaState) keepTopLevel() {
	st.kept = map[string]lua.LValue{}
	st.globals.ForEach(func(k, v lua.LValue) {
		if name, ok := k.(lua.LString); ok && name != "_G" {
			st.kept[string(name)] = v
		}
	})
}

// dropEnv forgets the environment and what the top level defined in it: the next call gets a new
// table and runs the top level again.
func (st *luaState) dropEnv() {
	st.globals, st.kept, st.dropEnvAfterCall = nil, nil, false
	clear(st.deadNames)
}

// resetEnv empties the environment after a call: the globals the call set go, and what the top
// level defined (when kept) is as it defined it.
func (st *luaState) resetEnv() {
	env := st.globals
	if env == nil {
		return
	}
	if st.dropEnvAfterCall {
		st.dropEnv()
		return
	}
	stale := st.stale[:0]
	replace := false
	env.ForEach(func(k, v lua.LValue) {
		name, ok := k.(lua.LString)
		switch {
		case !ok:
			replace = true // a number or other key: not worth tracking, start afresh
		case name == "_G" && v == env:
		case st.kept != nil && st.kept[string(name)] == v:
		default:
			stale = append(stale, string(name))
		}
	})
	if replace {
		st.dropEnv()
		return
	}
	for _, name := range stale {
		env.RawSetString(name, lua.LNil)
		if _, kept := st.kept[name]; !kept {
			if st.deadNames == nil {
				st.deadNames = map[string]struct{}{}
			}
			st.deadNames[name] = struct{}{}
		}
	}
	clear(stale)
	st.stale = stale[:0]
	if len(st.deadNames) > maxDeadNames {
		st.dropEnv()
		return
	}
	if env.RawGetString("_G") != env {
		env.RawSetString("_G", env)
	}
	for name, v := range st.kept {
		if env.RawGetString(name) != v {
			env.RawSetString(name, v)
		}
	}
}
