package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/luaenv"
)

// What one call does to the libraries, the string metatable and the modules it requires is gone
// for the next call on the same state; within the call, it works as Lua says.
func TestLibrariesAreAsLoadedForEveryCall(t *testing.T) {
	preload, err := luaenv.New(luaenv.Policy{}, luaenv.Services{})
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProgram(t, `
function OnMessage(s, payload)
    if payload == "warm" then -- modules loaded after a write to package.* would cost the state
        require("json") require("re") require("strings")
        return "warm"
    end
    if payload == "raw" then -- writes that no __newindex sees
        rawset(string, "rawleak", 1)
        table.insert(math, "inserted")
        return "raw"
    end
    if payload == "set" then
        getmetatable("").__index.upper = function() return "pwned" end
        function string.trim(s) return (s:gsub("^%s+", "")) end
        string.leak = 1
        rawset(string, "rawleak", 1)
        table.insert(math, "inserted")
        table.insert = nil
        math.pi = 3
        getmetatable("").__add = function() return "added" end
        package.loaded.json = {encode = function() return "evil" end}
        package.preload.fake = function() return "fake" end
        package.path = "/etc/?"
        require("re").find = function() return "evil re" end
        require("strings")
        package.loaded.strings.split = function() return "evil split" end
        return ("x"):upper() .. " " .. ("  a"):trim() .. " " .. string.leak .. " " .. math.pi .. " " .. require("json").encode({})
    end
    return table.concat({("x"):upper(), tostring(string.trim), tostring(string.leak), tostring(rawget(string, "rawleak")),
        type(table.insert), tostring(math.pi > 3), tostring(getmetatable("").__add), require("json").encode({}),
        tostring(package.preload.fake), package.path, tostring(require("re").find("abc", "b")),
        tostring(require("strings").split("a,b", ",")[2]), tostring(math[1])}, " ")
end
`, nil, Options{PoolSize: 1, Preload: []Preloader{preload}})
	onMessage(t, p, "warm")
	if got := onMessage(t, p, "set"); got != "pwned a 1 3 evil" {
		t.Fatalf("within the call: %q", got)
	}
	if p.pool.size() != 1 {
		t.Fatal("the state was not returned to the pool")
	}
	want := "X nil nil nil function true nil [] nil  2 b nil"
	if got := onMessage(t, p, "get"); got != want {
		t.Fatalf("the next call on the same state saw %q, want %q", got, want)
	}
	onMessage(t, p, "raw")
	if got := onMessage(t, p, "get"); got != want {
		t.Fatalf("after raw writes, the next call saw %q, want %q", got, want)
	}
}

