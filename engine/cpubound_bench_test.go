package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/luaenv"
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

// jsonScript decodes the payload, sums the numbers of its items and encodes a reply: the work of a
// webhook handler on a 10 KB body.
const jsonScript = `
local json = require("json")
function OnMessage(s, p)
  local doc = json.decode(p)
  local sum = 0
  for _, it in ipairs(doc.items) do sum = sum + it.n end
  return json.encode({count = #doc.items, sum = sum})
end
`

// BenchmarkJSON10KB is jsonScript on a 10 KB document through the engine (with the json module,
// as the server has it), against the same work in plain Go with encoding/json.
func BenchmarkJSON10KB(b *testing.B) {
	type item struct {
		N    int    `json:"n"`
		Name string `json:"name"`
	}
	var doc struct {
		Items []item `json:"items"`
	}
	for i := range 380 { // 10.4 KB
		doc.Items = append(doc.Items, item{N: i, Name: fmt.Sprintf("item %d", i)})
	}
	payload, err := json.Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("engine", func(b *testing.B) {
		preload, err := luaenv.New(luaenv.Policy{}, luaenv.Services{})
		if err != nil {
			b.Fatal(err)
		}
		p := newTestProgram(b, jsonScript, nil, Options{Preload: []Preloader{preload}})
		for b.Loop() {
			if _, err := p.OnMessage(context.Background(), "funcs.json", payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			var d struct {
				Items []item `json:"items"`
			}
			if err := json.Unmarshal(payload, &d); err != nil {
				b.Fatal(err)
			}
			sum := 0
			for _, it := range d.Items {
				sum += it.N
			}
			if _, err := json.Marshal(map[string]int{"count": len(d.Items), "sum": sum}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
