package engine

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/internal/testfiles"
)

// A worker that takes a message with none other waiting runs it without waking another to listen
// in its place; the call hands the place on when it runs long: every handOverEvery instructions,
// and before a module's Go function, which may wait.
func TestLongCallsHandTheListenersPlaceOn(t *testing.T) {
	var relistened atomic.Int64
	root := &callRoot{relisten: func() { relistened.Add(1) }}
	d := newDeadline(nil)
	defer forgetDeadline(d)
	d.arm(context.WithValue(context.Background(), callRootKey{}, root), time.Minute)
	defer d.disarm()

	root.unlistened.Store(true)
	for range handOverEvery - 1 {
		d.Done()
	}
	if relistened.Load() != 0 {
		t.Fatalf("handed over after fewer than %d instructions", handOverEvery)
	}
	d.Done()
	if relistened.Load() != 1 || root.unlistened.Load() {
		t.Fatalf("not handed over after %d instructions: %d", handOverEvery, relistened.Load())
	}
	for range 2 * handOverEvery {
		d.Done()
	}
	if relistened.Load() != 1 {
		t.Fatalf("handed over again with the place taken: %d", relistened.Load())
	}

	L := lua.NewState()
	defer L.Close()
	L.SetContext(d)
	mod := L.NewTable()
	mod.RawSetString("wait", L.NewFunction(func(L *lua.LState) int { return 0 }))
	guardModule(L, mod, map[*lua.LTable]bool{})
	L.SetGlobal("mod", mod)
	root.unlistened.Store(true)
	if err := L.DoString(`mod.wait()`); err != nil {
		t.Fatal(err)
	}
	if relistened.Load() != 2 {
		t.Fatalf("a module's function did not hand over: %d", relistened.Load())
	}
}

// However the call that took the listener's place runs long, looping in Lua, waiting in a
// module's function or in other Go code, the next message is taken while it runs.
func TestTheNextMessageIsTakenWhileACallRunsLong(t *testing.T) {
	ns := startNATS(t)
	var calls atomic.Int64
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua": hello,
		"loop.lua":  "--* subject: funcs.loop\nfunction OnMessage() count() local t = os.clock() + 3 while os.clock() < t do end return 'done' end\n",
		"wait.lua":  "--* subject: funcs.wait\nfunction OnMessage() count() sleep(3000) return 'done' end\n",
	})
	startEngine(t, ns, dir, Options{Preload: []Preloader{counter(&calls)}})
	nc := connect(t, ns)
	for _, subject := range []string{"funcs.loop", "funcs.wait"} {
		// Only one message waits at a time: the worker that takes it has none to hand over to.
		if _, err := nc.Request("funcs.hello", []byte("x"), 2*time.Second); err != nil {
			t.Fatal(err)
		}
		before := calls.Load()
		go func() { _, _ = nc.Request(subject, nil, 10*time.Second) }()
		eventually(t, subject+" runs", func() bool { return calls.Load() > before })
		if _, err := nc.Request("funcs.hello", []byte("x"), 2*time.Second); err != nil {
			t.Fatalf("hello while %s runs: %v", subject, err)
		}
	}
}
