package engine

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// hostile is a script body that must end with an error containing want, within its 300 ms
// timeout, and leave the program serving the next call.
type hostile struct {
	name, body, want string
}

func runHostile(t *testing.T, cases []hostile, opts Options) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			script := "--* subject: funcs.test\n--* timeout: 300ms\nfunction OnMessage(s, p)\n" + c.body + "\nend\n"
			p := newTestProgram(t, script, nil, opts)
			done := make(chan error, 1)
			go func() {
				_, err := p.OnMessage(context.Background(), "funcs.test", []byte("go"))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %v, want %q", err, c.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the call never ended")
			}
			if got := onMessage(t, p, "again"); got != "" {
				t.Errorf("the next call: %q", got)
			}
		})
	}
}

// Calls that waited or looped inside Go code, deaf to their deadline, now end with it.
func TestGoCodeObeysTheDeadline(t *testing.T) {
	runHostile(t, []hostile{
		{"table.concat to 2^53", `if p == "go" then return table.concat({}, "", 1, 2^53) end`, "invalid value"},
		{"channel send nobody receives", `if p == "go" then channel.make():send(1) end`, "timed out"},
		{"reading a command that never ends", `if p == "go" then return io.popen("sleep 1000"):read("*a") end`, "timed out"},
		{"coroutine nesting", `if p == "go" then
			local function co(n) if n == 0 then return 0 end return coroutine.wrap(co)(n - 1) end
			return co(100000) end`, "coroutines nested more than 200 deep"},
		{"coroutine nesting through resume", `if p == "go" then
			local function co(n) if n == 0 then return 0 end local c = coroutine.create(co) local ok, e = coroutine.resume(c, n - 1) if not ok then error(e) end return e end
			return co(100000) end`, "coroutines nested more than 200 deep"},
		// gopher-lua's sort is one Go call comparing strings a byte at a time: 146 s past a 5 s
		// deadline for 10,000 strings of 10 MB.
		{"table.sort of long strings", `if p == "go" then
			local big = ("a"):rep(10000008) local t = {}
			for i = 1, 10000 do t[i] = big:sub(1 + i % 8, 10000000 + i % 8) end
			table.sort(t) end`, "timed out"},
		{"table.sort with a comparator", `if p == "go" then
			local t = {} for i = 1, 100000 do t[i] = -i end
			table.sort(t, function(a, b) while true do end end) end`, "timed out"},
	}, Options{})
}

