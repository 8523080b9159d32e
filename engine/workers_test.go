package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
)

// Goroutines follow the load, not the number of scripts: 500 subjects, each answered once, leave
// a few workers, not one or two per subject (20,000 goroutines for 10,000 scripts).
func TestGoroutinesDoNotGrowWithSubjects(t *testing.T) {
	ns := startNATS(t)
	files := map[string]string{}
	for i := range 500 {
		files[fmt.Sprintf("s%d.lua", i)] = fmt.Sprintf("--* subject: funcs.s%d\nfunction OnMessage(s, p) return 'ok' end\n", i)
	}
	dir := testfiles.Dir(t, files)
	before := runtime.NumGoroutine()
	startEngine(t, ns, dir, Options{})
	nc := connect(t, ns)
	for i := range 500 {
		if m := request(t, nc, fmt.Sprintf("funcs.s%d", i), ""); string(m.Data) != fmt.Sprintf(`{"s%d":"ok"}`, i) {
			t.Fatalf("funcs.s%d: %s", i, m.Data)
		}
	}
	if grown := runtime.NumGoroutine() - before; grown > 50 {
		t.Errorf("%d goroutines more with 500 subjects answered", grown)
	}
}

// A subject's queue is made when it is subscribed, not per message, and goes with its last script.
func TestSubjectQueuesFollowSubscriptions(t *testing.T) {
	ns := startNATS(t)
	dir := testfiles.Dir(t, map[string]string{"a.lua": "--* subject: funcs.a\nfunction OnMessage() return 'a' end\n", "b.lua": hello})
	e := startEngine(t, ns, dir, Options{})
	queues := func() map[string]bool {
		e.disp.wmu.Lock()
		defer e.disp.wmu.Unlock()
		out := map[string]bool{}
		for p := range e.disp.queues {
			out[p] = true
		}
		return out
	}
	if q := queues(); !q["funcs.a"] || !q["funcs.hello"] || len(q) != 2 {
		t.Fatalf("queues %v, want one per subscribed subject", q)
	}
	request(t, connect(t, ns), "funcs.a", "")
	if q := queues(); !q["funcs.a"] {
		t.Fatal("a message took its subject's queue away")
	}
	if err := os.Remove(filepath.Join(dir, "a.lua")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the queue of a subject with no script left goes", func() bool { return !queues()["funcs.a"] })
}

// A steady load keeps its workers: 8 requesters at once start about ten, not dozens (when only
// two idle workers were kept, the others ended and the next messages started them again: 45 to
// 149 for these 4,000 messages); once the load is gone, the spare workers end.
func TestWorkersFollowASteadyLoad(t *testing.T) {
	ns := startNATS(t)
	e := startEngine(t, ns, testfiles.Dir(t, map[string]string{"hello.lua": hello}), Options{})
	var wg sync.WaitGroup
	for range 8 {
		nc := connect(t, ns)
		wg.Go(func() {
			for range 500 {
				if _, err := nc.Request("funcs.hello", []byte("x"), 5*time.Second); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	e.disp.wmu.Lock()
	started := e.disp.started
	e.disp.wmu.Unlock()
	if started > 24 {
		t.Errorf("%d workers started for 4,000 messages from 8 requesters", started)
	}
	eventuallyWithin(t, 10*time.Second, "the spare workers end once the load is gone", func() bool {
		e.disp.wmu.Lock()
		defer e.disp.wmu.Unlock()
		return e.disp.nworkers <= minIdle+1
	})
}

// Of the idle workers one listens for messages and the others stand by; the listener that takes a
// call hands its place to another, so a call that takes long never holds up the next message:
// after a burst left several workers idle, and again once the spare ones have ended.
func TestAnIdleWorkerAlwaysListens(t *testing.T) {
	ns := startNATS(t)
	var calls atomic.Int64
	dir := testfiles.Dir(t, map[string]string{
		"hello.lua": hello,
		"nap.lua":   "--* subject: funcs.nap\nfunction OnMessage() sleep(100) return 'ok' end\n",
		"block.lua": "--* subject: funcs.block\nfunction OnMessage() count() sleep(3000) return 'done' end\n",
	})
	e := startEngine(t, ns, dir, Options{Preload: []Preloader{counter(&calls)}})
	nc := connect(t, ns)
	workers := func() (idle, running int) {
		e.disp.wmu.Lock()
		defer e.disp.wmu.Unlock()
		return e.disp.idle, e.disp.nworkers
	}
	blockThenHello := func(when string) {
		t.Helper()
		before := calls.Load()
		go func() { _, _ = nc.Request("funcs.block", nil, 10*time.Second) }()
		eventually(t, when+": the blocking call runs", func() bool { return calls.Load() > before })
		if _, err := nc.Request("funcs.hello", []byte("x"), 2*time.Second); err != nil {
			t.Fatalf("%s: hello while a call blocks: %v", when, err)
		}
	}

	burst := func() {
		t.Helper()
		eventually(t, "the blocking calls end", func() bool {
			idle, running := workers()
			return idle == running
		})
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() { _, _ = nc.Request("funcs.nap", nil, 5*time.Second) })
		}
		wg.Wait()
		idle, _ := workers()
		if idle <= minIdle+1 {
			t.Fatalf("%d idle workers after 6 calls at once: the test needs a few standing by", idle)
		}
	}

	burst()
	blockThenHello("after a burst")
	// More workers wait than are to be kept, as after a decay whose signals to end found none of
	// them waiting: those woken to take the listener's place end, and must pass it on.
	burst()
	e.disp.wmu.Lock()
	e.disp.idleCap = minIdle
	e.disp.wmu.Unlock()
	blockThenHello("with more workers waiting than kept")
	eventuallyWithin(t, 10*time.Second, "the spare workers end", func() bool {
		_, running := workers()
		return running <= minIdle
	})
	blockThenHello("once the spare workers ended")
}

// A slot a stream trigger gives back wakes an idle worker to run a message waiting for one; when
// that was the last idle worker, another must listen for the messages that come next: a request
// must not wait for the call it started, with a slot free.
func TestASlotFreedByATriggerLeavesAListener(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	var calls atomic.Int64
	dir := testfiles.Dir(t, map[string]string{
		"hook.lua":  "--* subject: hooks.in\n--* stream: HOOKS\n--* timeout: 20s\nfunction OnMessage() sleep(1000) return 'ok' end\n",
		"block.lua": "--* subject: funcs.block\n--* timeout: 20s\nfunction OnMessage() hold() return 'held' end\n",
		"slow.lua":  "--* subject: funcs.slow\n--* timeout: 20s\nfunction OnMessage() count() sleep(4000) return 'slow' end\n",
		"hello.lua": hello,
	})
	// 4 slots, of which the triggers may hold 2.
	hold, open := gate()
	e := startEngine(t, ns, dir, Options{MaxConcurrent: 4, MaxConcurrentPerSubject: 2, Preload: []Preloader{counter(&calls), hold}})
	t.Cleanup(open) // before the engine stops
	d, nc := e.disp, connect(t, ns)
	publishN(t, js, "hooks.in", 2)
	for range 2 {
		go func() { _, _ = nc.Request("funcs.block", nil, 20*time.Second) }()
	}
	eventually(t, "two stream calls and two of funcs.block hold every slot", func() bool { return len(d.slots) == cap(d.slots) })
	go func() { _, _ = nc.Request("funcs.slow", nil, 20*time.Second) }()
	eventually(t, "funcs.slow waits for a slot", func() bool { _, waiting := d.load(); return waiting == 1 })
	eventually(t, "funcs.slow runs in the first slot given back", func() bool { return calls.Load() == 1 })
	eventually(t, "the stream calls end", func() bool { return len(d.slots) == 3 })
	if _, err := nc.Request("funcs.hello", []byte("x"), 2*time.Second); err != nil {
		d.wmu.Lock()
		defer d.wmu.Unlock()
		t.Fatalf("hello with a slot free and three calls running: %v (idle %d, workers %d, listening %v, messages on the channel %d)",
			err, d.idle, d.nworkers, d.listening, len(d.msgs))
	}
}

// gate gives scripts hold(), which returns once open is called (or the call ends).
func gate() (hold Preloader, open func()) {
	opened := make(chan struct{})
	return func(L *lua.LState) {
		L.SetGlobal("hold", L.NewFunction(func(L *lua.LState) int {
			select {
			case <-opened:
			case <-L.Context().Done():
			}
			return 0
		}))
	}, func() { close(opened) }
}

// Stream triggers working through a backlog take the slots given back in turn with the subjects'
// waiting messages: with the slots held by five slow stream scripts and two core subjects at
// their share, a third subject must get its turns while the backlog lasts, rather than every slot
// going back to a stream script.
func TestStreamBacklogsLeaveCoreSubjectsTheirTurn(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	var calls atomic.Int64
	files := map[string]string{"hello.lua": hello}
	for _, b := range []string{"a", "b"} {
		files["block"+b+".lua"] = "--* subject: funcs.block" + b + "\n--* timeout: 20s\nfunction OnMessage() hold() return 'held' end\n"
	}
	const streams, backlog = 5, 100
	for i := range streams {
		files[fmt.Sprintf("hook%d.lua", i)] = fmt.Sprintf("--* subject: hooks.s%d\n--* stream: HOOKS\n"+
			"function OnMessage() count() sleep(100) return 'ok' end\n", i)
		publishN(t, js, fmt.Sprintf("hooks.s%d", i), backlog)
	}
	// 8 slots, one kept for nested calls; each subject and stream script may hold 2 (the stream
	// scripts 6 together): the stream scripts get 3, below their cap, and wait for more.
	hold, open := gate()
	e := startEngine(t, ns, testfiles.Dir(t, files), Options{MaxConcurrent: 8, Preload: []Preloader{counter(&calls), hold}})
	t.Cleanup(open) // before the engine stops
	d, nc := e.disp, connect(t, ns)
	for _, subject := range []string{"funcs.blocka", "funcs.blocka", "funcs.blockb", "funcs.blockb"} {
		go func() { _, _ = nc.Request(subject, nil, 20*time.Second) }()
	}
	eventually(t, "the stream calls and the two blocking subjects hold every slot (but the one kept for nested calls)", func() bool {
		d.wmu.Lock()
		defer d.wmu.Unlock()
		a, b := d.queues["funcs.blocka"], d.queues["funcs.blockb"]
		return len(d.slots) == cap(d.slots)-d.reserve(0) && a != nil && a.running == 2 && b != nil && b.running == 2
	})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 10 {
		wg.Go(func() {
			if _, err := nc.Request("funcs.hello", []byte("x"), 3*time.Second); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n >= streams*backlog {
		t.Fatalf("the backlog (%d calls) was done before the requests were answered: nothing shows", n)
	}
	if failed.Load() > 0 {
		t.Fatalf("%d of 10 requests to funcs.hello unanswered within 3 s while stream scripts worked through their backlog (%d of %d calls done)",
			failed.Load(), calls.Load(), streams*backlog)
	}
}
