package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/store"
)

func newTestProgram(t testing.TB, script string, lib map[string]string, opts Options) *Program {
	t.Helper()
	code, err := Compile(Source{Origin: "s.lua", Text: []byte(script)}, libs(lib))
	if err != nil {
		t.Fatal(err)
	}
	o := opts.withDefaults()
	p := newProgram("funcs.test", "test", store.Item{Origin: "s.lua", Source: []byte(script)}, code, &o, &counters{})
	t.Cleanup(p.Close)
	return p
}

func onMessage(t *testing.T, p *Program, payload string) string {
	t.Helper()
	out, err := p.OnMessage(context.Background(), "funcs.test", []byte(payload))
	if err != nil {
		t.Fatalf("OnMessage(%q): %v", payload, err)
	}
	return out
}

func callError(t *testing.T, p *Program, payload string) *CallError {
	t.Helper()
	_, err := p.OnMessage(context.Background(), "funcs.test", []byte(payload))
	var ce *CallError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a CallError", err)
	}
	return ce
}

const hello = `--* subject: funcs.hello
--* name: hello
function OnMessage(subject, payload)
    return "Processed subject: " .. subject .. " with payload: " .. payload
end
`

func TestOnMessage(t *testing.T) {
	p := newTestProgram(t, hello, nil, Options{})
	if got := onMessage(t, p, "John"); got != "Processed subject: funcs.test with payload: John" {
		t.Fatalf("got %q", got)
	}
	// Bodies are raw bytes, not UTF-8 text.
	p2 := newTestProgram(t, "function OnMessage(s, p) return tostring(#p) .. ':' .. p:byte(1) end", nil, Options{})
	if got := onMessage(t, p2, "\x00\xff"); got != "2:0" {
		t.Fatalf("got %q", got)
	}
}

func TestOnMessageReturnValues(t *testing.T) {
	cases := map[string]string{"return 42": "42", "return nil": "", "": "", "return 'a', 'b'": "a"}
	for body, want := range cases {
		p := newTestProgram(t, "function OnMessage() "+body+" end", nil, Options{})
		if got := onMessage(t, p, ""); got != want {
			t.Errorf("%s: got %q, want %q", body, got, want)
		}
	}
	p := newTestProgram(t, "function OnMessage() return {} end", nil, Options{})
	if ce := callError(t, p, ""); !strings.Contains(ce.Msg, "returned a table") {
		t.Fatalf("got %q", ce.Msg)
	}
	p = newTestProgram(t, "function Other() end", nil, Options{})
	if ce := callError(t, p, ""); !strings.Contains(ce.Msg, "no OnMessage") {
		t.Fatalf("got %q", ce.Msg)
	}
}

func TestRuntimeErrorPointsAtItsOwnLine(t *testing.T) {
	lib := map[string]string{"util": "-- util\nfunction explode()\n  error('from the library')\nend\n"}
	p := newTestProgram(t, "--* require: util\n\nfunction OnMessage(s, p)\n  if p == 'lib' then explode() end\n  error('from the script')\nend\n", lib, Options{})
	if ce := callError(t, p, "script"); !strings.HasPrefix(ce.Msg, "s.lua:5: from the script") || ce.Code() != 500 {
		t.Fatalf("got %q (code %d)", ce.Msg, ce.Code())
	}
	if ce := callError(t, p, "lib"); !strings.HasPrefix(ce.Msg, "libs/util.lua:3: from the library") {
		t.Fatalf("got %q", ce.Msg)
	}
	// A library's top-level locals are visible to the script, as when the original prepended
	// the text.
	lib = map[string]string{"loc": "local secret = 'shared'\n"}
	p = newTestProgram(t, "--* require: loc\nfunction OnMessage() return secret end\n", lib, Options{})
	if got := onMessage(t, p, ""); got != "shared" {
		t.Fatalf("got %q", got)
	}
}

func TestGlobalsDoNotLeakBetweenCalls(t *testing.T) {
	p := newTestProgram(t, `
counter = counter or 0
function OnMessage(s, payload)
    counter = counter + 1
    if payload == "set" then
        leaked = "yes"
        _G.viaG = "yes"
        getfenv(print).viaGetfenv = "yes"
        getfenv(0).viaLevel0 = "yes"
        rawset(_G, "viaRawset", "yes")
        pcall(function() setmetatable(_G, nil) end)
        pcall(function() getmetatable(_G).__index.viaMeta = "yes" end)
        loadstring("viaLoadstring = 'yes'")()
        local ok = pcall(require, "_G")
        if ok then require("_G").viaRequire = "yes" end
        return tostring(counter)
    end
    return table.concat({tostring(counter), tostring(leaked), tostring(viaG), tostring(viaGetfenv),
        tostring(viaLevel0), tostring(viaRawset), tostring(viaMeta), tostring(viaRequire), tostring(viaLoadstring)}, ",")
end
`, nil, Options{PoolSize: 1})
	if got := onMessage(t, p, "set"); got != "1" {
		t.Fatalf("first call: %q", got)
	}
	if p.pool.size() != 1 {
		t.Fatalf("the state was not returned to the pool")
	}
	want := "1,nil,nil,nil,nil,nil,nil,nil,nil"
	if got := onMessage(t, p, "get"); got != want {
		t.Fatalf("second call on the same state saw %q, want %q", got, want)
	}
}

