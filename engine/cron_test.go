package engine

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
)

// ticks records the second each cron call ran in, and on which instance.
type ticks struct {
	mu   sync.Mutex
	runs map[int64][]string // unix second -> instances
	n    int
}

func (k *ticks) preload(instance string) Preloader {
	return func(L *lua.LState) {
		L.SetGlobal("tick", L.NewFunction(func(L *lua.LState) int {
			k.mu.Lock()
			defer k.mu.Unlock()
			if L.CheckString(1) != "jobs.tick" || L.CheckString(2) != "" {
				L.RaiseError("called with %q, %q", L.CheckString(1), L.CheckString(2))
			}
			// A call starts just after its tick: the second it starts in is the tick's.
			sec := time.Now().Unix()
			k.runs[sec] = append(k.runs[sec], instance)
			k.n++
			return 0
		}))
	}
}

// With two instances, a cron @every 1s script runs once per tick, on one instance or the other.
func TestCronRunsOncePerTickAcrossInstances(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	dir := testfiles.Dir(t, map[string]string{"tick.lua": "--* subject: jobs.tick\n--* cron: @every 1s\nfunction OnMessage(s, p) tick(s, p) end\n"})
	k := &ticks{runs: map[int64][]string{}}
	startEngine(t, ns, dir, Options{Preload: []Preloader{k.preload("a")}})
	startEngine(t, ns, dir, Options{Preload: []Preloader{k.preload("b")}})
	time.Sleep(3500 * time.Millisecond)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n < 3 {
		t.Fatalf("%d runs in 3.5 s of @every 1s", k.n)
	}
	for sec, who := range k.runs {
		if len(who) > 1 {
			t.Errorf("tick %d ran %d times: %v", sec, len(who), who)
		}
	}
}

// A cron script still answers requests on its subject, so it can be tried by hand.
func TestCronScriptAnswersRequests(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	dir := testfiles.Dir(t, map[string]string{"tick.lua": "--* subject: jobs.nightly\n--* cron: @daily\nfunction OnMessage(s, p) return 'ran' end\n"})
	startEngine(t, ns, dir, Options{})
	if m := request(t, connect(t, ns), "jobs.nightly", ""); string(m.Data) != `{"tick":"ran"}` {
		t.Fatalf("got %s", m.Data)
	}
}

// Removing a cron script stops its schedule.
func TestCronStopsWithItsScript(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	dir := testfiles.Dir(t, map[string]string{"tick.lua": "--* subject: jobs.tick\n--* cron: @every 1s\nfunction OnMessage(s, p) tick(s, p) end\n"})
	k := &ticks{runs: map[int64][]string{}}
	e := startEngine(t, ns, dir, Options{Preload: []Preloader{k.preload("a")}})
	runs := func() int {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.n
	}
	deadline := time.Now().Add(5 * time.Second)
	for runs() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no tick in 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.Remove(filepath.Join(dir, "tick.lua")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the script removed", func() bool { return len(e.Registry().Status()) == 0 })
	time.Sleep(100 * time.Millisecond) // a call that started just before
	before := runs()
	time.Sleep(2500 * time.Millisecond)
	if after := runs(); after != before {
		t.Fatalf("%d ticks ran after the script was removed", after-before)
	}
}

// A call longer than the interval: the ticks meanwhile are let go, not piled up, so a slow cron
// script holds one call slot, not all of them.
func TestCronOneCallAtATime(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	dir := testfiles.Dir(t, map[string]string{"slow.lua": "--* subject: jobs.slow\n--* cron: @every 1s\n--* timeout: 10s\nfunction OnMessage() count() sleep(2500) end\n"})
	var started atomicCounter
	e := startEngine(t, ns, dir, Options{Preload: []Preloader{counter(&started.Int64)}})
	time.Sleep(4200 * time.Millisecond)
	st, _, _ := e.Registry().ScriptStatus("jobs.slow", "slow")
	if st.Trigger == nil || st.Trigger.Skipped == 0 || st.Trigger.Ticks > 2 || started.Load() > 2 {
		t.Fatalf("4.2s of @every 1s calls of 2.5s: %d started, trigger %+v", started.Load(), st.Trigger)
	}
}

// The election bucket deleted (nats kv del msgscript_cron): it is made again at the next tick.
func TestCronBucketDeleted(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	dir := testfiles.Dir(t, map[string]string{"tick.lua": "--* subject: jobs.tick\n--* cron: @every 1s\nfunction OnMessage() count() end\n"})
	var n atomicCounter
	startEngine(t, ns, dir, Options{Preload: []Preloader{counter(&n.Int64)}, retryEvery: 100 * time.Millisecond})
	eventually(t, "a first tick", func() bool { return n.Load() > 0 })
	js := jetStreamWith(t, ns, "", "")
	if err := js.DeleteKeyValue(context.Background(), CronBucket); err != nil {
		t.Fatal(err)
	}
	before := n.Load()
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() < before+2 {
		if time.Now().After(deadline) {
			t.Fatal("no tick after the bucket was deleted")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
