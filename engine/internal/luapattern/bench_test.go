package luapattern

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// The benchmarks call string.find, string.match, string.gsub and string.gmatch as a script
// would, through the VM, on a plain gopher-lua state (gopher-lua) and on one with this
// package's functions (luapattern), for the common uses.

var (
	// text1K is a kilobyte of prose with some digits, spaces and newlines.
	text1K = func() string {
		var b strings.Builder
		for b.Len() < 1024 {
			b.WriteString("The quick brown fox jumps over  the lazy dog\n\tat 12:45, then   sleeps. ")
		}
		return b.String()[:1024]
	}()
	// line100 is a hundred-byte request line.
	line100 = "GET /api/v1/users/12345/orders?limit=20&offset=40&sort=desc HTTP/1.1 Host: example.org 200 OK x-id 77"
)

const benchPrelude = `
function words(s)
  local n = 0
  for w in s:gmatch("%a+") do n = n + 1 end
  return n
end
`

func benchStates(b *testing.B) map[string]*lua.LState {
	states := map[string]*lua.LState{"gopher-lua": lua.NewState(), "luapattern": lua.NewState()}
	Install(states["luapattern"], Limits{MaxResult: func() int { return 64 << 20 }})
	for _, L := range states {
		if err := L.DoString(benchPrelude); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for _, L := range states {
			L.Close()
		}
	})
	return states
}

// benchCall calls fn (a field of string, or a global function) with args, b.N times, in each
// state, checking first that both give the same results.
func benchCall(b *testing.B, fn string, args ...lua.LValue) {
	states := benchStates(b)
	var want string
	for _, impl := range []string{"gopher-lua", "luapattern"} {
		L := states[impl]
		f := L.GetField(L.GetGlobal("string"), fn)
		if f == lua.LNil {
			f = L.GetGlobal(fn)
		}
		call := func() {
			if err := L.CallByParam(lua.P{Fn: f, NRet: lua.MultRet, Protect: true}, args...); err != nil {
				b.Fatal(err)
			}
		}
		call()
		var got []string
		for i := 1; i <= L.GetTop(); i++ {
			got = append(got, L.Get(i).String())
		}
		L.SetTop(0)
		if impl == "gopher-lua" {
			want = strings.Join(got, ",")
		} else if g := strings.Join(got, ","); g != want {
			b.Fatalf("gopher-lua gives %q, luapattern %q", want, g)
		}
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				call()
				L.SetTop(0)
			}
		})
	}
}

func BenchmarkFindPlain(b *testing.B) {
	benchCall(b, "find", lua.LString(text1K), lua.LString("sleeps. The"), lua.LNumber(900), lua.LTrue)
}

func BenchmarkFindClass(b *testing.B) {
	benchCall(b, "find", lua.LString(line100), lua.LString("%d+"))
}

func BenchmarkFindLiteral(b *testing.B) {
	benchCall(b, "find", lua.LString(text1K), lua.LString("sleeps"), lua.LNumber(900))
}

func BenchmarkMatchCaptures(b *testing.B) {
	benchCall(b, "match", lua.LString(line100), lua.LString("^(%u+)%s+([^%s?]+)%??(%S*)%s+HTTP/(%d)%.(%d)"))
}

func BenchmarkMatchTrim(b *testing.B) {
	benchCall(b, "match", lua.LString("   "+line100+"   "), lua.LString("^%s*(.-)%s*$"))
}

func BenchmarkGsubSpaces(b *testing.B) {
	benchCall(b, "gsub", lua.LString(text1K), lua.LString("%s+"), lua.LString(" "))
}

func BenchmarkGsubFunction(b *testing.B) {
	states := benchStates(b)
	for _, L := range states {
		if err := L.DoString(`upper = function(w) return w:upper() end`); err != nil {
			b.Fatal(err)
		}
	}
	// The function is a global of each state: pass it by name through a wrapper.
	for _, L := range states {
		if err := L.DoString(`function gsubupper(s) return string.gsub(s, "%a+", upper) end`); err != nil {
			b.Fatal(err)
		}
	}
	benchGlobal(b, states, "gsubupper", lua.LString(text1K))
}

func BenchmarkGmatchWords(b *testing.B) {
	benchCall(b, "words", lua.LString(text1K))
}

// benchGlobal is benchCall for a global function defined in states.
func benchGlobal(b *testing.B, states map[string]*lua.LState, fn string, args ...lua.LValue) {
	for _, impl := range []string{"gopher-lua", "luapattern"} {
		L := states[impl]
		f := L.GetGlobal(fn)
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if err := L.CallByParam(lua.P{Fn: f, NRet: lua.MultRet, Protect: true}, args...); err != nil {
					b.Fatal(err)
				}
				L.SetTop(0)
			}
		})
	}
}
