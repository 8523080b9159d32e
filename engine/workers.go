package engine

import (
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// The core NATS messages of every subscription arrive on one channel (dispatcher.msgs), where one
// idle worker listens (the others stand by, see work): the worker that takes a message runs it
// itself, so a message costs one goroutine hand-off, as in a hand-written responder, and a worker
// whose call ends takes the next message waiting before it waits again. Workers are elastic: the
// listener that takes a message has a standby worker take its place, or when none is left starts
// a spare, before running it (so a slow script never holds up the next message). Workers that
// find nothing to do wait, as many as were busy at once in the last second (at least two); the
// others end. So a steady load keeps its workers instead of starting and ending one per
// message, and after a burst the spare workers end within a second or two. Goroutines follow the
// load, not the number of subjects.
//
// Fairness: a subject pattern runs at most MaxConcurrentPerSubject calls at once, and all of them
// together MaxConcurrent (the dispatcher's slots, shared with the stream and cron triggers, which
// wait for one in turn with the subjects' queues: turns.go). A message that finds its subject's
// share or every slot taken waits in its subject's queue, and the worker goes back for the next
// message: a subject holding its share (a loop through NATS, say) never holds up the others, and
// a flood on one subject never fills the channel the others' messages come through. A worker
// whose call ends runs what waits, subject by subject in turn.

// subjectQueue is one subject pattern's calls running and messages waiting; under
// dispatcher.wmu. It exists while the pattern is subscribed (made then, not per message), or while
// it has calls or messages.
type subjectQueue struct {
	pattern    string
	running    int
	waiting    backlog         // clients' messages (depth 0)
	nested     backlog         // messages scripts requested (depth 1 and more), run first (nested.go)
	turns      []chan struct{} // triggers waiting for a slot, in a trigger's own queue (turns.go)
	parked     bool            // a trigger's queue waiting for the triggers to hold less than their cap
	ready      bool            // in dispatcher.ready
	subscribed bool
}

// maxWaiting bounds the messages that wait for a slot, per subject pattern. Past it a message is
// dropped (and said), as NATS drops those of a slow consumer.
const maxWaiting = 16 * 1024

// sharedBuffer is how many received messages may wait for a worker on the shared channel. Workers
// move what cannot run at once to its subject's queue, so it fills only when they do not get the
// CPU to; past it NATS drops messages and reports a slow consumer (logged).
const sharedBuffer = 64 * 1024

// minIdle is how many idle workers wait for messages whatever the load.
const minIdle = 2

// idleWindow is how long the workers busy at once count towards those kept waiting.
const idleWindow = time.Second

// startWorker starts one more worker; under wmu.
func (d *dispatcher) startWorker() {
	d.nworkers++
	d.started++
	d.workers.Add(1)
	go d.work()
}

// noteBusy records how many workers are busy now, and keeps as many waiting once they are done;
// under wmu.
func (d *dispatcher) noteBusy() {
	busy := d.nworkers - d.idle
	d.busyPeak = max(d.busyPeak, busy)
	if busy > d.idleCap {
		d.idleCap = busy
		if !d.decayArmed {
			d.decayArmed = true
			d.decay.Reset(idleWindow)
		}
	}
}

// decayIdle lowers the idle workers kept to what the last window needed, and wakes those beyond.
func (d *dispatcher) decayIdle() {
	d.wmu.Lock()
	d.idleCap = max(minIdle, d.busyPeak)
	d.busyPeak = d.nworkers - d.idle
	excess := d.idle - d.idleCap
	d.decayArmed = d.idleCap > minIdle
	if d.decayArmed {
		d.decay.Reset(idleWindow)
	}
	d.wmu.Unlock()
	for range excess {
		select {
		case d.shrink <- struct{}{}:
		default:
		}
	}
}

// work is one worker: it runs what waits in the subjects' queues when slots allow, else takes the
// next message from the channel.
//
// Of the idle workers, one listens on the channel and the others stand by. A message sent while a
// worker waits on a channel goes to that worker rather than into the buffer, so with every idle
// worker listening, each message of a burst woke a worker of its own, each of which replied and
// went back to wait, letting the NATS connection's flusher write that one reply (0.7 write system
// calls a request, where a hand-written responder, one goroutine working through its queue, needs
// 0.17). With one listener, the rest of a burst waits in the buffer for the workers that finish,
// and their replies go out together. A worker leaving the place empty for a call has a standby
// worker take it (or starts one), so a slow call still never holds up the next message.
func (d *dispatcher) work() {
	defer d.workers.Done()
	for {
		if q, m := d.nextWaiting(); m != nil {
			d.run(q, m)
			continue
		}
		d.wmu.Lock()
		if d.idle >= d.idleCap {
			d.nworkers--
			d.ensureListener() // this worker may have been on its way to listen
			d.wmu.Unlock()
			return
		}
		d.idle++
		listen := !d.listening
		d.listening = true
		d.wmu.Unlock()
		// A standby worker waits on no messages (a nil channel), the listener on no promotion.
		msgs, promote := d.msgs, d.promote
		if listen {
			promote = nil
		} else {
			msgs = nil
		}
		select {
		case m := <-msgs:
			d.take(m)
		case <-promote:
			d.wake(false)
		case <-d.freed:
			d.wake(listen)
		case <-d.shrink:
			d.wake(listen)
		case <-d.stopped:
			d.wake(listen)
			d.finish()
			return
		}
	}
}

// wake counts an idle worker woken for something else than a message as busy again. A listener
// leaves its place empty: back in its loop it runs a waiting call (nextWaiting finds it a
// successor), ends (so does the way out), or listens again.
func (d *dispatcher) wake(listener bool) {
	d.wmu.Lock()
	d.idle--
	if listener {
		d.listening = false
	}
	d.wmu.Unlock()
}

// ensureListener sees that some worker listens on the channel whenever a worker turns to a call
// or ends while the place is empty (it may have been the listener, or woken to become it): a
// standby worker is woken to take it, or, when no worker is idle, a spare is started. So a slow
// call never holds up the next message, and the place never stays empty while others stand by;
// under wmu.
func (d *dispatcher) ensureListener() {
	if d.listening {
		return
	}
	if d.idle == 0 {
		d.startWorker()
		return
	}
	select {
	case d.promote <- struct{}{}:
	default: // one is on its way already
	}
}

// take handles a message taken from the channel by the listener: it runs it when slots allow, or
// queues it and goes back for the next. Another worker listens in its place at once when more
// messages wait; else the call hands the place on only if it takes long (callRoot.handOver): a
// wake-up of another worker for every message cost a lone request 3-7 % of its round trip.
func (d *dispatcher) take(m *nats.Msg) {
	d.wmu.Lock()
	d.idle--
	d.listening = false
	q := d.queueOf(m.Sub.Subject)
	if q.running >= d.opts.MaxConcurrentPerSubject || q.ready || !d.acquire(waitedDepth(m)) {
		// Its subject is at its share, or others wait before it, or every slot is taken.
		d.enqueue(q, m)
		d.wmu.Unlock()
		return
	}
	q.running++
	if len(d.msgs) > 0 {
		d.ensureListener()
	} else {
		d.root.unlistened.Store(true)
	}
	d.noteBusy()
	d.wmu.Unlock()
	d.run(q, m)
}

// acquire takes one of the slots of all calls for a message of depth, if one is free beyond those
// kept for deeper ones (see nested.go); under wmu.
func (d *dispatcher) acquire(depth int) bool {
	if d.opts.MaxConcurrent-len(d.slots) <= d.reserve(depth) {
		return false
	}
	select {
	case d.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// release gives back a slot of all calls, and wakes an idle worker to run what waits for one.
func (d *dispatcher) release() {
	<-d.slots
	d.wakeWorker()
}

// wakeWorker has an idle worker look for what waits for a slot.
func (d *dispatcher) wakeWorker() {
	select {
	case d.freed <- struct{}{}:
	default:
	}
}

// run handles a message whose slots are taken, then gives them back.
func (d *dispatcher) run(q *subjectQueue, m *nats.Msg) {
	d.handle(q.pattern, m)
	d.wmu.Lock()
	q.running--
	if q.backlog() > 0 && !q.ready {
		d.markReady(q)
	}
	d.forget(q)
	d.wmu.Unlock()
	<-d.slots
}

// nextWaiting takes the next message of the next ready subject that may take a free slot; nil
// when none can run. Triggers met on the way get their slot. A subject whose next message may
// not take the slots kept for deeper calls (nested.go) stays in its place for the next slot.
func (d *dispatcher) nextWaiting() (*subjectQueue, *nats.Msg) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	for i := 0; i < len(d.ready); {
		q := d.ready[i]
		if len(q.turns) > 0 {
			// A trigger's turn (turns.go); this worker then looks further.
			if !d.takeTurn(i) {
				if len(d.slots) == cap(d.slots) {
					return nil, nil
				}
				i++
			}
			continue
		}
		if q.running >= d.opts.MaxConcurrentPerSubject || q.backlog() == 0 {
			// At its share (it is ready again when one of its calls ends), or emptied by a
			// stopping worker.
			d.unready(i)
			continue
		}
		if !d.acquire(waitedDepth(q.next().peek())) {
			if len(d.slots) == cap(d.slots) {
				return nil, nil
			}
			i++
			continue
		}
		d.unready(i)
		m := q.pop()
		if q.backlog() > 0 {
			d.markReady(q) // its next message comes after the other subjects' (round robin)
		}
		d.ensureListener() // this worker may have been the listener, or on its way to be
		return q, m
	}
	return nil, nil
}

// unready takes the i-th subject out of the ready list; under wmu.
func (d *dispatcher) unready(i int) {
	d.ready[i].ready = false
	if i == 0 {
		d.ready = d.ready[1:]
	} else {
		d.ready = slices.Delete(d.ready, i, i+1)
	}
}

// backlog is how many messages wait; under wmu.
func (q *subjectQueue) backlog() int { return q.waiting.len() + q.nested.len() }

// next is where the next message to run waits: the scripts' messages before the clients'.
func (q *subjectQueue) next() *backlog {
	if q.nested.len() > 0 {
		return &q.nested
	}
	return &q.waiting
}

// pop takes the next message and counts its call as running; under wmu.
func (q *subjectQueue) pop() *nats.Msg {
	q.running++
	return q.next().pop()
}

// queueOf is the queue of a subject pattern, made on first use; under wmu.
func (d *dispatcher) queueOf(pattern string) *subjectQueue {
	q := d.queues[pattern]
	if q == nil {
		q = &subjectQueue{pattern: pattern}
		d.queues[pattern] = q
	}
	return q
}

// enqueue puts a message that cannot run yet in its subject's queue; under wmu.
func (d *dispatcher) enqueue(q *subjectQueue, m *nats.Msg) {
	if q.backlog() >= maxWaiting {
		if skipped, ok := d.dropped.allow(); ok {
			d.log.Error("message dropped: too many wait for a slot on its subject", zap.String("subject", m.Subject),
				zap.String("pattern", q.pattern), zap.Int("waiting", maxWaiting), zap.Int64("more_since_last_said", skipped))
		}
		d.forget(q)
		return
	}
	if waitedDepth(m) > 0 {
		q.nested.push(m)
	} else {
		q.waiting.push(m)
	}
	if !q.ready && q.running < d.opts.MaxConcurrentPerSubject {
		d.markReady(q)
	}
}

// markReady puts q last in the subjects whose messages run when a slot is free; under wmu.
func (d *dispatcher) markReady(q *subjectQueue) {
	q.ready = true
	d.ready = append(d.ready, q)
}

// subscribed keeps the queue of pattern while it is subscribed, or lets it go once unsubscribed.
func (d *dispatcher) subscribed(pattern string, on bool) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	q := d.queueOf(pattern)
	q.subscribed = on
	d.forget(q)
}

// forget drops the queue of a pattern no longer subscribed, with no call running and nothing
// waiting; under wmu.
func (d *dispatcher) forget(q *subjectQueue) {
	if !q.subscribed && q.running == 0 && q.backlog() == 0 && !q.ready {
		delete(d.queues, q.pattern)
	}
}

// finish runs, once the subscriptions are drained, what is left on the channel and in the queues.
func (d *dispatcher) finish() {
	for {
		select {
		case m := <-d.msgs:
			d.slots <- struct{}{}
			d.wmu.Lock()
			q := d.queueOf(m.Sub.Subject)
			q.running++
			d.wmu.Unlock()
			d.run(q, m)
		default:
			for {
				d.wmu.Lock()
				var q *subjectQueue
				var m *nats.Msg
				for _, c := range d.queues {
					if c.backlog() > 0 {
						q, m = c, c.pop()
						break
					}
				}
				d.wmu.Unlock()
				if m == nil {
					return
				}
				d.slots <- struct{}{}
				d.run(q, m)
			}
		}
	}
}
