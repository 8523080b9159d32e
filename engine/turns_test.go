package engine

import (
	"testing"
	"time"
)

// A trigger waiting for a slot gets the next one given back; one that stops waiting gives back a
// slot granted meanwhile, and none is granted to it afterwards.
func TestTriggerTurns(t *testing.T) {
	e := startEngine(t, startNATS(t), t.TempDir(), Options{MaxConcurrent: 2})
	d := e.disp
	q := d.turnQueue("test")
	granted := func(ch chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-time.After(200 * time.Millisecond):
			return false
		}
	}

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
	if granted(g) {
		t.Fatal("granted a slot while every slot was taken")
	}
	d.release()
	if !granted(g) {
		t.Fatal("no slot granted once one was given back")
	}

	// Withdrawn while waiting: the slot given back afterwards stays free.
	g = d.awaitSlot(q)
	d.withdraw(q, g)
	d.release()
	if granted(g) {
		t.Fatal("a withdrawn wait was granted a slot")
	}
	eventually(t, "the slot given back stays free", func() bool { return len(d.slots) == 1 })
	d.release() // the one granted above
}
