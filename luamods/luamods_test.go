package luamods

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
)

// run executes code in a new state with the modules, under a deadline, and returns what the
// chunk returned, or fails the test with the Lua error.
func run(t *testing.T, env *Env, code string) []lua.LValue {
	t.Helper()
	out, err := try(t, env, code, 10*time.Second)
	if err != nil {
		t.Fatalf("%v\nin:\n%s", err, code)
	}
	return out
}

// try is run that returns the Lua error.
func try(t *testing.T, env *Env, code string, deadline time.Duration) ([]lua.LValue, error) {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	for _, m := range Modules(env) {
		L.PreloadModule(m.Name, m.Loader)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	L.SetContext(ctx)
	top := L.GetTop()
	if err := L.DoString(code); err != nil {
		return nil, err
	}
	var out []lua.LValue
	for i := top + 1; i <= L.GetTop(); i++ {
		out = append(out, L.Get(i))
	}
	return out, nil
}

// strs renders values for compact assertions.
func strs(vals []lua.LValue) string {
	var parts []string
	for _, v := range vals {
		parts = append(parts, v.String())
	}
	return strings.Join(parts, "|")
}

func expect(t *testing.T, env *Env, code, want string) {
	t.Helper()
	if got := strs(run(t, env, code)); got != want {
		t.Errorf("got %q, want %q\nin:\n%s", got, want, code)
	}
}

func TestJSON(t *testing.T) {
	expect(t, nil, `local json = require("json")
		local s = json.encode({a = 1, b = {"x", "y"}})
		local v = json.decode('{"n": 2, "list": [1, 2, 3], "s": "t"}')
		return s, v.n, #v.list, v.s`, `{"a":1,"b":["x","y"]}|2|3|t`)
}

func TestRe(t *testing.T) {
	cases := map[string]string{
		`return re.find("abc 123 def", "[0-9]+")`:                   "5|7",
		`return re.find("key=value", "(\\w+)=(\\w+)")`:              "1|9|key|value",
		`return re.find("a.b", ".", 1, true)`:                       "2|2",
		`return re.find("a.b.c", ".", 3, true)`:                     "4|4",
		`return re.find("abc", "z")`:                                "nil",
		`return re.match("2026-11-28", "(\\d+)-(\\d+)-(\\d+)")`:     "2026|11|28",
		`return re.match("hello world", "w\\w+")`:                   "world",
		`return re.match("abc", "b", -2)`:                           "b",
		`return re.gsub("hello world", "o", "0")`:                   "hell0 w0rld|2",
		`return re.gsub("hello world", "(\\w+)", "<%1>")`:           "<hello> <world>|2",
		`return re.gsub("a b c", "\\w", "%0%0", 2)`:                 "aa bb c|2",
		`return re.gsub("$x $y", "\\$(\\w)", {x = "1"})`:            "1 $y|2",
		`return re.gsub("a1b2", "\\d", function(d) return d*2 end)`: "a2b4|2",
		`return re.quote("a.b*c")`:                                  `a\.b\*c`,
		`local out = {} for k, v in re.gmatch("a=1, b=2", "(\\w)=(\\d)") do out[#out+1] = k .. v end return table.concat(out, ",")`: "a1,b2",
		`local out = {} for w in re.gmatch("one two", "\\w+") do out[#out+1] = w end return table.concat(out, ",")`:                 "one,two",
	}
	for code, want := range cases {
		expect(t, nil, `local re = require("re") `+code, want)
	}
	if _, err := try(t, nil, `require("re").find("x", "(")`, time.Second); err == nil || !strings.Contains(err.Error(), "re:") {
		t.Errorf("bad pattern: %v", err)
	}
}

// The gopher-lua-libs modules load one by one.
func TestLibsLoad(t *testing.T) {
	for _, name := range []string{"strings", "time", "inspect", "filepath", "ioutil", "cmd", "template", "yaml", "crypto", "base64", "runtime", "log", "storage", "tac", "tcp", "json", "lfs", "re", "http", "nats", "etcd", "kv"} {
		run(t, nil, `assert(type(require("`+name+`")) == "table", "`+name+`")`)
	}
	expect(t, nil, `return require("base64").RawStdEncoding:encode_to_string("hi"), require("strings").split("a,b", ",")[2], require("crypto").md5("x")`,
		"aGk|b|9dd4e461268c8034f5c8564e155c67a6")
}

// time.sleep ends with the call's deadline instead of outliving it.
func TestSleepHonoursTheDeadline(t *testing.T) {
	start := time.Now()
	_, _ = try(t, nil, `require("time").sleep(30)`, 200*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("time.sleep(30) ran %s past a 200ms deadline", d)
	}
}

func TestCmdExec(t *testing.T) {
	expect(t, nil, `local r = require("cmd").exec("echo out; echo err >&2; exit 3") return r.status, r.stdout, r.stderr`, "3|out\n|err\n")
	start := time.Now()
	out, _ := try(t, nil, `return require("cmd").exec("sleep 30")`, 300*time.Millisecond)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cmd.exec ran %s past a 300ms deadline (%s)", d, strs(out))
	}
}

