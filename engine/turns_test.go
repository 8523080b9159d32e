package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msgscript/msgscript/internal/testfiles"
	"github.com/msgscript/msgscript/internal/testnats"
)

// A trigger waiting for a slot gets the next one given back; one that stops waiting gives back a
// slot granted meanwhile, and none is granted to it afterwards.
func TestTriggerTurns(t *testing.T) {
	e := startEngine(t, startNATS(t), t.TempDir(), Options{MaxConcurrent: 2})
	d := e.disp
	q := d.turnQueue("test")
	// granted tells whether ch receives within d: long enough to be sure it does, short enough
	// for a wait that should not.
	granted := func(ch chan struct{}, d time.Duration) bool {
		select {
		case <-ch:
			return true
		case <-time.After(d):
			return false
		}
	}
	const yes, no = 5 * time.Second, 200 * time.Millisecond

	// Free slots: taken at once; withdrawn, given back.
	g := d.awaitSlot(q)
	if len(d.slots) != 1 {
		t.Fatalf("%d slots taken, want 1", len(d.slots))
	}
	d.withdraw(q, g)
	if len(d.slots) != 0 {
		t.Fatalf("%d slots taken after withdrawing a granted wait, want 0", len(d.slots))
	}

	// Every slot taken: the trigger waits, and gets the first one given back.
	d.slots <- struct{}{}
	d.slots <- struct{}{}
	g = d.awaitSlot(q)
	if granted(g, no) {
		t.Fatal("granted a slot while every slot was taken")
	}
	d.release()
	if !granted(g, yes) {
		t.Fatal("no slot granted once one was given back")
	}

	// Withdrawn while waiting: the slot given back afterwards stays free.
	d.releaseTurn()       // the trigger's call ends
	d.slots <- struct{}{} // and a message's call takes its slot
	g = d.awaitSlot(q)
	d.withdraw(q, g)
	d.release()
	if granted(g, no) {
		t.Fatal("a withdrawn wait was granted a slot")
	}
	eventually(t, "the slot given back stays free", func() bool { return len(d.slots) == 1 })
	d.release()
}

// A trigger let back in turn that stops waiting before its turn passes it on: a trigger still
// waiting because the triggers held their cap must not wait on with a slot free.
func TestTriggerLetInPassesItsTurnOn(t *testing.T) {
	e := startEngine(t, startNATS(t), t.TempDir(), Options{MaxConcurrent: 2, MaxConcurrentPerSubject: 1})
	d := e.disp // 2 slots, of which the triggers may hold 1
	<-d.awaitSlot(d.turnQueue("x"))
	d.slots <- struct{}{} // the other slot, held by a message's call
	qa, qb := d.turnQueue("a"), d.turnQueue("b")
	ga, gb := d.awaitSlot(qa), d.awaitSlot(qb)
	eventually(t, "a and b wait for the triggers to hold less", func() bool {
		d.wmu.Lock()
		defer d.wmu.Unlock()
		return len(d.parked) == 2
	})
	// x's call ends: what releaseTurn does before giving its slot back lets a in...
	d.wmu.Lock()
	d.turnCalls--
	d.unpark()
	d.wmu.Unlock()
	// ...which stops waiting before the slot is back.
	d.withdraw(qa, ga)
	d.release()
	select {
	case <-gb:
	case <-time.After(2 * time.Second):
		t.Fatal("b still waits, with a slot free and the triggers holding none")
	}
	d.releaseTurn()
	d.release()
}

// Stream scripts removed while their calls wait for a slot give back every slot: with two slots,
// one leaked would leave the remaining script and the core subjects a single one, two would stop
// everything.
func TestRemovedTriggersLeaveNoSlotTaken(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	var calls atomic.Int64
	files := map[string]string{"hello.lua": hello}
	for i := range 4 {
		files[fmt.Sprintf("hook%d.lua", i)] = fmt.Sprintf("--* subject: hooks.s%d\n--* stream: HOOKS\n"+
			"function OnMessage() count() sleep(20) return 'ok' end\n", i)
		publishN(t, js, fmt.Sprintf("hooks.s%d", i), 40)
	}
	dir := testfiles.Dir(t, files)
	e := startEngine(t, ns, dir, Options{MaxConcurrent: 2, MaxConcurrentPerSubject: 1, Preload: []Preloader{counter(&calls)}})
	d := e.disp
	eventually(t, "the stream calls hold the triggers' slots", func() bool { return triggerSlots(d) == d.turnCap })
	for i := 1; i < 4; i++ {
		if err := os.Remove(filepath.Join(dir, fmt.Sprintf("hook%d.lua", i))); err != nil {
			t.Fatal(err)
		}
	}
	consumerSettled(t, js, "HOOKS", "hooks.s0", "hook0")
	eventually(t, "every slot given back", func() bool { return len(d.slots) == 0 && triggerSlots(d) == 0 })
	if _, err := connect(t, ns).Request("funcs.hello", []byte("x"), 2*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Stream scripts that request another script, over a backlog, leave that script the slots to
// answer them: allowed 12 calls together on 8 slots, they held every slot, each call waiting for
// a funcs.hello that no slot was left to run.
func TestStreamScriptsCallingAScriptLeaveItSlots(t *testing.T) {
	ns := testnats.StartJetStream(t, "")
	js := jetStreamWith(t, ns, "HOOKS", "hooks.>")
	var calls atomic.Int64
	files := map[string]string{"hello.lua": hello}
	const streams, backlog = 3, 40
	for i := range streams {
		files[fmt.Sprintf("hook%d.lua", i)] = fmt.Sprintf("--* subject: hooks.s%d\n--* stream: HOOKS\n--* timeout: 3s\n"+
			"local nats = require('nats')\n"+
			"function OnMessage(s, p) sleep(20) assert(nats.request('funcs.hello', p, 2)) count() return 'ok' end\n", i)
		publishN(t, js, fmt.Sprintf("hooks.s%d", i), backlog)
	}
	opts := withModules(t, ns, Options{MaxConcurrent: 8, MaxConcurrentPerSubject: 4, Preload: []Preloader{counter(&calls)}})
	startEngine(t, ns, testfiles.Dir(t, files), opts)
	eventuallyWithin(t, 10*time.Second, "the backlog done", func() bool { return calls.Load() == streams*backlog })
}

// triggerSlots is how many slots the triggers hold.
func triggerSlots(d *dispatcher) int {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	return d.turnCalls
}
