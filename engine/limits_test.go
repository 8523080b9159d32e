package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	lua "github.com/yuin/gopher-lua"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/luaenv"
	"github.com/msgscript/msgscript/store/dirstore"
)

// withModules gives the engine's scripts msgscript's modules, nats on its own connection to ns.
func withModules(t *testing.T, ns *server.Server, opts Options) Options {
	t.Helper()
	nc := connect(t, ns)
	preload, err := luaenv.New(luaenv.Policy{}, luaenv.Services{NATS: func() *nats.Conn { return nc }})
	if err != nil {
		t.Fatal(err)
	}
	opts.Preload = append(opts.Preload, preload)
	return opts
}

// A script calling its own subject through NATS, requested many times at once, holds only its
// subject's share of the slots: another subject keeps answering.
func TestOneSubjectCannotStarveTheOthers(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{
		"loop.lua": "--* subject: funcs.loop\n--* timeout: 1s\nlocal nats = require('nats')\n" +
			"function OnMessage(s, p) count() if looping() then return assert(nats.request('funcs.loop', p, 10)) end end",
		"hello.lua": hello,
	})
	var loops atomic.Int64
	var looping atomic.Bool
	looping.Store(true)
	switchOff := func(L *lua.LState) {
		L.SetGlobal("looping", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LBool(looping.Load())); return 1 }))
	}
	startEngine(t, ns, dir, withModules(t, ns, Options{MaxConcurrent: 8, Preload: []Preloader{counter(&loops), switchOff}}))
	nc := connect(t, ns)
	for range 16 {
		go func() { _, _ = nc.Request("funcs.loop", nil, 5*time.Second) }()
	}
	eventually(t, "the loop holds its slots", func() bool { return loops.Load() >= 2 })
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := nc.Request("funcs.hello", []byte("x"), 500*time.Millisecond); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	looping.Store(false) // what is still queued ends quickly when the engine stops
	if failed.Load() > 0 {
		t.Fatalf("%d of 50 requests to funcs.hello failed while funcs.loop looped", failed.Load())
	}
}

// A loop through NATS ends after MaxDepth hops, with an error that says so, long before any
// timeout.
func TestLoopThroughNATSEndsAtMaxDepth(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{
		"loop.lua": "--* subject: funcs.loop\nlocal nats = require('nats')\nfunction OnMessage(s, p) return assert(nats.request('funcs.loop', p, 20)) end",
	})
	startEngine(t, ns, dir, withModules(t, ns, Options{MaxDepth: 3}))
	m := request(t, connect(t, ns), "funcs.loop", "")
	if m.Header.Get(micro.ErrorCodeHeader) != "500" || !strings.Contains(m.Header.Get(micro.ErrorHeader), "call depth 4 exceeds max_depth 3") {
		t.Fatalf("got %s %v", m.Data, m.Header)
	}
}

// A message that says its sender waits less than the script's timeout ends the call when the
// sender stops waiting: the call does not go on burning CPU for nobody.
func TestCallEndsWithItsCallersDeadline(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{"spin.lua": "--* subject: funcs.spin\n--* timeout: 30s\nfunction OnMessage() while true do end end"})
	startEngine(t, ns, dir, Options{})
	m := &nats.Msg{Subject: "funcs.spin", Header: nats.Header{}}
	m.Header.Set(callctx.HeaderTimeout, "200ms")
	reply, err := connect(t, ns).RequestMsg(m, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Answered, well before the script's own 30s and the requester's 10s: ended at about 200ms.
	if reply.Header.Get(micro.ErrorCodeHeader) != "504" || !strings.Contains(reply.Header.Get(micro.ErrorHeader), "timed out after ") {
		t.Fatalf("got %v", reply.Header)
	}
}

// A request whose reply subject leaves no room in NATS's protocol line for the reply gets none:
// sending it would make the server close msgscript's connection.
func TestReplySubjectTooLong(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{
		"big.lua":   "--* subject: z\nfunction OnMessage() return string.rep('x', 100000) end",
		"hello.lua": hello,
	})
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	// The request's arguments "z <reply> 1" are exactly 4096 bytes, NATS's max_control_line: the
	// server takes it. The reply's, "<reply> 100000", would not fit.
	reply := "rp." + strings.Repeat("r", 4096-len("z  1")-3)
	if err := nc.PublishRequest("z", reply, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		request(t, nc, "funcs.hello", "still here")
	}
}