// What a call reaches past the proxies (the base globals through module(), a module's nested
// tables, the metatables of its objects, its functions' environments, package.preload) cannot
// change what a later call finds: each attack below, on a state of its own, then every check.
func TestSharedTablesCannotBePoisoned(t *testing.T) {
	preload, err := luaenv.New(luaenv.Policy{}, luaenv.Services{})
	if err != nil {
		t.Fatal(err)
	}
	evil := `function() return "POISONED" end`
	attacks := []string{
		`module("_G").tostring = ` + evil,
		`setmetatable(module("string.format"), {__call = ` + evil + `})`,
		`module("persist")`,
		`package.preload.json = function() return {encode = ` + evil + `} end; require("json")`,
		`getmetatable(channel.make()).__index.leak = "POISONED"`,
		`require("strings").Builder.leak = "POISONED"`,
		`require("inspect").KEY.leak = "POISONED"`,
		`getfenv(require("luamod").show).tostring = ` + evil,
		`setfenv(require("luamod").show, {tostring = ` + evil + `})`,
		`tostring = ` + evil + `; require("luamod")`,        // a module loaded with the call's globals
		`require("template") template_ud.leak = "POISONED"`, // a global a module sets as it loads
		// gopher-lua makes the string library, and the metatables of files and channels, their
		// own __index: read by name, it was the real table.
		`string.__index.leak = "POISONED"`,
		`("").__index.upper = ` + evil,
		`io.stdout.__index.leak = "POISONED"`,
		`channel.make().__index.leak = "POISONED"`,
		// What a module hands out or keeps past the proxies.
		`package.seeall(require("json").decode('{"a": 1}'))`,
		`require("inspect").inspect({a = 1}, {process = function(item, path)
			for _, k in ipairs(path) do if type(k) == "table" then rawset(k, "leak", "POISONED") end end
			return item end})`,
		`require("loglevel").set_level("DEBUG")`,
		// Go code setting a metatable past __metatable: the proxies then kept what was written.
		`require("json").tableIsObject(string); string.leak = "POISONED"`,
		`require("json").tableIsObject(package.loaded); package.loaded.leakmod = "POISONED"`,
	}
	checks := `return table.concat({tostring(1), string.format("%s", "a"), tostring(persist),
		require("json").encode({}), tostring(channel.make().leak), tostring(require("strings").Builder.leak),
		tostring(require("inspect").KEY.leak), require("luamod").show(1), require("luamod").captured(1),
		tostring(template_ud and template_ud.leak), tostring(string.leak), ("a"):upper(), tostring(io.stdout.leak),
		type(io.stdout.write), type(channel.make().receive), tostring(require("json").decode('{"a": 1}').print),
		inspected(), require("loglevel").get_level(), tostring(package.loaded.leakmod)}, " ")`
	const want = "1 a nil [] nil nil nil 1 1 nil nil A nil function function nil nil INFO nil"
	// luamod is a module written in Lua, whose functions read globals when called (show) or
	// when loaded (captured).
	luamod := func(L *lua.LState) {
		L.PreloadModule("luamod", func(L *lua.LState) int {
			if err := L.DoString(`local ts = tostring
				return {show = function(x) return tostring(x) end, captured = function(x) return ts(x) end}`); err != nil {
				L.RaiseError("%v", err)
			}
			return 1
		})
	}
	// inspected is what a process callback of inspect finds written into the tables it is given.
	script := `local function inspected()
	local found = "nil"
	require("inspect").inspect({a = 1}, {process = function(item, path)
		for _, k in ipairs(path) do if type(k) == "table" and rawget(k, "leak") then found = rawget(k, "leak") end end
		return item end})
	return found
end
`
	script += "function OnMessage(s, p)\n  if p == 'check' then " + checks + " end\n"
	for i, a := range attacks {
		script += fmt.Sprintf("  if p == '%d' then %s return 'done' end\n", i, a)
	}
	script += "end\n"
	if got := onMessage(t, newTestProgram(t, script, nil, Options{Preload: []Preloader{preload, luamod}}), "check"); got != want {
		t.Fatalf("without an attack: %q", got)
	}
	for i, a := range attacks {
		// A state of its own, where the attack is the first call (and loads the modules).
		p := newTestProgram(t, script, nil, Options{PoolSize: 1, Preload: []Preloader{preload, luamod}})
		if _, err := p.OnMessage(context.Background(), "funcs.test", []byte(fmt.Sprint(i))); err != nil {
			t.Logf("%s: %v", a, err) // refusing is fine too
		}
		if got := onMessage(t, p, "check"); got != want {
			t.Errorf("after %s: %q, want %q", a, got, want)
		}
	}
}

// A script writing new names into a library on every call does not grow its state without end:
// past a bound of names the state is replaced (gopher-lua's tables keep every key they held).
func TestLibraryWritesOfNewNamesAreBounded(t *testing.T) {
	p := newTestProgram(t, `function OnMessage(s, p) for i = 1, 10 do string["k" .. p .. "_" .. i] = true end return tostring(string["k0_1"]) end`, nil, Options{PoolSize: 1})
	st := p.pool.get()
	p.pool.put(st)
	replaced := false
	for i := range 20 {
		if got := onMessage(t, p, fmt.Sprint(i)); got != "nil" && i > 0 {
			t.Fatalf("call %d saw an earlier call's write: %q", i, got)
		}
		next := p.pool.get()
		p.pool.put(next)
		if next != st {
			replaced = true
			break
		}
	}
	if !replaced {
		t.Fatal("200 names written into string and the state was kept")
	}
}

// setmetatable takes only tables, as in Lua 5.1: gopher-lua would set the metatable every number,
// boolean, function or coroutine of the state shares, or that of io.stdout, for later calls too.
func TestSetmetatableTakesOnlyTables(t *testing.T) {
	p := newTestProgram(t, `
function OnMessage(s, p)
    local targets = {number = 0, boolean = true, ["function"] = print, thread = coroutine.create(print), stdout = io.stdout}
    if targets[p] ~= nil then
        local ok, err = pcall(setmetatable, targets[p], {__index = function() return "LEAK" end})
        return tostring(ok) .. " " .. tostring(err)
    end
    local seen = {}
    for _, v in ipairs({0, true, print, coroutine.create(print), io.stdout}) do
        local ok, got = pcall(function() return v.secret end)
        seen[#seen + 1] = tostring(ok and got)
    end
    return table.concat(seen, ",")
end
`, nil, Options{PoolSize: 1})
	clean := onMessage(t, p, "get")
	for _, target := range []string{"number", "boolean", "function", "thread", "stdout"} {
		if got := onMessage(t, p, target); !strings.HasPrefix(got, "false ") || !strings.Contains(got, "table expected") {
			t.Errorf("setmetatable(%s): %q, want the error of Lua 5.1", target, got)
		}
		if got := onMessage(t, p, "get"); got != clean || strings.Contains(got, "LEAK") {
			t.Fatalf("after setmetatable(%s) the next call saw %q, want %q", target, got, clean)
		}
	}
	if got := onMessage(t, p, "x"); got != clean {
		t.Fatal(got)
	}
}

