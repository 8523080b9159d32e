package luamods

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/internal/testnats"
	"github.com/msgscript/msgscript/script"
)

// kvEnv starts a NATS server with JetStream and returns the modules on a connection to it, made
// once as luaenv makes them (so that the open buckets are shared by the calls of a test), and
// the connection.
func kvEnv(t *testing.T) ([]Module, *nats.Conn) {
	t.Helper()
	nc := testnats.Connect(t, testnats.StartJetStream(t, "").ClientURL())
	return Modules(&Env{NATS: func() *nats.Conn { return nc }}), nc
}

// inScript is the context of a call of the script subject/name, as the engine gives it.
func inScript(subject, name string) context.Context {
	return context.WithValue(context.Background(), callctx.ScriptKey, callctx.Script{Subject: subject, Name: name})
}

// kvState is a new state with mods (their sandbox's when sandbox is set) on ctx, closed when the
// test ends.
func kvState(t *testing.T, mods []Module, ctx context.Context, sandbox bool) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	for _, m := range mods {
		loader := m.Loader
		if sandbox && m.SandboxLoader != nil {
			loader = m.SandboxLoader
		}
		L.PreloadModule(m.Name, loader)
	}
	L.SetContext(ctx)
	return L
}

// runKV runs code in a new state on ctx (under a 10 s deadline) and returns what it returned,
// or its Lua error.
func runKV(t *testing.T, mods []Module, ctx context.Context, sandbox bool, code string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	L := kvState(t, mods, ctx, sandbox)
	top := L.GetTop()
	if err := L.DoString(code); err != nil {
		return "", err
	}
	var out []lua.LValue
	for i := top + 1; i <= L.GetTop(); i++ {
		out = append(out, L.Get(i))
	}
	return strs(out), nil
}

// expectKV runs code and checks what it returned.
func expectKV(t *testing.T, mods []Module, ctx context.Context, code, want string) {
	t.Helper()
	got, err := runKV(t, mods, ctx, false, code)
	if err != nil {
		t.Fatalf("%v\nin:\n%s", err, code)
	}
	if got != want {
		t.Errorf("got %q, want %q\nin:\n%s", got, want, code)
	}
}

func TestKVRoundTrip(t *testing.T) {
	mods, nc := kvEnv(t)
	hello := inScript("funcs.hello", "hello")
	expectKV(t, mods, hello, `local kv = require("kv")
		local empty = kv.keys()
		local missing, err = kv.get("nothing")
		return #empty, missing, err`, "0|nil|nil")
	expectKV(t, mods, hello, `local kv = require("kv")
		local r1 = kv.put("b", "2")
		local r2 = kv.put("a", "1")
		local r3 = kv.put("c.d/e=f", 42)
		local r4 = kv.put("a", "one")
		return r1, r2, r3, r4, kv.get("a"), kv.get("c.d/e=f"), table.concat(kv.keys(), ",")`,
		"1|2|3|4|one|42|a,b,c.d/e=f")
	expectKV(t, mods, hello, `local kv = require("kv")
		local ok = kv.delete("a")
		return ok, kv.get("a"), table.concat(kv.keys(), ","), kv.put("a", 1.5), kv:get("a")`,
		"true|nil|b,c.d/e=f|6|1.5")

	// The script's own bucket is named after it, made as the module promises: on file storage,
	// keeping one value per key.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(context.Background(), script.ResourceName("funcs.hello", "hello"))
	if err != nil {
		t.Fatalf("the script's bucket: %v", err)
	}
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
	if st.History() != 1 || info.Config.Storage != jetstream.FileStorage {
		t.Errorf("bucket history %d, storage %s", st.History(), info.Config.Storage)
	}
	if e, err := kv.Get(context.Background(), "b"); err != nil || string(e.Value()) != "2" {
		t.Errorf("b in the bucket: %v %v", e, err)
	}
}