// What a sandbox loads of filepath and template: the functions that compute stay, those that
// read files raise an error that says so (luaenv's tests play the attacks). kv's is tested with
// the rest of kv (TestKVSandboxAllowsOnlyTheOwnBucket).
func TestSandboxLoaders(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	var names []string
	for _, m := range Modules(nil) {
		if m.SandboxLoader != nil {
			L.PreloadModule(m.Name, m.SandboxLoader)
			names = append(names, m.Name)
		}
	}
	if got := strings.Join(names, ","); got != "kv,filepath,template" {
		t.Fatalf("modules with a SandboxLoader: %s", got)
	}
	if err := L.DoString(`assert(require("filepath").join("a", "b") == "a/b")
		assert(require("template").choose("mustache"):render("{{x}}", {x = 1}) == "1")`); err != nil {
		t.Fatal(err)
	}
	// filepath.match takes what a path may be, not a pattern that backtracks for minutes.
	if err := L.DoString(`assert(require("filepath").match("*.lua", "a.lua") == true)
		assert(require("filepath").match("*" .. ("a"):rep(4094) .. "b", ("a"):rep(4096)) == false)`); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{`require("filepath").match("*" .. ("a"):rep(100000) .. "b", ("a"):rep(100000))`, `require("filepath").match("*", ("a"):rep(4097))`} {
		if err := L.DoString(code); err == nil || !strings.Contains(err.Error(), "filepath.match: a pattern or name over 4096 bytes") {
			t.Errorf("%.40s: %v", code, err)
		}
	}
	for _, code := range []string{`require("filepath").glob("/*")`, `require("filepath").abs(".")`, `require("filepath").eval_symlinks("/")`, `require("template").choose("mustache"):render_file("/etc/hostname", {})`} {
		if err := L.DoString(code); err == nil || !strings.Contains(err.Error(), "is not available in msgscript's sandbox") {
			t.Errorf("%s: %v", code, err)
		}
	}
}

// re holds a few matches at a time, and builds no result past the call's value bound.
func TestReBounds(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	expect(t, nil, `local re = require("re")
		local it = re.gmatch(string.rep("x", 50e6), "")
		it() it()
		return #it()`, "0")
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 120<<20 { // the 50 MB string and a copy at most
		t.Errorf("gmatch allocated %d MB for three matches", grew>>20)
	}
	L := lua.NewState()
	defer L.Close()
	L.PreloadModule("re", reLoader)
	L.SetContext(context.WithValue(context.Background(), callctx.ValueBoundKey, 1<<20))
	// (The module in a local: gopher-lua's generic for runs no iteration when its header calls
	// require itself, for re and string.gmatch alike.)
	err := L.DoString(`local re = require("re") return re.gsub(string.rep("x", 1e6), ".", string.rep("y", 100))`)
	if err == nil || !strings.Contains(err.Error(), "re.gsub: the result would be over 1048576 bytes") {
		t.Errorf("gsub past the bound: %v", err)
	}
	err = L.DoString(`local re = require("re") for _ in re.gmatch(string.rep("x", 1e6), "") do end`)
	if err == nil || !strings.Contains(err.Error(), "more than 16384 matches") {
		t.Errorf("gmatch past the bound: %v", err)
	}
	// One replacement over the bound stops as it is written: "%0" 200 times over 1 MB built 200 MB
	// first (over 16 MiB, 3 GB, which ended the process).
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = L.DoString(`local re = require("re") return re.gsub(string.rep("x", 1e6), "(?s).+", string.rep("%0", 200))`)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "re.gsub: the result would be over 1048576 bytes") {
		t.Errorf("gsub of one long replacement: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 20<<20 {
		t.Errorf("gsub of one long replacement allocated %d MB", grew>>20)
	}
	// Each match holds two ints for each group: 4,000 groups, 64 KB a match, made 2 GB in one call.
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = L.DoString(`local re = require("re") return re.gsub(string.rep("x", 200000), string.rep("()", 4000) .. "x", "y")`)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "more than 16 matches") {
		t.Errorf("gsub of 4,000 groups: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 20<<20 {
		t.Errorf("gsub of 4,000 groups allocated %d MB", grew>>20)
	}
	// A pattern is compiled only up to 64 KiB (a 13 MB one ended the process for memory).
	err = L.DoString(`local re = require("re") return re.find("abc", string.rep("ab|", 30000) .. "c")`)
	if err == nil || !strings.Contains(err.Error(), "re: a pattern of 90001 bytes, over the 65536 that re compiles") {
		t.Errorf("a 90 KB pattern: %v", err)
	}
	expect(t, nil, `return require("re").find("xxc", string.rep("ab|", 20000) .. "c")`, "3|3")
}