// Nothing a call reads by name, from the libraries, the modules it requires, strings, channels
// and files, or from what those hand out under the names of metamethods, is a table every call
// on the state shares, short of a proxy or of a read that has the state closed after the call
// (taint.go): gopher-lua made the string library and the metatables of files and channels their
// own __index, and `string.__index` was the real library.
func TestLibrariesHandOutNoSharedTable(t *testing.T) {
	preload, err := luaenv.New(luaenv.Policy{}, luaenv.Services{})
	if err != nil {
		t.Fatal(err)
	}
	p := newTestProgram(t, `local metas = {"__index", "__newindex", "__metatable", "__call", "__mode", "__gc", "__tostring"}
function OnMessage()
	-- Reads what v holds under the names of metamethods, and with keys its fields too, two deep.
	local function probe(v, path, keyed, depth)
		if reached(v, path) or depth > 2 then
			return
		end
		if type(v) ~= "table" and type(v) ~= "userdata" and type(v) ~= "string" and type(v) ~= "channel" then
			return
		end
		for _, m in ipairs(metas) do
			local ok, x = pcall(function() return v[m] end)
			if ok and x ~= nil then probe(x, path .. "." .. m, false, depth + 1) end
		end
		if keyed and type(v) == "table" then
			for _, k in ipairs(keys(v)) do probe(v[k], path .. "." .. k, false, depth + 1) end
		end
	end
	for _, lib in ipairs({"string", "table", "math", "os", "io", "coroutine", "debug", "package", "channel"}) do
		probe(_G[lib], lib, true, 0)
	end
	for _, name in ipairs({"json", "strings", "time", "inspect", "yaml", "base64", "crypto", "regexp", "template", "re"}) do
		local ok, m = pcall(require, name)
		if ok then probe(m, name, true, 0) end
	end
	probe("", '("")', false, 0)
	probe(channel.make(), "channel.make()", false, 0)
	probe(io.stdout, "io.stdout", false, 0)
	probe(coroutine.running(), "coroutine.running()", false, 0)
end
`, nil, Options{PoolSize: 1, Preload: []Preloader{preload}})
	st := p.pool.get()
	L := st.L
	// Every table of the state as made, but the proxies: found from the registry, the base
	// globals and the built-in metatables, through table keys, values and metatables.
	shared := map[*lua.LTable]bool{}
	var walk func(v lua.LValue)
	walk = func(v lua.LValue) {
		switch v := v.(type) {
		case *lua.LTable:
			if shared[v] {
				return
			}
			shared[v] = true
			walk(v.Metatable)
			v.ForEach(func(k, x lua.LValue) { walk(k); walk(x) })
		case *lua.LUserData:
			walk(v.Metatable)
		}
	}
	for _, root := range []lua.LValue{L.Get(lua.RegistryIndex), L.G.Global, L.GetMetatable(lua.LString("")),
		L.GetMetatable(lua.LChannel(nil)), L.GetTypeMetatable("FILE*")} {
		walk(root)
	}
	for real, proxy := range st.shield.proxies {
		if real == proxy {
			delete(shared, proxy)
		}
	}
	var found []string
	// reached(v, path) records v when it is a shared table, and tells whether it was.
	L.SetGlobal("reached", L.NewFunction(func(L *lua.LState) int {
		tbl, ok := L.Get(1).(*lua.LTable)
		bad := ok && shared[tbl] && !st.tainted
		if bad {
			found = append(found, L.CheckString(2))
		}
		st.tainted = false // each read on its own: one that taints is no finding, nor are the next
		L.Push(lua.LBool(bad))
		return 1
	}))
	L.SetGlobal("keys", L.NewFunction(func(L *lua.LState) int {
		names := L.NewTable()
		st.shield.real(L.CheckTable(1)).ForEach(func(k, _ lua.LValue) {
			if s, ok := k.(lua.LString); ok {
				names.Append(s)
			}
		})
		L.Push(names)
		return 1
	}))
	p.pool.put(st)
	onMessage(t, p, "")
	if len(found) > 0 {
		t.Errorf("a call reads tables every call shares: %s", strings.Join(found, ", "))
	}
}