// msgscript replies to inboxes, never to NATS's own subjects: a client naming
// $JS.API.STREAM.DELETE.orders as its reply subject would otherwise have msgscript delete a stream
// with its own permissions.
func TestNoReplyToNATSOwnSubjects(t *testing.T) {
	ns := startNATS(t)
	startEngine(t, ns, testfiles.Dir(t, map[string]string{"hello.lua": hello}), Options{})
	nc := connect(t, ns)
	watch, err := nc.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	request(t, nc, "funcs.hello", "ready") // subscribed
	for _, reply := range []string{"$JS.API.STREAM.DELETE.orders", "$SYS.REQ.SERVER.PING", "$KV.config.key", "x.*", "a..b"} {
		if err := nc.PublishRequest("funcs.hello", reply, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	request(t, nc, "funcs.hello", "after") // the requests above were handled before this one's reply
	for {
		m, err := watch.NextMsg(100 * time.Millisecond)
		if err != nil {
			break
		}
		if m.Subject != "funcs.hello" && !strings.HasPrefix(m.Subject, "_INBOX.") {
			t.Errorf("msgscript published to %s", m.Subject)
		}
	}
}

// A call stuck in Go code that ignores its context does not hold Stop (and with it a reload, or
// SIGTERM) for ever: Stop cancels it, waits a moment, reports it and returns.
func TestStopLeavesAStuckCallBehind(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"stuck.lua": "--* subject: funcs.stuck\nfunction OnMessage() block() end"})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{}, 1)
	block := func(L *lua.LState) {
		L.SetGlobal("block", L.NewFunction(func(L *lua.LState) int {
			started <- struct{}{}
			<-release // deaf to the call's context
			return 0
		}))
	}
	core, logs := observer.New(zap.ErrorLevel)
	e := New(connect(t, ns), dirstore.New(dir, zap.New(core)), Options{Preload: []Preloader{block}, Logger: zap.New(core)})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := connect(t, ns).Publish("funcs.stuck", nil); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.Stop(ctx) }()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Stop waits for a call that never ends")
	}
	if got := logs.FilterMessage("calls still running after being cancelled; leaving them behind").Len(); got != 1 {
		t.Errorf("%d reports of the call left behind", got)
	}
}

// A script fanning out to its own subject (ten publishes a call) sends no more than its send
// rate; the flood it would be (10, 100, 1000... messages) had NATS drop msgscript's connection as
// a slow consumer. Meanwhile the other scripts answer.
func TestSendRateBoundsAFanOut(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{
		"fan.lua":   "--* subject: funcs.fan\n--* timeout: 200ms\nlocal nats = require('nats')\nfunction OnMessage(s, p)\n  for i = 1, 10 do nats.publish('funcs.fan', 'go') end\nend\n",
		"hello.lua": hello,
	})
	startEngine(t, ns, dir, withModules(t, ns, Options{SendRate: 50, MaxDepth: 100}))
	nc := connect(t, ns)
	request(t, nc, "funcs.hello", "ready")
	seen, err := nc.SubscribeSync("funcs.fan")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("funcs.fan", []byte("go")); err != nil {
		t.Fatal(err)
	}
	n := 0
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		if _, err := seen.NextMsg(time.Until(end)); err == nil {
			n++
		}
	}
	// One second's burst (50) and one second at the rate (50), and the first message.
	if n > 101 || n < 10 {
		t.Errorf("%d messages in a second, want at most 101 (send_rate 50)", n)
	}
	request(t, nc, "funcs.hello", "still answering")
}

// A call still running when Stop runs out of time is cancelled: an endless Lua loop ends there
// and then, not at its own deadline, and nothing is left behind.
func TestStopCancelsALoopingCall(t *testing.T) {
	ns := startNATS(t)
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"loop.lua": "--* subject: funcs.loop\n--* timeout: 1m\nfunction OnMessage() started() while true do end end"})
	started := make(chan struct{}, 1)
	signal := func(L *lua.LState) {
		L.SetGlobal("started", L.NewFunction(func(L *lua.LState) int { started <- struct{}{}; return 0 }))
	}
	core, logs := observer.New(zap.InfoLevel)
	e := New(connect(t, ns), dirstore.New(dir, zap.New(core)), Options{Preload: []Preloader{signal}, Logger: zap.New(core)})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := connect(t, ns).Publish("funcs.loop", nil); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := e.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop: %v", err)
	}
	if logs.FilterMessage("calls still running after being cancelled; leaving them behind").Len() != 0 {
		t.Error("the looping call was left behind, not cancelled")
	}
	if failed := logs.FilterMessage("script failed").All(); len(failed) != 1 || !strings.Contains(failed[0].ContextMap()["error"].(string), "canceled") {
		t.Errorf("the call's end: %v", failed)
	}
}
