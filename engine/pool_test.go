package engine

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"weak"

	"github.com/nats-io/nats.go"

	"github.com/msgscript/msgscript/store"
)

// Thousands of scripts called now and then keep IdleStates idle states between them, not a few
// each: those idle the longest are closed, those of the scripts called last are kept.
func TestIdleStatesAreBoundedAcrossScripts(t *testing.T) {
	reg := NewRegistry(Options{IdleStates: 4})
	t.Cleanup(reg.Close)
	reg.Replace(manyScripts(10, "function OnMessage(s, p) return 'ok' end\n"))
	call := func(i int) {
		subject := fmt.Sprintf("funcs.s%d", i)
		if got := string(reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject}).Data); got != `{"s":"ok"}` {
			t.Fatalf("%s: %s", subject, got)
		}
	}
	for i := range 10 {
		call(i)
	}
	if n := reg.idleStates(); n != 4 {
		t.Fatalf("%d idle states after 10 scripts called once, want the bound 4", n)
	}
	if n := reg.opts.idle.len(); n != 4 {
		t.Fatalf("the bound counts %d", n)
	}
	for i := range 10 {
		p, _ := reg.Script(fmt.Sprintf("funcs.s%d", i), "s")
		if want := i >= 6; (p.pool.size() == 1) != want {
			t.Errorf("script %d keeps %d idle states; want one only for the last 4 called", i, p.pool.size())
		}
	}
	// A state taken by a call is no longer idle; it comes back as the most recently used.
	call(0)
	p0, _ := reg.Script("funcs.s0", "s")
	p6, _ := reg.Script("funcs.s6", "s")
	if p0.pool.size() != 1 || p6.pool.size() != 0 || reg.opts.idle.len() != 4 {
		t.Errorf("after calling script 0 again: it keeps %d, script 6 %d, %d idle in all", p0.pool.size(), p6.pool.size(), reg.opts.idle.len())
	}
	// A script removed takes its idle states out of the count.
	reg.Apply([]store.Event{{Op: store.OpDelete, Item: store.Item{Ref: store.Ref{Kind: store.KindScript, Subject: "funcs.s0", Name: "s"}}}})
	if n := reg.opts.idle.len(); n != 3 {
		t.Errorf("after removing a script: %d idle", n)
	}
}

// A state closed because too many are idle is let go of, not kept by its pool's array: with
// thousands of scripts, those were gigabytes.
func TestEvictedStateIsReleased(t *testing.T) {
	reg := NewRegistry(Options{IdleStates: 1})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{
		putScript("funcs.a", "a", "--* subject: funcs.a\nfunction OnMessage() return 'a' end\n"),
		putScript("funcs.b", "b", "--* subject: funcs.b\nfunction OnMessage() return 'b' end\n"),
	})
	reg.Answer(context.Background(), "funcs.a", &nats.Msg{Subject: "funcs.a"})
	a, _ := reg.Script("funcs.a", "a")
	if a.pool.size() != 1 {
		t.Fatal("a keeps no idle state")
	}
	w := weak.Make(a.pool.idle[0].L)
	reg.Answer(context.Background(), "funcs.b", &nats.Msg{Subject: "funcs.b"}) // its state evicts a's
	if a.pool.size() != 0 {
		t.Fatal("a's state was not evicted")
	}
	runtime.GC()
	if w.Value() != nil {
		t.Error("the evicted state is still reachable")
	}
}

// Calls taking and returning states from many goroutines at once keep the bound's list and the
// pools in step: every idle state is in both, once.
func TestIdleStatesUnderConcurrency(t *testing.T) {
	reg := NewRegistry(Options{IdleStates: 3, PoolSize: 2})
	t.Cleanup(reg.Close)
	reg.Replace(manyScripts(4, "function OnMessage(s, p) return 'ok' end\n"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				subject := fmt.Sprintf("funcs.s%d", (g+i)%4)
				if got := string(reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject}).Data); got != `{"s":"ok"}` {
					t.Errorf("%s: %s", subject, got)
					return
				}
			}
		})
	}
	wg.Wait()
	a := reg.opts.idle
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for st := a.head; st != nil; st = st.idle.next {
		n++
		if st.idle.pool == nil || !slices.Contains(st.idle.pool.idle, st) {
			t.Fatalf("state %d of the list is not idle in its pool", n)
		}
	}
	if n != a.n || n != reg.idleStates() || n > 3 {
		t.Errorf("list of %d, counted %d, pools hold %d, bound 3", n, a.n, reg.idleStates())
	}
}

// An edit rebuilds what its subject holds, and leaves the others' as they were: with 10,000
// scripts an edit cost 8 ms of rebuilding everything.
func TestEditRebuildsOnlyItsSubject(t *testing.T) {
	reg := NewRegistry(Options{})
	t.Cleanup(reg.Close)
	reg.Replace(manyScripts(3, "function OnMessage() return 'v1' end\n"))
	before := *reg.bySubject.Load()
	reg.Apply([]store.Event{putScript("funcs.s1", "s", "--* subject: funcs.s1\nfunction OnMessage() return 'v2' end\n")})
	after := *reg.bySubject.Load()
	if after["funcs.s0"] != before["funcs.s0"] || after["funcs.s2"] != before["funcs.s2"] {
		t.Error("the subjects the edit did not touch were rebuilt")
	}
	if after["funcs.s1"] == before["funcs.s1"] {
		t.Fatal("the edited subject was not rebuilt")
	}
	if got := string(reg.Answer(context.Background(), "funcs.s1", &nats.Msg{Subject: "funcs.s1"}).Data); got != `{"s":"v2"}` {
		t.Errorf("edited: %s", got)
	}
	reg.Apply([]store.Event{{Op: store.OpDelete, Item: store.Item{Ref: store.Ref{Kind: store.KindScript, Subject: "funcs.s2", Name: "s"}}}})
	if m := *reg.bySubject.Load(); m["funcs.s2"] != nil || len(m) != 2 || reg.subjects["funcs.s2"] != nil {
		t.Errorf("removed: %v", m)
	}
}
