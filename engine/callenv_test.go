package engine

import (
	"testing"
)

// Which top levels run once per state: only those that define, and whose functions never assign
// to one of its locals.
func TestKeepsTopLevel(t *testing.T) {
	cases := []struct {
		top  string
		keep bool
	}{
		{"function OnMessage(s, p) return p end", true},
		{"local json = require('json')\nlocal fmt = string.format\nlocal LIMIT, NAME = 10, 'x'\nlocal function helper(x) return fmt('%s', x) end\nfunction OnMessage(s, p) local t = {} t.n = LIMIT return helper(p) .. json.encode(t) end\nOnPost = function() end", true},
		{"function OnMessage(s, p) local n = 0 local function inc() n = n + 1 end inc() return n end", true}, // its own local
		{"flag = true\nnothing = nil\nfunction OnMessage() return tostring(flag) end", true},
		{"local n = 0\nfunction OnMessage() n = n + 1 return n end", false},                                // counts across calls
		{"local n = 0\nfunction OnMessage() local function inc() n = n + 1 end inc() return n end", false}, // the same, one level down
		{"local n = 0\nfunction OnMessage() return function() return function() n = 1 end end end", false}, // two levels down
		{"local cache = {}\nfunction OnMessage(s, p) cache[p] = true end", false},                          // a table of its own
		{"counter = counter or 0\nfunction OnMessage() end", false},                                        // a branch
		{"print('loading')\nfunction OnMessage() end", false},                                              // a call other than require
		{"local seed = math.random()\nfunction OnMessage() return seed end", false},                        // the same
		{"local m = require(name)\nfunction OnMessage() end", false},                                       // require of a variable
		{"require = function() return {} end\nlocal m = require('x')\nfunction OnMessage() end", false},    // not the real require
		{"local prefix = 'a' .. 'b'\nfunction OnMessage() return prefix end", false},                       // a concatenation
		{"for i = 1, 3 do end\nfunction OnMessage() end", false},                                           // a loop
		{"function M.f() end", false},                                       // writes into a table
		{"do return end\nfunction OnMessage() end", false},                  // returns early
		{"local x = {1, 2}\nfunction OnMessage() return #x end", false},     // a table
		{"local ok = true and false\nfunction OnMessage() end", false},      // a condition
		{"local t = setmetatable({}, {})\nfunction OnMessage() end", false}, // a call and tables
	}
	for _, c := range cases {
		code, err := Compile(Source{Origin: "s.lua", Text: []byte(c.top)}, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.top, err)
		}
		if code.keepTopLevel != c.keep {
			t.Errorf("keepTopLevel = %v, want %v for:\n%s", code.keepTopLevel, c.keep, c.top)
		}
	}
}

// A script whose top level is kept runs it once per state, and still finds it as defined on every
// call: whatever a call does to the globals is undone.
func TestKeptTopLevelIsAsDefinedForEveryCall(t *testing.T) {
	p := newTestProgram(t, `
local str = require("string")
local function describe()
    return table.concat({tostring(leaked), tostring(viaG), tostring(viaRawset), tostring(viaLoadstring),
        tostring(viaLevel0), tostring(_G[1]), Helper(), tostring(getfenv(OnMessage) == _G),
        tostring(Greeting)}, ",")
end
Greeting = "hi"
function Helper() return Greeting and "helper" or "no globals" end
function OnMessage(subject, payload)
    if payload == "set" then
        leaked = "yes"
        _G.viaG = "yes"
        rawset(_G, "viaRawset", "yes")
        loadstring("viaLoadstring = 'yes'")()
        getfenv(0).viaLevel0 = "yes"
        Greeting = "changed"
        Helper = function() return "replaced" end
        OnMessage = nil
        return "set"
    end
    if payload == "index" then
        _G[1] = "yes"
        return "index"
    end
    if payload == "setfenv" then
        setfenv(Helper, {})
        return "setfenv"
    end
    return describe()
end
`, nil, Options{PoolSize: 1})
	clean := "nil,nil,nil,nil,nil,nil,helper,true,hi"
	if got := onMessage(t, p, "get"); got != clean {
		t.Fatalf("first call: %q", got)
	}
	if st := p.pool.get(); st.kept == nil {
		t.Fatal("the top level was not kept")
	} else {
		p.pool.put(st)
	}
	for _, payload := range []string{"set", "set", "index", "setfenv", "set"} {
		if got := onMessage(t, p, payload); got != payload {
			t.Fatalf("%s: %q", payload, got)
		}
		if got := onMessage(t, p, "get"); got != clean {
			t.Fatalf("after a call that did %q, the next saw %q, want %q", payload, got, clean)
		}
	}
	if p.pool.size() != 1 {
		t.Fatal("the state was not kept in the pool")
	}
}

