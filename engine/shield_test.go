package engine

import (
	"testing"

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