// States are per script version: a script that rewrites string.upper only affects itself.
func TestScriptsDoNotShareStates(t *testing.T) {
	evil := newTestProgram(t, `function OnMessage() string.upper = function() return "pwned" end; return "" end`, nil, Options{})
	victim := newTestProgram(t, `function OnMessage(s, p) return string.upper(p) .. ("x"):upper() end`, nil, Options{})
	onMessage(t, evil, "")
	if got := onMessage(t, victim, "abc"); got != "ABCX" {
		t.Fatalf("victim got %q", got)
	}
}

func TestEndlessLoopMissesItsDeadline(t *testing.T) {
	p := newTestProgram(t, "--* timeout: 50ms\nfunction OnMessage(s, p)\n  if p == 'loop' then while true do end end\n  return 'ok'\nend\n", nil, Options{PoolSize: 1})
	onMessage(t, p, "warm")
	ce := callError(t, p, "loop")
	if !ce.Timeout || ce.Code() != 504 || !strings.Contains(ce.Msg, "timed out after 50ms") {
		t.Fatalf("got %+v (code %d)", ce, ce.Code())
	}
	if p.pool.size() != 0 {
		t.Fatal("the state that missed its deadline went back to the pool")
	}
	if got := onMessage(t, p, "again"); got != "ok" {
		t.Fatalf("after the timeout: %q", got)
	}
	if p.pool.size() != 1 {
		t.Fatal("the pool does not serve any more")
	}
}

func TestDefaultTimeoutApplies(t *testing.T) {
	p := newTestProgram(t, "function OnMessage() while true do end end", nil, Options{Timeout: 30 * time.Millisecond})
	if ce := callError(t, p, ""); !ce.Timeout {
		t.Fatalf("got %+v", ce)
	}
}

func TestGoPanicBecomesTheScriptsError(t *testing.T) {
	boom := func(L *lua.LState) {
		L.SetGlobal("boom", L.NewFunction(func(L *lua.LState) int {
			var m map[string]int
			m["x"] = 1 // a real Go runtime panic
			return 0
		}))
	}
	p := newTestProgram(t, "function OnMessage(s, p) if p == 'boom' then boom() end return 'fine' end", nil,
		Options{PoolSize: 1, Preload: []Preloader{boom}})
	onMessage(t, p, "warm")
	ce := callError(t, p, "boom")
	if !strings.Contains(ce.Msg, "panic") || !strings.Contains(ce.Msg, "nil map") {
		t.Fatalf("got %q", ce.Msg)
	}
	if p.pool.size() != 0 {
		t.Fatal("a state that saw a Go panic went back to the pool")
	}
	if got := onMessage(t, p, "again"); got != "fine" {
		t.Fatalf("after the panic: %q", got)
	}
}

func TestOsExitDoesNotEndTheProcess(t *testing.T) {
	p := newTestProgram(t, "function OnMessage() os.exit(3) end", nil, Options{})
	if ce := callError(t, p, ""); !strings.Contains(ce.Msg, "os.exit is not available") {
		t.Fatalf("got %q", ce.Msg)
	}
	// Still here: the test binary did not exit with status 3.
	p = newTestProgram(t, "function OnMessage() os.setenv('MSGSCRIPT_TEST_SETENV', 'x') end", nil, Options{})
	if ce := callError(t, p, ""); !strings.Contains(ce.Msg, "os.setenv is not available") || os.Getenv("MSGSCRIPT_TEST_SETENV") != "" {
		t.Fatalf("os.setenv: %q", ce.Msg)
	}
	p = newTestProgram(t, "function OnMessage() return tostring(collectgarbage('count')) .. tostring(debug.setmetatable) end", nil, Options{})
	if got := onMessage(t, p, ""); got != "0nil" {
		t.Fatalf("got %q", got)
	}
}

func TestErrorsAreReusable(t *testing.T) {
	p := newTestProgram(t, "function OnMessage() error('plain') end", nil, Options{PoolSize: 1})
	callError(t, p, "")
	if p.pool.size() != 1 {
		t.Fatal("an ordinary Lua error should not cost the state")
	}
}

func TestConcurrentCallsUseSeparateStates(t *testing.T) {
	p := newTestProgram(t, `function OnMessage(s, payload) local n = tonumber(payload); local t = 0; for i = 1, 1000 do t = t + n end; return tostring(t / 1000) end`, nil, Options{PoolSize: 4})
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				want := i*100 + j
				got, err := p.OnMessage(context.Background(), "x", []byte(strings.TrimSpace(itoa(want))))
				if err != nil || got != itoa(want) {
					t.Errorf("got %q, %v; want %d", got, err, want)
				}
			}
		}()
	}
	wg.Wait()
	if n := p.pool.size(); n > 4 {
		t.Fatalf("pool holds %d idle states, bound is 4", n)
	}
}

func itoa(n int) string { return lua.LNumber(n).String() }
