package engine

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// What a call can hide its memory in is counted: a metatable's __index, a table nested deeper
// than the walk went (eight), a channel's buffer, a large array whose first elements are small.
func TestSizerSeesHiddenMemory(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	const big = 1 << 20
	str := lua.LString(make([]byte, big))
	nested := func(depth int) lua.LValue {
		v := lua.LValue(str)
		for range depth {
			t := L.NewTable()
			t.Append(v)
			v = t
		}
		return v
	}
	withMeta := L.NewTable()
	index := L.NewTable()
	index.Append(str)
	meta := L.NewTable()
	meta.RawSetString("__index", index)
	withMeta.Metatable = meta
	ch := make(chan lua.LValue, 32)
	for range 32 {
		ch <- lua.LString("x")
	}
	sparse := L.NewTable()
	for i := 1; i <= 4000; i++ {
		if i <= 64 {
			sparse.Append(lua.LString(""))
		} else {
			sparse.Append(lua.LString(make([]byte, 1024)))
		}
	}
	for name, c := range map[string]struct {
		v    lua.LValue
		want int64
	}{
		"metatable's __index": {withMeta, big},
		"20 tables deep":      {nested(20), big},
		"channel of 32":       {lua.LChannel(ch), 32 * channelItem},
		"sparse array":        {sparse, 3 << 20},
	} {
		s := &sizer{budget: 1 << 40, seen: map[*lua.LTable]struct{}{}}
		s.add(c.v, 0)
		if s.used < c.want {
			t.Errorf("%s: counted %d bytes, want %d at least", name, s.used, c.want)
		}
	}
}