// Two scripts never see each other's keys through the module's own functions.
func TestKVScriptsHaveTheirOwnBuckets(t *testing.T) {
	mods, _ := kvEnv(t)
	a, b := inScript("funcs.a", "a"), inScript("funcs.b", "b")
	expectKV(t, mods, a, `return require("kv").put("x", "from a")`, "1")
	expectKV(t, mods, b, `local kv = require("kv") return kv.get("x"), #kv.keys(), kv.put("x", "from b")`, "nil|0|1")
	expectKV(t, mods, a, `return require("kv").get("x")`, "from a")
	expectKV(t, mods, b, `return require("kv").get("x")`, "from b")
	// Same name, another subject: another script, another bucket.
	expectKV(t, mods, inScript("funcs.other", "a"), `return require("kv").get("x")`, "nil")
}

// kv.bucket(name) is shared by every script that names it, called with a dot or a colon.
func TestKVNamedBucketIsShared(t *testing.T) {
	mods, _ := kvEnv(t)
	a, b := inScript("funcs.a", "a"), inScript("funcs.b", "b")
	expectKV(t, mods, a, `local kv = require("kv")
		local shared = kv.bucket("shared-1_x")
		return shared:put("k", "v"), shared.put("k2", "v2"), kv.get("k")`, "1|2|nil")
	expectKV(t, mods, b, `local kv = require("kv")
		local s1, s2 = kv.bucket("shared-1_x"), kv:bucket("shared-1_x")
		return s1.get("k"), s1:get("k2"), s2:get("k"), table.concat(s2:keys(), ","), table.concat(s1.keys(), ","),
			s1:delete("k"), s2.get("k"), kv.get("k")`, "v|v2|v|k,k2|k,k2|true|nil|nil")
	// A named bucket works outside a script's call too.
	expectKV(t, mods, context.Background(), `return require("kv").bucket("shared-1_x"):get("k2")`, "v2")
}

// Keys, bucket names and values NATS would refuse are refused with a message naming the
// mistake, before anything reaches NATS (here there is no NATS at all).
func TestKVRefusesBadArguments(t *testing.T) {
	mods := Modules(&Env{})
	ctx := inScript("funcs.a", "a")
	for code, want := range map[string]string{
		`kv.get("")`:                      "kv: empty key",
		`kv.get(".a")`:                    `kv: key ".a" starts or ends with '.', which NATS KV does not allow`,
		`kv.put("a.", "v")`:               `kv: key "a." starts or ends with '.', which NATS KV does not allow`,
		`kv.delete("a..b")`:               `kv: key "a..b" has '..' (an empty token), which NATS KV does not allow`,
		`kv.get("a b")`:                   `kv: key "a b" contains " ": NATS KV keys are letters, digits and - / _ = . only`,
		`kv.put("a*", "v")`:               `kv: key "a*" contains "*": NATS KV keys are letters, digits and - / _ = . only`,
		`kv.get("a>")`:                    `kv: key "a>" contains ">": NATS KV keys are letters, digits and - / _ = . only`,
		`kv.get(string.rep("k", 1025))`:   "kv: key of 1025 bytes is too long (1024 at most)",
		`kv.get(nil)`:                     "kv: key must be a string, not nil",
		`kv.get({})`:                      "kv: key must be a string, not table",
		`kv.put("k", {})`:                 "kv: value must be a string, not table",
		`kv.put("k")`:                     "kv: value must be a string, not nil",
		`kv.put("k", true)`:               "kv: value must be a string, not boolean",
		`kv.bucket("a.b")`:                `kv: bucket name "a.b" contains ".": bucket names are letters, digits, '_' and '-' only`,
		`kv.bucket("a b")`:                `kv: bucket name "a b" contains " ": bucket names are letters, digits, '_' and '-' only`,
		`kv.bucket("")`:                   "kv: empty bucket name",
		`kv.bucket(string.rep("b", 253))`: "kv: bucket name of 253 bytes is too long (252 at most)",
		`kv.bucket()`:                     "kv: bucket name must be a string, not nil",
		`kv.bucket("ok"):put("k", function() end)`: "kv: value must be a string, not function",
	} {
		got, err := runKV(t, mods, ctx, false, `local kv = require("kv") local r, err = `+code+` return r, err`)
		if err != nil || got != "nil|"+want {
			t.Errorf("%s: %q, %v; want nil|%s", code, got, err, want)
		}
	}
	// Valid ones get as far as the connection.
	got, err := runKV(t, mods, ctx, false, `local kv = require("kv") local r, err = kv.put("A-z_0/9=x.y", 7) return r, err`)
	if err != nil || got != "nil|kv: no NATS connection" {
		t.Errorf("a valid key without NATS: %q, %v", got, err)
	}
}

