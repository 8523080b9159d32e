package engine

import (
	"reflect"

	lua "github.com/yuin/gopher-lua"
)

// The environment of a call is where the globals it sets land; reads fall through to the base
// globals. When the script's top level may be kept (keepsTopLevel), a state keeps the environment
// the top level defined from call to call, with what it defined (kept): a call ends by putting
// back any kept global it reassigned or removed. A call that added a global of its own (even one
// it removed again) gets the environment replaced, and the next call runs the top level in a new
// one: gopher-lua's tables never forget a key they once held (their iteration order keeps its
// place), so emptying the table would leave a trace of the call, and with a new name on every call
// the table would grow without end. Other scripts get a new environment for every call.

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
//
// Only when every key the environment holds is one of them: a global the top level set and removed
// again (`tmp = 1; tmp = nil`) left a key a call could set without changing the shape, and the
// next call found its value. Such a top level runs again before every call.
func (st *luaState) keepTopLevel() {
	st.kept = map[string]lua.LValue{}
	st.globals.ForEach(func(k, v lua.LValue) {
		if name, ok := k.(lua.LString); ok && name != "_G" {
			st.kept[string(name)] = v
		}
	})
	var ok bool
	st.keptShape, ok = shapeOf(st.globals)
	if !ok || st.keptShape.keys != len(st.kept)+1 || st.keptShape.array != 0 { // +1: _G
		st.kept = nil
	}
}

// dropEnv forgets the environment and what the top level defined in it.
func (st *luaState) dropEnv() {
	st.globals, st.kept, st.dropEnvAfterCall = nil, nil, false
}

// resetEnv readies the environment for the next call: as the top level left it, or none.
func (st *luaState) resetEnv() {
	env := st.globals
	if env == nil {
		return
	}
	if shape, ok := shapeOf(env); !ok || st.kept == nil || st.dropEnvAfterCall || shape != st.keptShape {
		st.dropEnv()
		return
	}
	// Only the kept globals' places are left: put back those the call changed.
	if env.RawGetString("_G") != env {
		env.RawSetString("_G", env)
	}
	for name, v := range st.kept {
		if env.RawGetString(name) != v {
			env.RawSetString(name, v)
		}
	}
}

// tableShape is how many keys a table has held (every key it was ever given a value for, which
// gopher-lua keeps for its iteration order) and the length of its array part. A call that gave the
// environment a new key changes it, whatever it did with the key afterwards.
type tableShape struct{ keys, array int }

// The places of gopher-lua's LTable fields "keys" and "array", read with reflect: gopher-lua does
// not say how many keys a table holds. Should a version of it name them otherwise, shapeOf reports
// false and every environment is replaced: slower, never wrong.
var keysField, arrayField = ltableField("keys"), ltableField("array")

func ltableField(name string) int {
	f, ok := reflect.TypeFor[lua.LTable]().FieldByName(name)
	if !ok || f.Type.Kind() != reflect.Slice {
		return -1
	}
	return f.Index[0]
}

func shapeOf(t *lua.LTable) (tableShape, bool) {
	if keysField < 0 || arrayField < 0 {
		return tableShape{}, false
	}
	v := reflect.ValueOf(t).Elem()
	return tableShape{keys: v.Field(keysField).Len(), array: v.Field(arrayField).Len()}, true
}