// table.sort sorts as Lua's: numbers, strings (bytes unsigned, a prefix first), a comparator,
// an explicit nil comparator, __lt, and the error of comparing what Lua cannot.
func TestTableSortAsInLua(t *testing.T) {
	p := newTestProgram(t, `function OnMessage(s, p)
  local out = {}
  local function add(t) out[#out + 1] = table.concat(t, ",") end
  local n = {5, -1, 3.5, 10, 0} table.sort(n) add(n)
  local s = {"b", "ab", "a", "\255", "B", ""} table.sort(s) add(s)
  local d = {1, 4, 2, 3} table.sort(d, function(a, b) return a > b end) add(d)
  local e = {3, 1, 2} table.sort(e, nil) add(e)
  local mt = {__lt = function(a, b) return a.v < b.v end}
  local o = {setmetatable({v = 2}, mt), setmetatable({v = 1}, mt)} table.sort(o) add({o[1].v, o[2].v})
  local ok, err = pcall(table.sort, {1, "x", 2}) add({tostring(ok), err:match("attempt to compare %a+ with %a+")})
  return table.concat(out, " | ")
end`, nil, Options{})
	want := "-1,0,3.5,5,10 | ,B,a,ab,b,\xff | 4,3,2,1 | 1,2,3 | 1,2 | false,attempt to compare "
	if got := onMessage(t, p, ""); !strings.HasPrefix(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// Functions giving many values grow the state's stack, which copies itself as it grows: by 32
// slots at a time, unpack or string.byte of 260,000 values took 15 s, deaf to the deadline.
func TestManyResultsWithinTheDeadline(t *testing.T) {
	p := newTestProgram(t, `--* timeout: 3s
function OnMessage(s, p)
  local n = 250000
  return select("#", unpack({}, 1, n)) .. " " .. select("#", string.byte(string.rep("a", n), 1, -1))
end`, nil, Options{})
	if got := onMessage(t, p, ""); got != "250000 250000" {
		t.Errorf("got %q", got)
	}
}

// A coroutine made by one call and resumed by a later one runs under the later call's deadline
// (kept here in a table every call shares, as a Go function could hand one out).
func TestCoroutineKeptAcrossCallsObeysTheDeadline(t *testing.T) {
	shared := func(L *lua.LState) {
		kept := L.NewTable()
		L.SetGlobal("kept", L.NewFunction(func(L *lua.LState) int { L.Push(kept); return 1 }))
	}
	p := newTestProgram(t, `--* subject: funcs.test
--* timeout: 300ms
function OnMessage(s, p)
  local keep = kept()
  if p == "plant" then
    keep.co = coroutine.create(function() while true do end end)
    keep.wrapped = coroutine.wrap(function() while true do end end)
    return "planted"
  end
  if p == "wrapped" then return keep.wrapped() end
  return tostring(coroutine.resume(keep.co))
end
`, nil, Options{Preload: []Preloader{shared}})
	for _, payload := range []string{"resume", "wrapped"} {
		// (A call that times out takes its state with it: plant again.)
		if got := onMessage(t, p, "plant"); got != "planted" {
			t.Fatal(got)
		}
		done := make(chan error, 1)
		go func() {
			_, err := p.OnMessage(context.Background(), "funcs.test", []byte(payload))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "timed out") {
				t.Errorf("%s: %v", payload, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the coroutine ran on past the call's deadline", payload)
		}
	}
}

// What a script compiles at run time is held to the limits of stored scripts.
func TestLoadstringLimits(t *testing.T) {
	p := newTestProgram(t, `function OnMessage(s, p)
  local results = {}
  for _, src in ipairs({
      "return " .. ("("):rep(400000) .. "1" .. (")"):rep(400000),
      "return " .. ("x"):rep(2000000),
      "return " .. ("x+"):rep(30000) .. "x",
      "return 1 + 2",
      "--\rreturn " .. ("#"):rep(1000000) .. "x", -- a comment ended by \r: once the end of the process
      "local x if x then " .. ("elseif x then "):rep(74000) .. "else return 2 end", -- 29 s to compile
      "return #{" .. ("1,"):rep(25549) .. "1}", -- as many items as gopher-lua keeps
      "return #{" .. ("1,"):rep(25550) .. "1}", -- one more, which it would drop
  }) do
    local f, err = loadstring(src)
    results[#results + 1] = f and tostring(f()) or err
  end
  local n = 0
  local f, err = load(function() n = n + 1 if n < 2000 then return ("x"):rep(1000) end end)
  results[#results + 1] = tostring(err)
  local i = 0
  f = load(function() i = i + 1 return ({"return ", "4", "2"})[i] end)
  results[#results + 1] = tostring(f())
  return table.concat(results, "\n")
end`, nil, Options{})
	got := strings.Split(onMessage(t, p, ""), "\n")
	want := []string{"nested in one another", "over the 1048576", "more than 200 operators", "3", "more than 200 operators", "more than 1000 elseifs", "25550", "a table constructor of more than 25550 items", "a chunk over 1048576 bytes", "42"}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("result %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// Lua patterns that backtrack for ever end with the call's deadline.
func TestPatternsObeyTheDeadline(t *testing.T) {
	runHostile(t, []hostile{
		{"find", `if p == "go" then return string.find(string.rep("a", 5000), ".-.-.-.-.-.-.-b") end`, "timed out"},
		{"match", `if p == "go" then return (string.rep("a", 5000)):match("(.-)(.-)(.-)(.-)(.-)(.-)b") end`, "timed out"},
		{"gsub", `if p == "go" then return (string.gsub(string.rep("a", 5000), ".-.-.-.-.-.-.-b", "")) end`, "timed out"},
		{"gmatch", `if p == "go" then for m in string.gmatch(string.rep("a", 5000), ".-.-.-.-.-.-.-b") do end end`, "timed out"},
	}, Options{})
}

// Concatenations, now calls that check their size first, behave as Lua's: numbers, __concat on
// either side, right to left, the error for what cannot be joined at its own line, and in
// chunks compiled at run time too.
func TestConcatenationAsInLua(t *testing.T) {
	p := newTestProgram(t, `function OnMessage(s, p)
  local mt = {__concat = function(a, b)
    local x = type(a) == "table" and a.v or a
    local y = type(b) == "table" and b.v or b
    return "(" .. x .. "+" .. y .. ")"
  end}
  local t = setmetatable({v = "T"}, mt)
  local function two(...) return "v", "extra" end
  local parts = {1 .. 2, "a" .. 1.5 .. "b", t .. "x", "x" .. t, "a" .. "b" .. t .. "c", loadstring("return 'l' .. 'oad'")(),
    -- A call or ... last gives one value, as in Lua: not gsub's count, not every vararg.
    "g" .. ("xx"):gsub("x", "y"), (function(...) return "m" .. ... end)("1", "2"), "w" .. two()}
  local ok, err = pcall(function()
    return "x" .. nil
  end)
  parts[#parts + 1] = err
  return table.concat(parts, " ")
end`, nil, Options{})
	want := "12 a1.5b (T+x) (x+T) ab(T+c) load gyy m1 wv s.lua:13: cannot perform concat operation between string and nil"
	if got := onMessage(t, p, ""); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// A call prints 64 KiB at most (print goes to the server's standard output, often its log), and
// the next call prints again.
func TestPrintIsBoundedPerCall(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	read := make(chan []byte)
	go func() {
		out, _ := io.ReadAll(r)
		read <- out
	}()
	p := newTestProgram(t, `function OnMessage(s, p) for i = 1, 1000 do print(string.rep("x", 1023)) end end`, nil, Options{PoolSize: 1})
	onMessage(t, p, "")
	onMessage(t, p, "")
	os.Stdout = stdout
	w.Close()
	out := <-read
	if len(out) > 2*(64<<10+200) || strings.Count(string(out), "printed over 65536 bytes") != 2 {
		t.Errorf("%d bytes printed by two calls of 1000 KiB each", len(out))
	}
}
