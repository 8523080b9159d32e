package engine

import "slices"

// Triggers (stream consumers, cron ticks) take the slots all calls share in turn with the
// subjects' waiting messages: a trigger waiting for a slot stands in the dispatcher's ready list
// as a subject with waiting messages does, and the worker that comes to it there hands it the
// slot. Triggers used to wait with a blocking send on the slots, which Go completes before any
// worker looks at the queues: five stream scripts working through a backlog, allowed more calls
// together than there are slots, took every slot given back, and no core message ran until the
// backlog was done.
//
// Triggers together hold at most turnCap slots, leaving a subject's share to the messages: stream
// scripts whose calls request another script (nats.request) over a backlog otherwise held every
// slot, each call waiting for a reply from a script that no slot was left to run, until their
// timeouts; the backlog ran at one call per timeout, the rest went to the dead letters.

// turnCapOf is how many slots the triggers may hold together: all but a subject's share.
func turnCapOf(o *Options) int {
	return max(1, o.MaxConcurrent-o.MaxConcurrentPerSubject)
}

// turnQueue is where a trigger waits for its turn. It is the trigger's own, not in d.queues: its
// name is only for reading.
func (d *dispatcher) turnQueue(name string) *subjectQueue {
	return &subjectQueue{pattern: name}
}

// awaitSlot asks for one of the slots all calls share on behalf of a trigger waiting in q. The
// returned channel receives once the slot is the trigger's, which then gives it back with
// releaseTurn; a trigger that stops waiting first calls withdraw. The slot is taken at once when
// one is free, nobody waits for one and the triggers hold less than their cap.
func (d *dispatcher) awaitSlot(q *subjectQueue) chan struct{} {
	granted := make(chan struct{}, 1)
	d.wmu.Lock()
	if len(d.ready) == 0 && d.turnCalls < d.turnCap && d.acquire(0) {
		d.turnCalls++
		d.wmu.Unlock()
		granted <- struct{}{}
		return granted
	}
	q.turns = append(q.turns, granted)
	if !q.ready && !q.parked {
		d.markReady(q)
	}
	d.wmu.Unlock()
	d.wakeWorker() // a slot may be free, with the waiting ahead at their share
	return granted
}

// withdraw gives up a wait of awaitSlot whose grant was not received; a slot given meanwhile is
// given back.
func (d *dispatcher) withdraw(q *subjectQueue, granted chan struct{}) {
	d.wmu.Lock()
	if i := slices.Index(q.turns, granted); i >= 0 {
		q.turns = slices.Delete(q.turns, i, i+1)
		d.unpark() // q may have been the one let back in turn
		d.wmu.Unlock()
		return
	}
	d.wmu.Unlock()
	<-granted
	d.releaseTurn()
}

// releaseTurn gives back a slot a trigger was granted.
func (d *dispatcher) releaseTurn() {
	d.wmu.Lock()
	d.turnCalls--
	d.unpark()
	d.wmu.Unlock()
	d.release()
}

// unpark lets the next trigger waiting because the triggers held their cap take its turn again,
// when they hold less; under wmu. Each slot a trigger gives back lets one in, and so does a
// trigger let in that stops waiting before its turn: otherwise, its call gone, a trigger still
// parked could wait with slots free.
func (d *dispatcher) unpark() {
	for d.turnCalls < d.turnCap && len(d.parked) > 0 {
		q := d.parked[0]
		d.parked = d.parked[1:]
		q.parked = false
		if len(q.turns) > 0 {
			d.markReady(q)
			return
		}
	}
}

// takeTurn serves q, the i-th in d.ready, with a trigger waiting: it hands that trigger a free
// slot or, when the triggers hold their cap, parks q until one of their calls ends. It reports
// false, leaving q in its place, when no slot is free for it (a trigger's call is a client's,
// depth 0: see nested.go); under wmu.
func (d *dispatcher) takeTurn(i int) bool {
	q := d.ready[i]
	atCap := d.turnCalls >= d.turnCap
	if !atCap && !d.acquire(0) {
		return false
	}
	d.unready(i)
	if atCap {
		q.parked = true
		d.parked = append(d.parked, q)
		return true
	}
	d.turnCalls++
	q.turns[0] <- struct{}{} // buffered, and sent to once
	q.turns = slices.Delete(q.turns, 0, 1)
	if len(q.turns) > 0 {
		d.markReady(q) // its next trigger comes after the others waiting (round robin)
	}
	return true
}
