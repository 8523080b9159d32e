// Command membomb runs Lua memory bombs on the engine, under an address space limit, while a
// hello script keeps being called, and prints what each call answered as JSON. It exits 0 when
// the process survived. The engine's memory tests run it as a child process, so that a bomb that
// got through cannot take the test run down.
//
//	membomb -limit 268435456 -as 3221225472 table concat
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/msgscript/msgscript/engine"
	"github.com/msgscript/msgscript/luaenv"
	"github.com/msgscript/msgscript/store"
)

// bombs are the scripts, by name; each listens on bomb.<name>.
var bombs = map[string]string{
	// Each makes one value of gigabytes at once from a big string (60 MiB, under the bound for
	// one value at a 256 MiB limit), in Go code that no deadline interrupts.
	"format":     `local b = ("x"):rep(60 * 2^20) return string.format(("%s"):rep(40), ` + strings.Repeat("b, ", 39) + `b)`,
	"concat40":   `local b = ("x"):rep(60 * 2^20) return ` + strings.Repeat("b .. ", 39) + `b`,
	"json":       `local b = ("x"):rep(60 * 2^20) local t = {} for i = 1, 40 do t[i] = b end return require("json").encode(t)`,
	"gsub":       `return (string.rep("x", 1e6):gsub(".", string.rep("y", 1e4)))`,
	"regsub":     `local re = require("re") return (re.gsub(string.rep("x", 1e6), ".", string.rep("y", 1e4)))`,
	"template":   `local t = {} t.self = t return require("template").choose("mustache"):render("{{x}}", t)`,
	"rep":        `return string.rep("x", 2^31)`,
	"width":      `return string.format("%2000000000d", 1)`,
	"concat":     `local s = "x" while true do s = s .. s end`,
	"table":      `local t = {} while true do t[#t + 1] = {1, 2, 3} end`,
	"coroutines": `local t = {} for i = 1, 200000 do t[i] = coroutine.create(function() end) end while true do t[#t + 1] = coroutine.create(function() end) end`,
	"global":     `big = {} for i = 1, 1e9 do big[i] = "item " .. i end`,
	// Many of these at once: each call alone stays under what one call may hold until the heap is
	// far over the limit.
	"pairs":       `local t, i = {}, 0 while true do i = i + 1 t[i] = {i, tostring(i)} end`,
	"cowrap":      `coroutine.wrap(function() local t, i = {}, 0 while true do i = i + 1 t[i] = {i, tostring(i)} end end)()`,
	"cosuspended": `local all = {} while true do local co = coroutine.wrap(function() local t = {} for i = 1, 1000 do t[i] = {i} end coroutine.yield() end) co() all[#all + 1] = co end`,
	"coresume":    `local ok, err = coroutine.resume(coroutine.create(function() local t, i = {}, 0 while true do i = i + 1 t[i] = {i, tostring(i)} end end)) error(err, 0)`,
	"reps":        `local t = {} for i = 1, 1000 do t[i] = string.rep(string.char(65 + i % 26), 60 * 2^20) end`,
	"grows":       `local x, t, i = string.rep("y", 30 * 2^20), {}, 0 while true do i = i + 1 t[i] = x .. i end`,
	// Memory the calls' measure of themselves only estimates: an array whose first elements are
	// small, a channel's buffer, a Go buffer; and Go code making large results.
	"sparse":  `local t = {} for i = 1, 64 do t[i] = "" end for i = 65, 4000 do t[i] = string.rep("z", 800 * 1024) .. i end`,
	"chan":    `local ch = channel.make(4000) for i = 1, 4000 do ch:send(string.rep("z", 900 * 1024) .. i) end`,
	"builder": `local b = require("strings").new_builder() while true do b:write(string.rep("w", 300 * 1024)) end`,
	"tplbomb": `local l = {} for i = 1, 4000 do l[i] = {} end return (require("template").choose("mustache"):render("{{#l}}{{{x}}}{{/l}}", {l = l, x = string.rep("x", 900 * 1024)}))`,
	"jsonbig": `local x = string.rep("\1", 900 * 1024) local t = {} for i = 1, 11 do t[i] = x end x = nil return "json " .. #require("json").encode(t)`,
	"tplmany": `local l = {} for i = 1, 200 do l[i] = {} end return (require("template").choose("mustache"):render("{{#l}}{{{x}}}{{/l}}", {l = l, x = string.rep("x", 900 * 1024)}))`,
	"gsubfat": `local r = string.rep("a", 70):gsub("a", string.rep("q", 900 * 1024)) return "gsub " .. #r`,
	// Go code making many values of a short text, in one call no deadline interrupts.
	"jdecode":    `local v = require("json").decode("[" .. string.rep("[],", 5e6) .. "[]]") return "decoded " .. #v`,
	"ydecode":    `local v = require("yaml").decode("[" .. string.rep("[],", 5e6) .. "[]]") return "decoded " .. #v`,
	"split":      `return "split " .. #require("strings").split(string.rep(",", 2e7), ",")`,
	"fmtq":       `return "len " .. #string.format("%q", string.rep("\0", 60 * 2^20))`,
	"jstream":    `local text = "[" .. string.rep("[],", 5e6) .. "[]]" local d = require("json").new_decoder(require("strings").new_reader(text)) text = nil local t, err = d:decode() return "stream " .. tostring(t and #t) .. " " .. tostring(err)`,
	"yamlindent": `local t = {} local cur = t for i = 1, 99 do cur.k = {} cur = cur.k end cur.s = string.rep("a\n", 5 * 2^20) return "yaml " .. #require("yaml").encode(t)`,
	"osdate":     `return "date " .. #os.date(string.rep("%c", 32e6))`,
	"readbig":    `return "read " .. #tostring(require("strings").new_reader("hello"):read(2^33))`,
	// Memory ten tables deep, out of every local's reach.
	"deep":     `local function put(root, i, v) root[1][1][1][1][1][1][1][1][1][1][i + 1] = v end local root = {} do local t = root for d = 1, 10 do local n = {} t[1] = n t = n end end for i = 1, 1e9 do put(root, i, string.rep("d", 900 * 1024 - i % 1000)) end`,
	"deephold": `local function put(root, i, v) root[1][1][1][1][1][1][1][1][1][1][i + 1] = v end local root = {} do local t = root for d = 1, 10 do local n = {} t[1] = n t = n end end for i = 1, 200 do put(root, i, string.rep("d", 900 * 1024 - i % 1000)) end require("time").sleep(3) return "deep survived"`,
	// No bomb: a call that holds 100 MiB while others make garbage must not be ended.
	"holder":  `local keep = {} for i = 1, 100 do keep[i] = string.rep(string.char(65 + i % 26), 2^20 - 64) end for r = 1, 20 do require("time").sleep(0.05) end return "held " .. #keep`,
	"garbage": `local n = 0 for i = 1, 200 do local s = string.rep("g", 900 * 1024) n = n + #s end return "garbage " .. n`,
	// No bomb: two of these at once hold 200 MiB, under the limit, while they make a few hundred
	// MiB of garbage in small tables; neither must be ended.
	"keeper": `local big = {} for i = 1, 2 do big[i] = string.rep(string.char(96 + i), 50 * 2^20) end for i = 1, 3e6 do local g = {i, i} end return "kept " .. #big[1] + #big[2]`,
}

