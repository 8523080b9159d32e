package engine

import (
	"context"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

const fibScript = `
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
function OnMessage(s, p) return tostring(fib(25)) end
`

// BenchmarkFib is a CPU-bound call, fib(25), through the engine (its deadline watched before every
// instruction), against bare gopher-lua on the same code: without a context (nothing watched) and
// with a plain cancellable context (the watch gopher-lua does, without msgscript's deadline). The
// difference between the last two is what msgscript's deadline adds; between the first bare one
// and the others, what gopher-lua's check of a context before every instruction costs.
func BenchmarkFib(b *testing.B) {
	b.Run("engine", func(b *testing.B) {
		p := newTestProgram(b, fibScript, nil, Options{})
		for b.Loop() {
			if out, err := p.OnMessage(context.Background(), "funcs.fib", nil); err != nil || out != "75025" {
				b.Fatal(out, err)
			}
		}
	})
	bare := func(b *testing.B, ctx context.Context) {
		L := lua.NewState()
		defer L.Close()
		if ctx != nil {
			L.SetContext(ctx)
		}
		if err := L.DoString(fibScript); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := L.CallByParam(lua.P{Fn: L.GetGlobal("OnMessage"), NRet: 1, Protect: true}); err != nil {
				b.Fatal(err)
			}
			L.Pop(1)
		}
	}
	b.Run("gopher-lua", func(b *testing.B) { bare(b, nil) })
	b.Run("gopher-lua+context", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		bare(b, ctx)
	})
}
