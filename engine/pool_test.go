package engine

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"weak"

	"github.com/nats-io/nats.go"
	lua "github.com/yuin/gopher-lua"

	"github.com/msgscript/msgscript/callctx"
	"github.com/msgscript/msgscript/store"
)

// counted gives scripts whoami() ("subject/name" of the script the call runs) and counts the
// states made in made; the calls that reach hold() wait there for open.
func counted(made *atomic.Int64) (Preloader, func() int64, func()) {
	hold, open := gate()
	var holding atomic.Int64
	return func(L *lua.LState) {
		made.Add(1)
		hold(L)
		base := L.GetGlobal("hold").(*lua.LFunction).GFunction
		L.SetGlobal("hold", L.NewFunction(func(L *lua.LState) int {
			holding.Add(1)
			return base(L)
		}))
		L.SetGlobal("whoami", L.NewFunction(func(L *lua.LState) int {
			s, _ := callctx.ScriptOf(L.Context())
			L.Push(lua.LString(s.Subject + "/" + s.Name))
			return 1
		}))
	}, holding.Load, open
}

// States pass between scripts: calls going to ten scripts one after another, with four idle states
// kept, run on four states (a state per call, ~100 µs, when each script had states of its own),
// each finding its own script's functions and name, not those of the script before it on the state.
func TestStatesServeEveryScript(t *testing.T) {
	var made atomic.Int64
	preload, _, _ := counted(&made)
	reg := NewRegistry(Options{IdleStates: 4, Preload: []Preloader{preload}})
	t.Cleanup(reg.Close)
	var batch []store.Event
	for i := range 10 {
		subject := fmt.Sprintf("funcs.s%d", i)
		// A top level that only defines: a state keeps it between calls of its script.
		batch = append(batch, putScript(subject, "s", fmt.Sprintf("--* subject: %s\nfunction OnMessage() return whoami() .. ' v%d' end\n", subject, i)))
	}
	reg.Replace(batch)
	for round := range 2 {
		for i := range 10 {
			subject := fmt.Sprintf("funcs.s%d", i)
			want := fmt.Sprintf(`{"s":"%s/s v%d"}`, subject, i)
			if got := string(reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject}).Data); got != want {
				t.Fatalf("round %d: %s answered %s, want %s", round, subject, got, want)
			}
		}
	}
	if n := made.Load(); n != 4 {
		t.Errorf("%d states made for 20 calls one after another, want the bound 4", n)
	}
	if n := reg.idleStates(); n != 4 || reg.opts.idle.len() != 4 {
		t.Errorf("%d idle states in the pools, %d counted; want 4", n, reg.opts.idle.len())
	}
}

// What a call leaves on a state is gone when the next call, of another script, gets it.
func TestAStateCarriesNothingToTheNextScript(t *testing.T) {
	var made atomic.Int64
	preload, _, _ := counted(&made)
	reg := NewRegistry(Options{IdleStates: 1, Preload: []Preloader{preload}})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{
		putScript("funcs.a", "a", "--* subject: funcs.a\nsecret = 'a'\nfunction OnMessage() left = 'a'; string.left = 'a'; rawset(_G, 'raw', 'a') return 'set' end\n"),
		putScript("funcs.b", "b", "--* subject: funcs.b\nfunction OnMessage() return tostring(secret) .. tostring(left) .. tostring(string.left) .. tostring(raw) end\n"),
	})
	for range 2 {
		if got := string(reg.Answer(context.Background(), "funcs.a", &nats.Msg{Subject: "funcs.a"}).Data); got != `{"a":"set"}` {
			t.Fatalf("a: %s", got)
		}
		if got := string(reg.Answer(context.Background(), "funcs.b", &nats.Msg{Subject: "funcs.b"}).Data); got != `{"b":"nilnilnilnil"}` {
			t.Fatalf("b found what a left: %s", got)
		}
	}
	if n := made.Load(); n != 1 {
		t.Errorf("%d states made: the two scripts did not share one", n)
	}
}

// States follow the calls running at once, and of those left idle IdleStates stay: five calls held
// at once make five states; when they end, two stay idle and the others are closed, and calls of
// other scripts afterwards take those two rather than make more.
func TestIdleStatesAreBoundedAcrossScripts(t *testing.T) {
	reg, made, open, wg := holdingStates(t, 2, 5)
	open()
	wg.Wait()
	if n := made.Load(); n != 5 {
		t.Fatalf("%d states made for five calls at once", n)
	}
	if n := reg.idleStates(); n != 2 || reg.opts.idle.len() != 2 {
		t.Fatalf("%d idle states in the pools, %d counted; want the bound 2", n, reg.opts.idle.len())
	}
	if n := liveStates(reg); n != 2 {
		t.Fatalf("%d states counted in all, want the 2 idle", n)
	}
	for i := range 10 {
		subject := fmt.Sprintf("funcs.s%d", i)
		if got := string(reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject}).Data); got != `{"s":"ok"}` {
			t.Fatalf("%s: %s", subject, got)
		}
	}
	if n := made.Load(); n != 5 || reg.idleStates() != 2 {
		t.Errorf("after ten calls one after another: %d states made, %d idle", n, reg.idleStates())
	}
	// A script removed takes its idle states out of the count.
	reg.Apply([]store.Event{{Op: store.OpDelete, Item: store.Item{Ref: store.Ref{Kind: store.KindScript, Subject: "funcs.s9", Name: "s"}}}})
	if n := reg.opts.idle.len(); n != 1 {
		t.Errorf("after removing the script whose call ran last: %d idle", n)
	}
}