type report struct {
	Bombs       map[string]string `json:"bombs"` // name -> what the call answered (its error)
	HelloOK     int64             `json:"hello_ok"`
	HelloFailed int64             `json:"hello_failed"`
	RSSAfter    uint64            `json:"rss_after"` // bytes, after the bombs ended
	RSSPeak     uint64            `json:"rss_peak"`  // bytes, the most the process held
}

func main() {
	limit := flag.Uint64("limit", 256<<20, "the engine's memory limit, in bytes")
	as := flag.Uint64("as", 3<<30, "the address space limit, in bytes (0: none)")
	idle := flag.Duration("idle", 0, "how long the engine idles, loaded, before the bombs go off")
	flag.Parse()
	if *as > 0 {
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: *as, Max: *as}); err != nil {
			fmt.Fprintln(os.Stderr, "setrlimit:", err)
			os.Exit(2)
		}
	}
	batch := []store.Event{script("hello", "funcs.hello", `return "hello " .. p`)}
	for _, name := range flag.Args() {
		kind, _, _ := strings.Cut(name, "#") // table#2: a second bomb of the kind
		batch = append(batch, script(name, "bomb."+name, bombs[kind]))
	}
	// The modules of a sandbox, as a server serving the public would give its scripts.
	preload, err := luaenv.New(luaenv.Policy{Sandbox: true}, luaenv.Services{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	reg := engine.NewRegistry(engine.Options{MemoryLimit: *limit, Timeout: 60 * time.Second, Preload: []engine.Preloader{preload}})
	reg.Replace(batch)
	time.Sleep(*idle) // long enough, the memory guard's sampler sleeps until a call starts

	r := report{Bombs: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range flag.Args() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := reg.Answer(context.Background(), "bomb."+name, &nats.Msg{Subject: "bomb." + name})
			mu.Lock()
			r.Bombs[name] = strings.Join(m.Header.Values(micro.ErrorHeader), "; ") + string(m.Data)
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	var hellos sync.WaitGroup
	var ok, failed atomic.Int64
	hellos.Add(1)
	go func() {
		defer hellos.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			m := reg.Answer(context.Background(), "funcs.hello", &nats.Msg{Subject: "funcs.hello", Data: []byte(strconv.Itoa(i))})
			if string(m.Data) == fmt.Sprintf(`{"hello":"hello %d"}`, i) {
				ok.Add(1)
			} else {
				failed.Add(1)
			}
		}
	}()
	wg.Wait()
	close(done)
	hellos.Wait()
	r.HelloOK, r.HelloFailed = ok.Load(), failed.Load()
	reg.Close()
	runtime.GC()
	debug.FreeOSMemory()
	r.RSSAfter, r.RSSPeak = status("VmRSS:"), status("VmHWM:")
	_ = json.NewEncoder(os.Stdout).Encode(r)
}

func script(name, subject, body string) store.Event {
	return store.Event{Op: store.OpPut, Item: store.Item{
		Ref:    store.Ref{Kind: store.KindScript, Subject: subject, Name: name},
		Source: []byte("function OnMessage(s, p)\n" + body + "\nend\n"), Origin: name + ".lua"}}
}

// status is a size in bytes from /proc/self/status: field VmRSS: is the process's resident
// memory, VmHWM: the most it held.
func status(field string) uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
