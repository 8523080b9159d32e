package luapattern

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// runaway backtracks over every way of cutting 5000 characters in seven, which would take
// longer than anyone waits.
const runaway = ".-.-.-.-.-.-.-b"

func TestDeadlineStopsMatcher(t *testing.T) {
	p, err := Compile(runaway)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	start, _, err := p.NewMatcher(ctx, strings.Repeat("a", 5000)).Find(0)
	t.Logf("stopped after %v: %v", time.Since(began), err)
	if err == nil || start >= 0 {
		t.Fatalf("got a result (%d) rather than an error", start)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "pattern matching stopped: ") {
		t.Fatalf("error %q", err)
	}
}

func TestDeadlineStopsLuaCall(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Install(L, Limits{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	L.SetContext(ctx)
	began := time.Now()
	err := L.DoString(`local ok, err = pcall(string.find, string.rep("a", 5000), "` + runaway + `")
		error(tostring(ok) .. " " .. tostring(err))`)
	t.Logf("stopped after %v: %v", time.Since(began), err)
	if err == nil || !strings.Contains(err.Error(), "pattern matching stopped: context deadline exceeded") {
		// The VM may notice the context first, once the call has returned: either way, the
		// match has ended.
		if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
			t.Fatalf("error %v", err)
		}
	}
}

// TestCancelStopsGmatchAndGsub: the iterations obey the context too, through every call.
func TestCancelStopsGmatchAndGsub(t *testing.T) {
	for _, code := range []string{
		`for a in string.gmatch(string.rep("a", 3000), "` + runaway + `") do end`,
		`string.gsub(string.rep("a", 3000), "` + runaway + `", "x")`,
		`string.gsub(string.rep("a", 3000), "` + runaway + `", function() end)`,
		`string.match(string.rep("(", 20000), string.rep("%b()", 3) .. "x")`,
	} {
		L := lua.NewState()
		Install(L, Limits{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		L.SetContext(ctx)
		err := L.DoString(code)
		cancel()
		L.Close()
		if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
			t.Errorf("%s: error %v", code, err)
		}
	}
}

// heapGrowth runs f and tells how many bytes were allocated meanwhile.
func heapGrowth(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestGsubResultBound(t *testing.T) {
	const max = 64 << 20
	L := lua.NewState()
	defer L.Close()
	Install(L, Limits{MaxResult: func() int { return max }})
	L.SetGlobal("s", lua.LString(strings.Repeat("x", 1e6)))
	L.SetGlobal("r", lua.LString(strings.Repeat("y", 1e4)))
	var err error
	grown := heapGrowth(func() { err = L.DoString(`string.gsub(s, ".", r)`) })
	t.Logf("allocated %d bytes; %v", grown, err)
	if err == nil || !strings.Contains(err.Error(), "string.gsub: the result would be over 67108864 bytes") {
		t.Fatalf("error %v", err)
	}
	if grown > 8<<20 {
		t.Fatalf("allocated %d bytes before refusing", grown)
	}
}

func TestGsubResultBoundFunction(t *testing.T) {
	const max = 4 << 20
	L := lua.NewState()
	defer L.Close()
	Install(L, Limits{MaxResult: func() int { return max }})
	L.SetGlobal("r", lua.LString(strings.Repeat("y", 1e4)))
	for _, code := range []string{
		`string.gsub(string.rep("x", 1e4), ".", function() return r end)`,
		`string.gsub(string.rep("x", 1e4), ".", {x = r})`,
		`string.gsub("x", ".", string.rep("y", 5 * 1024 * 1024))`,
		`string.gsub(string.rep("x", 3e6), ".", "%0%0")`,
		`string.gsub(string.rep("x", 5e6), "x", "x")`,
	} {
		var err error
		grown := heapGrowth(func() { err = L.DoString(code) })
		if err == nil || !strings.Contains(err.Error(), "string.gsub: the result would be over 4194304 bytes") {
			t.Errorf("%s: error %v", code, err)
		}
		t.Logf("%s: allocated %d bytes", code, grown)
	}
	// Within the bound, the result is built.
	if err := L.DoString(`local r, n = string.gsub(string.rep("ab", 1e6), "a", "%0%0")
		assert(n == 1e6 and #r == 3e6 and r:sub(1, 6) == "aabaab", n)`); err != nil {
		t.Fatal(err)
	}
	// No bound: as large as it takes.
	Install(L, Limits{MaxResult: func() int { return 0 }})
	if err := L.DoString(`local r, n = string.gsub(string.rep("x", 1e6), ".", "yyyyy")
		assert(n == 1e6 and #r == 5e6)`); err != nil {
		t.Fatal(err)
	}
}

// TestGsubLinear: a gsub with many matches over a large subject takes linear time; gopher-lua's
// copies the whole result once per match.
func TestGsubLinear(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Install(L, Limits{})
	began := time.Now()
	if err := L.DoString(`local r, n = string.gsub(string.rep("a b ", 250000), " ", "_")
		assert(n == 500000 and #r == 1e6)`); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestGmatchLazy(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Install(L, Limits{})
	L.SetGlobal("s", lua.LString(strings.Repeat("x", 50e6)))
	var err error
	grown := heapGrowth(func() {
		err = L.DoString(`local n = 0
			for m in string.gmatch(s, "") do
				assert(m == "")
				n = n + 1
				if n == 3 then break end
			end
			assert(n == 3)`)
	})
	t.Logf("allocated %d bytes", grown)
	if err != nil {
		t.Fatal(err)
	}
	if grown > 4<<20 {
		t.Fatalf("allocated %d bytes for 3 matches", grown)
	}
}

func TestDepthBound(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Install(L, Limits{})
	for _, code := range []string{
		`string.match(string.rep("a", 6000), string.rep("a?", 6000) .. string.rep("a", 6000))`,
		`string.find("a", string.rep("a-", 5000) .. "b")`,
		`string.gsub("aaa", string.rep("(a*)", 4000) .. "x", "")`,
		`for a in string.gmatch("ab", string.rep(".?", 10000) .. "$$") do end`,
	} {
		err := L.DoString(code)
		if err == nil || !strings.Contains(err.Error(), "pattern too complex") {
			t.Errorf("%.60s...: error %v", code, err)
		}
	}
	// Up to the bound, matching works, however deep it goes.
	if err := L.DoString(`local n = ` + itoa(MaxDepth-1) + `
		local s, e = string.find(string.rep("a", n) .. "b", string.rep("a?", n) .. "b")
		assert(s == 1 and e == n + 1, s)
		s, e = string.find(string.rep("a", n), string.rep("a-", n) .. "$")
		assert(s == 1 and e == n, s)`); err != nil {
		t.Fatal(err)
	}
}

// TestNestedCaptures: captures cost the matcher no recursion, so a thousand nested ones work,
// as in gopher-lua (C Lua refuses more than 32).
func TestNestedCaptures(t *testing.T) {
	p := newPair(t)
	for _, expr := range []string{
		`select('#', string.match("a", string.rep("(", 1000) .. "a" .. string.rep(")", 1000)))`,
		`string.match("xay", string.rep("(", 1000) .. "a" .. string.rep(")", 1000))`,
		`string.find("xay", string.rep("(", 300) .. "a" .. string.rep(")", 300))`,
		`select('#', string.match("a", string.rep("(", 100000) .. "a" .. string.rep(")", 100000)))`,
	} {
		orig, mine := normalize(eval(t, p.orig, expr)), normalize(eval(t, p.mine, expr))
		if orig != mine && !strings.Contains(orig, "too complex") {
			t.Errorf("%s\n  gopher-lua: %.200s\n  luapattern: %.200s", expr, orig, mine)
		}
	}
}

func itoa(n int) string { return strings.TrimSpace(lua.LNumber(n).String()) }

// TestConcurrentStates: states in goroutines of their own share the compiled patterns of the
// cache; run with -race.
func TestConcurrentStates(t *testing.T) {
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func(g int) {
			L := lua.NewState()
			defer L.Close()
			Install(L, Limits{MaxResult: func() int { return 1 << 20 }})
			done <- L.DoString(`
				for i = 1, 200 do
					local k, v = string.match("key` + itoa(g) + ` = value", "(%w+)%s*=%s*(%w+)")
					assert(k == "key` + itoa(g) + `" and v == "value")
					local r, n = string.gsub("a b c " .. i, "%s+", "_")
					assert(n == 3)
					local c = 0
					for w in string.gmatch("one two three", "%a+") do c = c + 1 end
					assert(c == 3)
					assert(string.find("x" .. i, "%d+") == 2)
					string.match("p" .. (i % 300), "p(%d+)")
				end`)
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestGsubSized: past sizeCheckAt, with a bound, gsub sizes its whole result and builds it at
// once; the result is the one built without a bound.
func TestGsubSized(t *testing.T) {
	var want strings.Builder
	for i := 0; i < 300000; i++ {
		want.WriteString("a")
		want.WriteString(lua.LNumber(2*i + 2).String())
		want.WriteString("<b>")
	}
	for _, max := range []int{0, 64 << 20} {
		L := lua.NewState()
		Install(L, Limits{MaxResult: func() int { return max }})
		if err := L.DoString(`r1, n1 = string.gsub(string.rep("ab", 300000), "()(b)", "%1<%2>")
			r2, n2 = string.gsub(string.rep("ab ", 300000), "(%w+) ", "[%0%1]", 200000)`); err != nil {
			t.Fatal(err)
		}
		if r := lua.LVAsString(L.GetGlobal("r1")); r != want.String() || L.GetGlobal("n1").String() != "300000" {
			t.Errorf("bound %d: %d bytes, %s matches", max, len(r), L.GetGlobal("n1"))
		}
		r2 := lua.LVAsString(L.GetGlobal("r2"))
		if len(r2) != 200000*7+100000*3 || !strings.HasPrefix(r2, "[ab ab][ab ab]") || !strings.HasSuffix(r2, "ab ab ab ") || strings.Index(r2, "]ab ") != 200000*7-1 {
			t.Errorf("bound %d: %d bytes, %.20q...%q", max, len(r2), r2, r2[len(r2)-20:])
		}
		L.Close()
	}
}
