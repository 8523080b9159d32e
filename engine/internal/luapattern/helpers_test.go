package luapattern

import (
	"regexp"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// prelude defines, in both states of a comparison, how results are written down: the number of
// values, then each with its type, strings quoted, so that "1" and 1, or nil and no value, differ.
// It uses none of the functions under test.
const prelude = `
function ser(...)
  local n = select('#', ...)
  local out = {tostring(n)}
  for i = 1, n do
    local v = select(i, ...)
    local t = type(v)
    if t == "string" then out[#out+1] = string.format("%q", v)
    elseif t == "number" or t == "boolean" or t == "nil" then out[#out+1] = t .. ":" .. tostring(v)
    else out[#out+1] = t end
  end
  return table.concat(out, " ")
end
function pack(...) return {n = select('#', ...), ...} end
function run(f, ...)
  local r = pack(pcall(f, ...))
  if r[1] then return ser(unpack(r, 2, r.n)) end
  return "ERR " .. tostring(r[2])
end
-- collect runs gmatch to the end (200 matches at most) and writes down what each step gave.
function collect(s, p)
  local out = {}
  for a, b, c, d in string.gmatch(s, p) do
    out[#out+1] = ser(a, b, c, d)
    if #out >= 200 then break end
  end
  return #out .. ": " .. table.concat(out, " | ")
end
-- probe is the randomized test's entry point.
function probe(kind, s, p, init, extra)
  if kind == "find" then return run(string.find, s, p, init)
  elseif kind == "match" then return run(string.match, s, p, init)
  elseif kind == "gmatch" then return run(collect, s, p)
  elseif kind == "gsubs" then return run(string.gsub, s, p, extra, init)
  elseif kind == "gsubf" then return run(string.gsub, s, p, function(...) return ser(...) end, init)
  elseif kind == "gsubt" then return run(string.gsub, s, p, {a = "<A>", b = false, c = 7, ["1"] = "one"}, init)
  end
end
`

// pair is a plain gopher-lua state and one whose string table has this package's functions.
type pair struct {
	orig, mine *lua.LState
}

func newPair(t testing.TB) *pair {
	t.Helper()
	p := &pair{orig: lua.NewState(), mine: lua.NewState()}
	Install(p.mine, Limits{})
	for _, L := range []*lua.LState{p.orig, p.mine} {
		if err := L.DoString(prelude); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { p.orig.Close(); p.mine.Close() })
	return p
}

// eval runs the Lua expression expr in L and returns what it gave, written down by ser, or
// "ERR " and the error.
func eval(t testing.TB, L *lua.LState, expr string) string {
	t.Helper()
	if err := L.DoString("__result = run(function() return " + expr + " end)"); err != nil {
		return "ERR " + err.Error()
	}
	return lua.LVAsString(L.GetGlobal("__result"))
}

// probe calls the prelude's probe in L.
func probe(t testing.TB, L *lua.LState, kind, s, p string, init int, extra string) string {
	t.Helper()
	if err := L.CallByParam(lua.P{Fn: L.GetGlobal("probe"), NRet: 1, Protect: true},
		lua.LString(kind), lua.LString(s), lua.LString(p), lua.LNumber(init), lua.LString(extra)); err != nil {
		return "ERR " + err.Error()
	}
	r := L.Get(-1)
	L.Pop(1)
	return lua.LVAsString(r)
}

var (
	wherePrefix = regexp.MustCompile(`^ERR (<string>|\[G\]|[^ ]*\.lua):\d+: `)
	atPosition  = regexp.MustCompile(` at (\d+|EOS)$`)
)

// normalize makes an error from gopher-lua and the equivalent one from this package read the
// same: the position of the calling code goes, and gopher-lua's own wording of a malformed
// pattern becomes Lua's, which this package uses (compat.go).
func normalize(r string) string {
	if !strings.HasPrefix(r, "ERR ") {
		return r
	}
	r = wherePrefix.ReplaceAllString(r, "ERR ")
	msg := atPosition.ReplaceAllString(strings.TrimPrefix(r, "ERR "), "")
	switch msg {
	case "unexpected EOS":
		msg = "malformed pattern (missing ']')"
	case "invalid ')'":
		msg = "invalid pattern capture"
	}
	return "ERR " + msg
}