// On a NATS server without JetStream the error says so, and how to turn it on.
func TestKVWithoutJetStream(t *testing.T) {
	nc := testnats.Connect(t, testnats.Start(t).ClientURL())
	mods := Modules(&Env{NATS: func() *nats.Conn { return nc }})
	const off = "kv: the NATS server has JetStream off (start nats-server with -js, or, with msgscript's embedded NATS server, do not set jetstream_dir off)"
	for _, code := range []string{`kv.get("k")`, `kv.put("k", "v")`, `kv.delete("k")`, `kv.keys()`, `kv.bucket("b"):get("k")`} {
		got, err := runKV(t, mods, inScript("funcs.a", "a"), false, `local kv = require("kv") local r, err = `+code+` return r, err`)
		if err != nil || got != "nil|"+off {
			t.Errorf("%s: %q, %v", code, got, err)
		}
	}
}

// The module's own functions need a script's call to know whose bucket; outside one they say so.
func TestKVOutsideAScript(t *testing.T) {
	mods, _ := kvEnv(t)
	got, err := runKV(t, mods, context.Background(), false, `local kv = require("kv") local r, err = kv.put("k", "v") return r, err`)
	if err != nil || !strings.HasPrefix(got, "nil|kv: no script is running") {
		t.Errorf("outside a script: %q, %v", got, err)
	}
}

// The sandbox's kv has the script's own bucket and no other.
func TestKVSandboxAllowsOnlyTheOwnBucket(t *testing.T) {
	mods, _ := kvEnv(t)
	ctx := inScript("funcs.a", "a")
	got, err := runKV(t, mods, ctx, true, `local kv = require("kv") return kv.put("k", "v"), kv.get("k"), table.concat(kv.keys(), ","), kv.delete("k")`)
	if err != nil || got != "1|v|k|true" {
		t.Errorf("own bucket in the sandbox: %q, %v", got, err)
	}
	for _, code := range []string{`require("kv").bucket("shared")`, `require("kv"):bucket("shared")`} {
		_, err := runKV(t, mods, ctx, true, code)
		if err == nil || !strings.Contains(err.Error(), "kv.bucket is not available in msgscript's sandbox: the sandbox allows only the script's own bucket") {
			t.Errorf("%s in the sandbox: %v", code, err)
		}
	}
	expectKV(t, mods, ctx, `return require("kv").bucket("shared"):put("k", "v")`, "1") // outside it, allowed
}

// An operation whose call is over returns an error at once.
func TestKVCancelledCallEndsAtOnce(t *testing.T) {
	mods, _ := kvEnv(t)
	ctx, cancel := context.WithCancel(inScript("funcs.a", "a"))
	L := kvState(t, mods, ctx, false)
	if err := L.DoString(`kv = require("kv") assert(kv.put("warm", "1") == 1) cold = kv.bucket("cold")`); err != nil {
		t.Fatal(err)
	}
	cancel()
	// Called from Go: the VM would stop the script itself before the call.
	for _, c := range []struct {
		table, fn string
		args      []lua.LValue
	}{
		{"kv", "put", []lua.LValue{lua.LString("k"), lua.LString("v")}}, // the bucket is open
		{"kv", "get", []lua.LValue{lua.LString("warm")}},
		{"kv", "keys", nil},
		{"cold", "put", []lua.LValue{lua.LString("k"), lua.LString("v")}}, // it must be opened
	} {
		fn := L.GetField(L.GetGlobal(c.table), c.fn)
		start := time.Now()
		if err := L.CallByParam(lua.P{Fn: fn, NRet: 2, Protect: true}, c.args...); err != nil {
			t.Fatal(err)
		}
		got := strs([]lua.LValue{L.Get(-2), L.Get(-1)})
		L.Pop(2)
		if !strings.HasPrefix(got, "nil|kv: ") || !strings.Contains(got, "context canceled") {
			t.Errorf("%s.%s after the call ended: %q", c.table, c.fn, got)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s.%s took %s after the call ended", c.table, c.fn, d)
		}
	}
}