// A top level that does more than define runs on every call, as before: its locals start afresh.
func TestTopLevelWithStateRunsForEveryCall(t *testing.T) {
	for _, top := range []string{
		"local n = 0\nfunction OnMessage() n = n + 1 return tostring(n) end",
		"local n = 0\nfunction OnMessage() local function inc() n = n + 1 end inc() return tostring(n) end",
		"local seen = {}\nfunction OnMessage(s, p) seen[#seen + 1] = p return tostring(#seen) end",
	} {
		p := newTestProgram(t, top, nil, Options{PoolSize: 1})
		for range 3 {
			if got := onMessage(t, p, "x"); got != "1" {
				t.Fatalf("%s\n: a later call saw %q, want 1", top, got)
			}
		}
	}
}

// A call that gives the environment a key of its own, even one it removes again, has it replaced:
// gopher-lua's tables keep the place of every key they held, which next() reveals and which would
// grow without end with new names.
func TestEnvironmentKeepsNoTraceOfACallsGlobals(t *testing.T) {
	p := newTestProgram(t, `
function OnMessage(s, p)
    if p == "set" then secret = 1 return "set" end
    if p == "setclear" then for i = 1, 100 do local k = "k" .. i; _G[k] = true; _G[k] = nil end return "setclear" end
    return tostring((next(_G, "secret"))) .. "," .. tostring((next(_G, "k1")))
end
`, nil, Options{PoolSize: 1})
	clean := onMessage(t, p, "get")
	if clean != "OnMessage,OnMessage" {
		t.Fatalf("first call: %q", clean) // next() from an unknown key starts again from the first
	}
	st := p.pool.get()
	p.pool.put(st)
	for _, payload := range []string{"set", "setclear"} {
		before := st.globals
		onMessage(t, p, payload)
		if st.globals == before {
			t.Errorf("%s: the environment was kept", payload)
		}
		if got := onMessage(t, p, "get"); got != clean {
			t.Fatalf("after %s the next call saw %q, want %q", payload, got, clean)
		}
	}
	before := st.globals
	onMessage(t, p, "get")
	if st.globals != before {
		t.Error("a call that set no global of its own had the environment replaced")
	}
}

// A top level that sets a global and removes it again leaves its key in the environment, which a
// call can then set without changing what the environment holds: such a top level runs again for
// every call, so no call finds the value of the one before.
func TestTopLevelThatRemovedAGlobalRunsForEveryCall(t *testing.T) {
	p := newTestProgram(t, `
tmp = 1
tmp = nil
function OnMessage(s, p) local prev = tmp; tmp = p; return tostring(prev) end
`, nil, Options{PoolSize: 1})
	for _, payload := range []string{"one", "two", "three"} {
		if got := onMessage(t, p, payload); got != "nil" {
			t.Fatalf("call %s found %q left by the call before", payload, got)
		}
	}
}

// The base globals have no _G: a call that removed its environment's would otherwise write into
// them, for every later call to read.
func TestBaseGlobalsAreOutOfReach(t *testing.T) {
	p := newTestProgram(t, `
function OnMessage(s, p)
    if p == "nil" then _G = nil; pcall(function() _G.leak = "yes" end) return "nil" end
    if p == "rawset" then rawset(_G, "_G", nil); pcall(function() _G.leak = "yes" end) return "rawset" end
    if p == "seeall" then local t = {}; package.seeall(t); pcall(function() t._G.leak = "yes" end) return "seeall" end
    return tostring(leak)
end
`, nil, Options{PoolSize: 1})
	for _, payload := range []string{"nil", "rawset", "seeall"} {
		onMessage(t, p, payload)
		if got := onMessage(t, p, "get"); got != "nil" {
			t.Fatalf("after %s a later call read %q", payload, got)
		}
	}
	// A top level that sets _G itself runs for every call, so _G is what it set.
	q := newTestProgram(t, "_G = 'five'\nfunction OnMessage() return tostring(_G) end\n", nil, Options{PoolSize: 1})
	for range 2 {
		if got := onMessage(t, q, ""); got != "five" {
			t.Fatalf("_G is %q, want five", got)
		}
	}
}