// States made stay within the bound while some calls hold theirs: calls of other scripts one after
// another take the states idle rather than make new ones (made and closed again, ~200 µs each,
// as calls at once rose and fell).
func TestStatesMadeStayWithinTheBound(t *testing.T) {
	reg, made, open, wg := holdingStates(t, 4, 3)
	t.Cleanup(wg.Wait)
	t.Cleanup(open)
	for round := range 3 {
		for i := 3; i < 10; i++ {
			subject := fmt.Sprintf("funcs.s%d", i)
			if got := string(reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject}).Data); got != `{"s":"ok"}` {
				t.Fatalf("round %d, %s: %s", round, subject, got)
			}
		}
	}
	if n := made.Load(); n != 4 {
		t.Errorf("%d states made, want the bound 4: three held and one the other calls take in turn", n)
	}
}

// holdsWhenAsked is the text of scripts whose calls wait in hold() when their subject ends in
// "held" (see counted).
const holdsWhenAsked = "function OnMessage(s, p) if s:find('held') then hold() end return 'ok' end\n"

// holdingStates is a registry of ten scripts funcs.s0 to funcs.s9 (bound of idle states: idle)
// (holdsWhenAsked), where calls of the first held scripts wait in hold() until open; it returns
// once they all wait, with the count of states made and what the held calls' end waits on.
func holdingStates(t *testing.T, idle, held int) (reg *Registry, made *atomic.Int64, open func(), wg *sync.WaitGroup) {
	made = new(atomic.Int64)
	preload, holding, open := counted(made)
	reg = NewRegistry(Options{IdleStates: idle, Preload: []Preloader{preload}})
	t.Cleanup(reg.Close)
	reg.Replace(manyScripts(10, holdsWhenAsked))
	return reg, made, open, holdCalls(t, reg, held, holding)
}

// holdCalls starts calls of funcs.s0 to funcs.s<n-1> that wait in hold(), and returns once they all
// wait.
func holdCalls(t *testing.T, reg *Registry, n int, holding func() int64) *sync.WaitGroup {
	var wg sync.WaitGroup
	for i := range n {
		subject := fmt.Sprintf("funcs.s%d", i)
		wg.Go(func() { reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject + "held"}) })
	}
	eventually(t, fmt.Sprintf("%d calls held at once", n), func() bool { return holding() == int64(n) })
	return &wg
}

func liveStates(reg *Registry) int {
	a := reg.opts.idle
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.live
}

// A state closed because too many are idle is let go of, not kept by its pool's array: with
// thousands of scripts, those were gigabytes.
func TestEvictedStateIsReleased(t *testing.T) {
	var made atomic.Int64
	var states []weak.Pointer[lua.LState]
	var mu sync.Mutex
	preload, holding, open := counted(&made)
	reg := NewRegistry(Options{IdleStates: 1, Preload: []Preloader{preload, func(L *lua.LState) {
		mu.Lock()
		states = append(states, weak.Make(L))
		mu.Unlock()
	}}})
	t.Cleanup(reg.Close)
	reg.Replace([]store.Event{
		putScript("funcs.a", "a", "--* subject: funcs.a\nfunction OnMessage() hold() return 'a' end\n"),
		putScript("funcs.b", "b", "--* subject: funcs.b\nfunction OnMessage() hold() return 'b' end\n"),
	})
	var wg sync.WaitGroup
	for _, subject := range []string{"funcs.a", "funcs.b"} {
		wg.Go(func() { reg.Answer(context.Background(), subject, &nats.Msg{Subject: subject}) })
	}
	eventually(t, "both calls held", func() bool { return holding() == 2 })
	open()
	wg.Wait() // the second state back evicts the first
	if reg.idleStates() != 1 || len(states) != 2 {
		t.Fatalf("%d idle, %d made", reg.idleStates(), len(states))
	}
	runtime.GC()
	alive := 0
	for _, w := range states {
		if w.Value() != nil {
			alive++
		}
	}
	if alive != 1 {
		t.Errorf("%d of the two states still reachable, want the idle one only", alive)
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