// A JetStream that does not answer holds an operation until the call's deadline, not longer.
func TestKVStopsAtTheCallsDeadline(t *testing.T) {
	nc := testnats.Connect(t, testnats.Start(t).ClientURL())
	// Something takes the JetStream API's requests and never answers them.
	if _, err := nc.Subscribe("$JS.API.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	mods := Modules(&Env{NATS: func() *nats.Conn { return nc }})
	ctx, cancel := context.WithTimeout(inScript("funcs.a", "a"), 300*time.Millisecond)
	defer cancel()
	L := kvState(t, mods, ctx, false)
	start := time.Now()
	err := L.DoString(`local r, err = require("kv").put("k", "v") error(err)`)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("kv.put held the call %s past a 300ms deadline", d)
	}
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("kv.put past the deadline: %v", err)
	}
}

// Values are held to the call's value bound and to NATS's max_payload.
func TestKVValueBounds(t *testing.T) {
	mods, nc := kvEnv(t)
	ctx := inScript("funcs.a", "a")
	expectKV(t, mods, ctx, `return require("kv").put("big", string.rep("x", 100))`, "1")
	small := context.WithValue(ctx, callctx.ValueBoundKey, 16)
	expectKV(t, mods, small, `local kv = require("kv") local r, err = kv.put("k", string.rep("x", 17)) return r, err`,
		"nil|kv: value of 17 bytes is over the call's bound of 16 bytes")
	expectKV(t, mods, small, `local kv = require("kv") local r, err = kv.get("big") return r, err`,
		"nil|kv: value of 100 bytes is over the call's bound of 16 bytes")
	max := nc.MaxPayload()
	expectKV(t, mods, ctx, `local kv = require("kv") local r, err = kv.put("k", string.rep("x", `+itoa(max+1)+`)) return r, err`,
		"nil|kv: value of "+itoa(max+1)+" bytes exceeds NATS max_payload "+itoa(max))
	if !nc.IsConnected() {
		t.Fatalf("the connection is gone: %v", nc.LastError())
	}
}

