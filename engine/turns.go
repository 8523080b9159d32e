package engine

import "slices"

// Triggers (stream consumers, cron ticks) take the slots all calls share in turn with the
// subjects' waiting messages: a trigger waiting for a slot stands in the dispatcher's ready list
// as a subject with waiting messages does, and the worker that comes to it there hands it the
// slot. Triggers used to wait with a blocking send on the slots, which Go completes before any
// worker looks at the queues: five stream scripts working through a backlog, allowed more calls
// together than there are slots, took every slot given back, and no core message ran until the
// backlog was done.

// turnQueue is where a trigger waits for its turn. It is the trigger's own, not in d.queues: its
// name is only for reading.
func (d *dispatcher) turnQueue(name string) *subjectQueue {
	return &subjectQueue{pattern: name}
}

// awaitSlot asks for one of the slots all calls share on behalf of a trigger waiting in q. The
// returned channel receives once the slot is the trigger's, which then gives it back with
// release; a trigger that stops waiting first calls withdraw. The slot is taken at once when one
// is free and nobody waits for one.
func (d *dispatcher) awaitSlot(q *subjectQueue) chan struct{} {
	granted := make(chan struct{}, 1)
	d.wmu.Lock()
	if len(d.ready) == 0 && d.acquire() {
		d.wmu.Unlock()
		granted <- struct{}{}
		return granted
	}
	q.turns = append(q.turns, granted)
	if !q.ready {
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
		d.wmu.Unlock()
		return
	}
	d.wmu.Unlock()
	<-granted
	d.release()
}

// grantTurn gives a free slot to the trigger first in q; under wmu, with the slot taken.
func (q *subjectQueue) grantTurn() {
	q.turns[0] <- struct{}{} // buffered, and sent to once
	q.turns = slices.Delete(q.turns, 0, 1)
}