// A bucket is opened once per connection: the calls after the first make no JetStream API
// request but the ones that read (direct gets).
func TestKVKeepsBucketsOpen(t *testing.T) {
	mods, nc := kvEnv(t)
	var api atomic.Int32
	watch := testnats.Connect(t, nc.ConnectedUrl())
	if _, err := watch.Subscribe("$JS.API.>", func(m *nats.Msg) {
		if !strings.HasPrefix(m.Subject, "$JS.API.DIRECT.GET.") {
			api.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := watch.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx := inScript("funcs.a", "a")
	expectKV(t, mods, ctx, `return require("kv").put("k", "0")`, "1")
	time.Sleep(100 * time.Millisecond)
	opened := api.Load()
	if opened == 0 {
		t.Fatal("the watch saw no JetStream API request")
	}
	for i := 0; i < 10; i++ {
		expectKV(t, mods, ctx, `local kv = require("kv") kv.put("k", "1") return kv.get("k"), kv.delete("k")`, "1|true")
	}
	time.Sleep(100 * time.Millisecond)
	if n := api.Load() - opened; n != 0 {
		t.Errorf("10 calls made %d JetStream API requests (opening took %d)", n, opened)
	}
}

// A bucket deleted under the module (nats kv del) is created anew on its next use.
func TestKVBucketDeletedIsCreatedAgain(t *testing.T) {
	mods, nc := kvEnv(t)
	ctx := inScript("funcs.a", "a")
	expectKV(t, mods, ctx, `local kv = require("kv") kv.put("k", "v") return kv.bucket("named"):put("k", "v")`, "1")
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{script.ResourceName("funcs.a", "a"), "named"} {
		if err := js.DeleteKeyValue(context.Background(), name); err != nil {
			t.Fatal(err)
		}
	}
	expectKV(t, mods, ctx, `local kv = require("kv") return kv.get("k"), kv.put("k", "w"), kv.get("k")`, "nil|1|w")
	expectKV(t, mods, ctx, `local b = require("kv").bucket("named") local keys, err = b:keys() return keys and #keys, err, b:put("k", "w")`, "0|nil|1")
}

// The buckets are on file storage: a NATS server restarted on its data has them, and the module
// follows the app to its new connection.
func TestKVSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	var nc atomic.Pointer[nats.Conn]
	mods := Modules(&Env{NATS: func() *nats.Conn { return nc.Load() }})
	ns := testnats.StartJetStream(t, dir)
	first, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	nc.Store(first)
	ctx := inScript("funcs.a", "a")
	expectKV(t, mods, ctx, `return require("kv").put("k", "kept")`, "1")
	first.Close() // the app replaces a connection closed for good
	ns.Shutdown()
	ns.WaitForShutdown()
	nc.Store(testnats.Connect(t, testnats.StartJetStream(t, dir).ClientURL()))
	expectKV(t, mods, ctx, `local kv = require("kv") return kv.get("k"), kv.put("k", "again")`, "kept|2")
}

// keys leaves nothing running behind it, whether it lists every key or gives up half way (over
// the call's value bound, with more keys on their way than jetstream buffers).
func TestKVKeysLeavesNoGoroutine(t *testing.T) {
	mods, _ := kvEnv(t)
	ctx := inScript("funcs.a", "a")
	expectKV(t, mods, ctx, `local kv = require("kv") for i = 1, 300 do kv.put("k" .. i, "v") end return #kv.keys()`, "300")
	small := context.WithValue(ctx, callctx.ValueBoundKey, 10)
	before := runtime.NumGoroutine()
	for i := 0; i < 10; i++ {
		expectKV(t, mods, ctx, `return #require("kv").keys()`, "300")
		expectKV(t, mods, small, `local keys, err = require("kv").keys() return keys, err`, "nil|kv: keys: the keys are over the call's bound of 10 bytes")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before 20 listings, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func itoa(n int64) string { return lua.LNumber(n).String() }

// A bucket the module creates holds at most Env.KVMaxBytes: past it a put that would add bytes
// fails and says so, while an overwrite that does not grow the bucket, a delete, and a put into
// the room a delete made still work. Unset, the bound is DefaultKVMaxBytes; negative, none.
func TestKVBucketsHaveABound(t *testing.T) {
	nc := testnats.Connect(t, testnats.StartJetStream(t, "").ClientURL())
	connected := func() *nats.Conn { return nc }
	ctx := inScript("funcs.a", "a")
	mods := Modules(&Env{NATS: connected, KVMaxBytes: 15000})
	got, err := runKV(t, mods, ctx, false, `
		local kv = require("kv")
		local v = string.rep("x", 4000)
		local n, err = 0
		repeat
			local rev
			rev, err = kv.put("k" .. n, v)
			if rev then n = n + 1 end
		until err or n > 100
		local smaller = kv.put("k0", "small")
		local deleted = kv.delete("k1")
		local after = kv.put("k" .. n, v)
		return n, err, smaller ~= nil, deleted, after ~= nil`)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(got, "|")
	if len(parts) != 5 || parts[0] != "3" || parts[2] != "true" || parts[3] != "true" || parts[4] != "true" {
		t.Fatalf("puts of 4,000 bytes into a bucket of 15,000: got %q, want 3 puts, then a full bucket that still takes a smaller value, a delete and a put into the room it made", got)
	}
	bucket := script.ResourceName("funcs.a", "a")
	if want := `kv: put "k3": bucket ` + bucket + ` is full`; !strings.HasPrefix(parts[1], want) {
		t.Errorf("the refused put said %q, want it to start with %q", parts[1], want)
	}

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	maxBytes := func(bucket string) int64 {
		t.Helper()
		kv, err := js.KeyValue(context.Background(), bucket)
		if err != nil {
			t.Fatal(err)
		}
		st, err := kv.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.MaxBytes
	}
	expectKV(t, Modules(&Env{NATS: connected}), ctx, `return require("kv").bucket("dflt"):put("k", "v")`, "1")
	if got := maxBytes("dflt"); got != DefaultKVMaxBytes {
		t.Errorf("a bucket made with the default bound has max_bytes %d, want %d", got, DefaultKVMaxBytes)
	}
	expectKV(t, Modules(&Env{NATS: connected, KVMaxBytes: -1}), ctx, `return require("kv").bucket("unbounded"):put("k", "v")`, "1")
	if got := maxBytes("unbounded"); got != -1 {
		t.Errorf("a bucket made with no bound has max_bytes %d, want -1 (none)", got)
	}
}

// The attack (as the README's counter was written): calls reading a value and writing it back
// lose each other's writes; 16 clients kept 1,858 of 10,652 visits. kv.incr loses none, and
// kv.update writes only over the revision it was given.
func TestKVIncrAndUpdateLoseNoWrite(t *testing.T) {
	mods, _ := kvEnv(t)
	ctx := inScript("funcs.a", "a")
	const callers, each = 16, 20
	errs := make(chan error, callers)
	for range callers {
		go func() {
			_, err := runKV(t, mods, ctx, false, `local kv = require("kv")
				for i = 1, `+itoa(each)+` do local n, err = kv.incr("visits") if not n then error(err) end end`)
			errs <- err
		}()
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	expectKV(t, mods, ctx, `return require("kv").get("visits")`, itoa(callers*each))
	expectKV(t, mods, ctx, `return require("kv").incr("visits", -0.5), require("kv").incr("fresh", 2)`, itoa(callers*each-1)+".5|2")

	expectKV(t, mods, ctx, `local kv = require("kv")
		local r1 = kv.update("k", "a", 0)               -- created: it did not exist
		local again, conflict = kv.update("k", "b", 0)  -- it exists now
		local e = kv.entry("k")
		local r2 = kv.update("k", "c", e.revision)
		local stale, lost = kv.update("k", "d", e.revision)
		return e.value, r2 > r1, tostring(again), conflict, tostring(stale), (lost:gsub(e.revision, "N")), kv.get("k"), tostring(kv.entry("none"))`,
		`a|true|nil|kv: update "k": conflict: the key exists|nil|kv: update "k": conflict: the key is not at revision N any more|c|nil`)
	// From 2^53 on a float64 no longer tells n from n + 1: refused, as NaN and the infinities are.
	expectKV(t, mods, ctx, `local kv = require("kv") kv.put("big", "9007199254740991") kv.put("nan", "nan")
		local a, e1 = kv.incr("big") local b, e2 = kv.incr("nan") local c, e3 = kv.incr("fresh", 0/0)
		return tostring(a), e1, tostring(b), e2, tostring(c), e3, kv.incr("big", -1)`,
		`nil|kv: incr "big": 9007199254740991 + 1 reaches 2^53, where Lua's numbers no longer count by 1|`+
			`nil|kv: incr "nan": its value is not a number under 2^53: "nan"|`+
			`nil|kv: incr "fresh": by must be a number under 2^53, not NaN|9007199254740990`)
	expectKV(t, mods, ctx, `local kv = require("kv") kv.put("word", "abc")
		local n, err = kv.incr("word") local r, err2 = kv.update("k", "x", -1) return tostring(n), err, tostring(r), err2`,
		`nil|kv: incr "word": its value is not a number under 2^53: "abc"|nil|kv: update: revision must be a whole number of 0 or more (0: only if the key does not exist), not -1`)
}
